"""The researcher agent in whole runs, over real HTTP: a scripted model (OpenAI-compatible server) and
the GitHub sandbox. An open-ended goal ("Go developers writing kubectl plugins": no subject of the
vocabulary) is researched by the model's tool calls, and its leads are scored against the sandbox's
truth; a looping model is stopped by its limits and the run goes on; without a model nothing changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from evals.metrics import lead_set_scores
from foundation.schemas import TargetAudience
from foundation.settings import Settings
from graph.runner import run_job
from sandbox import generate_world, identity_groups, open_sandbox, truth
from tests.support.openai_server import Reply, ScriptedOpenAIServer
from tests.support.research_policy import ResearchPolicy, is_research

pytestmark = pytest.mark.slow
GOAL = "Go developers writing kubectl plugins"
# What the goal means in the sandbox: Go repos that name kubectl and plugin (the "kubernetes tool"
# kind of sandbox/repo_kinds.py: kubectl plugins, next to dashboards, Helm charts and context switchers).
AUDIENCE = TargetAudience(languages=["Go"], keywords=["kubectl", "plugin"])
SEARCHES = [
    "kubectl language:Go archived:false",
    "kubectl plugin in:name,description,topics language:Go",
    "topic:kubectl-plugin language:Go",
]


def _responder(research: Any) -> Any:
    """Plays every agent's model: plans the goal as open-ended, researches with `research`, keeps
    the template drafts and passes the tone review."""

    def answer(body: dict[str, Any]) -> Reply:
        if is_research(body):
            return research(body)
        tool = body["tools"][0]["function"]["name"] if body.get("tools") else None
        if tool == "LLMPlan":
            audience = {"languages": ["Go"], "keywords": ["kubectl", "plugin"]}
            return Reply.tool("LLMPlan", {"audience": audience, "max_prospects": 200, "notes": [], "ignored_terms": []})
        if tool == "DraftOut":
            draft = json.loads(body["messages"][-1]["content"])["template_draft"]
            return Reply.tool("DraftOut", {"subject": draft["subject"], "body": draft["body"], "facts_used": []})
        if tool == "FollowUpOut":
            draft = json.loads(body["messages"][-1]["content"])["template_draft"]
            return Reply.tool("FollowUpOut", {"body": draft["body"], "facts_used": []})
        if tool == "ToneOut":
            return Reply.tool("ToneOut", {"verdict": "ok", "reasons": []})
        raise AssertionError(f"unexpected request for {tool}")

    return answer


def _settings(home: Path, base_url: str | None, **extra: Any) -> Settings:
    model = {"openai_api_key": "test-key", "openai_base_url": base_url, "cmo_model": "scripted"} if base_url else {}
    return Settings(
        cmo_home=home,
        cmo_sender_postal_address="TechFlow, 1 Main St, Springfield, USA",
        cmo_unsubscribe_url="https://techflow.dev/unsubscribe",
        **model,
        **extra,
    )


def _events(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "trace.jsonl").read_text().splitlines()]


def test_agent_researches_an_open_ended_goal_and_its_leads_match_the_truth(tmp_path: Path, block_internet: None) -> None:
    policy = ResearchPolicy(searches=SEARCHES, words=["kubectl", "plugin"], language="Go")
    with ScriptedOpenAIServer(_responder(policy)) as server:
        result = run_job(GOAL, _settings(tmp_path / "home", server.base_url), sandbox=open_sandbox, out_dir=tmp_path / "out")
    summary = result.summary
    assert summary.status == "complete", summary
    assert summary.plan is not None and summary.plan.open_ended and summary.plan.planned_by == "llm"
    assert summary.research is not None and summary.research.stopped_by == "finished", summary.research
    assert not summary.research.fell_back and summary.research.tool_errors == 0

    world = generate_world(seed=7, users=1500)
    expected = truth(world, AUDIENCE, datetime.now(UTC))
    scores = lead_set_scores([p.username for p in result.prospects], expected, identity_groups(world))
    assert scores["precision"] >= 0.9 and scores["recall"] >= 0.9, scores

    events = _events(tmp_path / "out")
    calls = [e for e in events if e["event"] == "tool.called" and e["agent"] == "researcher_agent"]
    assert [c["data"]["tool"] for c in calls][: len(SEARCHES)] == ["search_repositories"] * len(SEARCHES)
    assert {"read_repo", "list_contributors", "user_profile"} <= {c["data"]["tool"] for c in calls}
    assert all(c["data"]["reason"] for c in calls), "every tool call carries the model's reason"
    judged = [e for e in events if e["event"] == "agent.reasoning" and "relevant" in e["data"]]
    assert judged and all(e["data"]["text"].startswith(e["data"]["repo"]) for e in judged)
    assert summary.plan.audience.subject_repos == sorted(e["data"]["repo"] for e in judged if e["data"]["relevant"])
    mined = {e["data"]["args"]["repo"] for e in events if e["event"] == "tool.called" and e["data"]["tool"] == "contributors"}
    assert mined <= set(summary.plan.audience.subject_repos), "only repos the agent judged relevant are mined"


def test_a_looping_model_is_stopped_and_the_run_falls_back_to_the_rules(tmp_path: Path, block_internet: None) -> None:
    def looping(body: dict[str, Any]) -> Reply:
        return Reply.tool("search_repositories", {"q": "kubectl language:Go", "reason": "search again, forever"})

    with ScriptedOpenAIServer(_responder(looping)) as server:
        settings = _settings(tmp_path / "home", server.base_url, cmo_research_max_steps=4)
        result = run_job(GOAL, settings, sandbox=open_sandbox, out_dir=tmp_path / "out", max_prospects=10)
    summary = result.summary
    assert summary.status == "complete", summary
    assert summary.research is not None and summary.research.stopped_by == "steps" and summary.research.fell_back
    assert summary.research.steps == 4 and summary.research.repeated_calls == 3
    texts = [e["data"]["text"] for e in _events(tmp_path / "out") if e["event"] == "agent.reasoning"]
    assert any("step limit (4 turns)" in t for t in texts)
    assert any("deterministic researcher runs the plan's searches" in t for t in texts)
    assert any("searches returned" in t for t in texts), "the rules researched"


def test_without_a_model_the_deterministic_researcher_runs_as_before(tmp_path: Path, block_internet: None) -> None:
    result = run_job(GOAL, _settings(tmp_path / "home", None), sandbox=open_sandbox, out_dir=tmp_path / "out", max_prospects=10)
    summary = result.summary
    assert summary.llm == "none" and summary.research is None
    assert summary.plan is not None and summary.plan.open_ended, "the rules cannot place 'kubectl plugins' either"
    # No model: the rules research, and the offline embeddings keep the repos closest to the subject
    # (README "Lookalikes and semantic search"), which become the subject; the agent never runs.
    assert summary.plan.audience.subject_repos
    events = _events(tmp_path / "out")
    judged = [e["data"] for e in events if e["event"] == "agent.reasoning" and "score" in e["data"]]
    assert judged and {d["repo"] for d in judged if d["relevant"]} >= set(summary.plan.audience.subject_repos)
    assert not [e for e in events if e["agent"] == "researcher_agent"]
    assert next(e["data"]["tool"] for e in events if e["event"] == "tool.called") == "search_repositories"


def test_cli_research_rules_keeps_the_agent_out_even_with_a_model(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    with ScriptedOpenAIServer(_responder(lambda body: Reply.error(500, "the agent must not run"))) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "OPENAI_", "SANDBOX_"))}
        env |= {"CMO_HOME": str(tmp_path / "home"), "OPENAI_API_KEY": "test", "OPENAI_BASE_URL": server.base_url}
        args = ["run", GOAL, "--research", "rules", "--max-prospects", "5", "--json", "--out", str(tmp_path / "out")]
        done = subprocess.run([sys.executable, "-m", "cli", *args], env=env, capture_output=True, text=True, timeout=240)
        asked = [body["tools"][0]["function"]["name"] for body in server.requests if body.get("tools")]
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout).get("research") is None
    assert "search_repositories" not in asked and asked[0] == "LLMPlan"
