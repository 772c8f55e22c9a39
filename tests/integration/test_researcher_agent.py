"""The researcher agent's session over real HTTP on both sides: the real `ChatOpenAI` against the
scripted OpenAI-compatible server, the real `GitHubClient` against the sandbox. Garbage tool
arguments, loops, a failing model and hostile READMEs are answered or stopped, never raised."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from agents.model_calls import CallPolicy, ModelGate
from agents.researcher_agent_loop import Exploration, Outcome
from prompts import load_prompt
from sandbox import SandboxServer, World, generate_world
from sandbox.readme import HOSTILE_EVERY, INJECTION
from tests.support.openai_server import Reply, ScriptedOpenAIServer
from tests.support.research_policy import ResearchPolicy
from tools.github import GitHubClient
from tools.github_transport import RateBudget
from tools.research_tools import README_CHARS, ResearchTools

BRIEF = "Goal: Go developers writing kubectl plugins\nToday's date: 2026-12-01"


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=7, users=1500)


@pytest.fixture(scope="module")
def sandbox(world: World) -> Iterator[SandboxServer]:
    with SandboxServer(world) as server:
        yield server


def _explore(sandbox: SandboxServer, script: Any, *, steps: int = 12, budget: int = 60) -> tuple[Outcome, ScriptedOpenAIServer]:
    tools = ResearchTools(GitHubClient(sandbox.url, "sandbox", RateBudget(5000), None, "agent-tests"))
    system = load_prompt("researcher_agent", "v1").format(max_steps=steps, budget=budget)
    with ScriptedOpenAIServer(script) as llm:
        gate = ModelGate(llm.chat_model(max_retries=0), CallPolicy(max_retries=0))
        outcome = Exploration(gate, tools, max_steps=steps, budget=budget).run(system, BRIEF)
    return outcome, llm


def _tool_answers(llm: ScriptedOpenAIServer) -> list[str]:
    """The content of every tool message the model was sent (the last request holds them all)."""
    return [m["content"] for m in llm.requests[-1]["messages"] if m["role"] == "tool"]


def test_garbage_tool_arguments_are_answered_as_errors_and_counted(sandbox: SandboxServer) -> None:
    script = [
        Reply.tool("search_repositories", '{"q": "kubectl", "reason": '),  # not JSON
        Reply.tool("search_repositories", {"q": "kubectl"}),  # no reason
        Reply.tool("search_repositories", {"q": "x" * 300, "reason": "a query over GitHub's 256 characters"}),
        Reply.tool("read_repo", {"full_name": "../../etc/passwd", "reason": "not a repository name"}),
        Reply.tool("drop_database", {"reason": "no such tool"}),
        Reply.tools(
            ("search_repositories", {"q": "language:Go stars:lots", "reason": "a qualifier GitHub rejects"}),
            ("user_profile", {"login": "nobody-here-at-all", "reason": "a user that does not exist"}),
        ),
        Reply.tool("judge_repos", {"judgements": [{"full_name": "ghost/repo", "relevant": True, "reason": "never seen"}]}),
        Reply.tool("finish", {"summary": "nothing usable"}),
    ]
    outcome, llm = _explore(sandbox, script)

    assert outcome.report.stopped_by == "finished"
    assert outcome.report.tool_calls == 9 and outcome.report.tool_errors == 8, outcome.report
    assert outcome.judgements == {}
    answers = _tool_answers(llm)  # as sent with the last request (finish's own answer is never sent)
    assert len(answers) == 8 and all(a.startswith("error:") for a in answers[:7])
    assert "not valid JSON" in answers[0] and "reason" in answers[1] and "256" in answers[2]
    assert "full_name" in answers[3] and "no tool 'drop_database'" in answers[4]
    assert "422" in answers[5]
    assert "no user nobody-here-at-all" in answers[6]
    assert "ghost/repo" in answers[7] and '"recorded": 0' in answers[7]


def test_a_looping_model_is_stopped_by_the_budget(sandbox: SandboxServer) -> None:
    def looping(body: dict[str, Any]) -> Reply:
        n = len(body["messages"])
        return Reply.tool("search_repositories", {"q": f"kubectl stars:>{n}", "reason": "one more search, always"})

    outcome, llm = _explore(sandbox, looping, steps=30, budget=4)
    assert outcome.report.stopped_by == "budget"
    assert outcome.report.budget_units == 4 and outcome.report.steps == 5, outcome.report
    assert len(llm.requests) == 5, "the fifth search was refused without GitHub, and the session ended"


def test_a_model_repeating_one_call_is_stopped_by_the_step_limit(sandbox: SandboxServer) -> None:
    same = Reply.tool("search_repositories", {"q": "kubectl language:Go", "reason": "again"})
    outcome, llm = _explore(sandbox, lambda body: same, steps=5)
    assert outcome.report.stopped_by == "steps" and outcome.report.steps == 5
    assert outcome.report.repeated_calls == 4 and outcome.report.budget_units == 1, "repeats cost GitHub nothing"
    assert len(llm.requests) == 5


def test_a_failing_model_stops_the_session_without_raising(sandbox: SandboxServer) -> None:
    outcome, _ = _explore(sandbox, [Reply.error(500), Reply.error(500)])
    assert outcome.report.stopped_by == "model_error" and outcome.judgements == {}


def test_a_model_answering_in_prose_is_nudged_once_then_stopped(sandbox: SandboxServer) -> None:
    outcome, llm = _explore(sandbox, [Reply.text("I think kubectl plugins are great."), Reply.text("Really.")])
    assert outcome.report.stopped_by == "no_tool_call" and outcome.report.steps == 2
    assert "judge_repos" in llm.requests[1]["messages"][-1]["content"]


def test_readme_text_reaches_the_model_only_as_marked_truncated_data(sandbox: SandboxServer, world: World) -> None:
    hostile = next(r for r in world.repos.values() if r.id % HOSTILE_EVERY == 0 and r.contributors and r.language == "Go")
    script = [
        Reply.tool("read_repo", {"full_name": hostile.full_name, "reason": "read a README that carries an injection"}),
        Reply.tool("finish", {"summary": "done"}),
    ]
    _, llm = _explore(sandbox, script)
    (answer,) = _tool_answers(llm)
    result = json.loads(answer)["result"]
    assert set(result) == {"repo", "untrusted_readme_excerpt"}
    excerpt = result["untrusted_readme_excerpt"]
    assert INJECTION in excerpt and answer.count(INJECTION) == 1, "only the visible copy, inside the untrusted field"
    assert "<!--" not in answer and len(excerpt) <= README_CHARS
    assert "untrusted_" in llm.requests[0]["messages"][0]["content"], "the system prompt says what untrusted fields are"


def test_the_reference_policy_finds_the_sandbox_kubectl_plugins(sandbox: SandboxServer, world: World) -> None:
    policy = ResearchPolicy(
        searches=["kubectl language:Go archived:false", "topic:kubectl-plugin language:Go"],
        words=["kubectl", "plugin"],
        language="Go",
    )
    outcome, llm = _explore(sandbox, policy)
    relevant = {name for name, j in outcome.judgements.items() if j.relevant}
    assert relevant and all(
        "kubectl" in (world.repos[name].description or "") + " ".join(world.repos[name].topics) for name in relevant
    )
    assert outcome.report.stopped_by == "finished" and outcome.report.tool_errors == 0
    assert any(len(m.get("tool_calls") or []) > 1 for r in llm.requests for m in r["messages"]), (
        "parallel calls went over the wire"
    )
