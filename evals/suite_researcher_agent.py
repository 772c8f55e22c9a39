"""Researcher agent suite: one agent session per open-ended goal on a pinned sandbox world, scored
against the world's truth — the repos it judged relevant (after the keep-check the run applies)
against the repos that fit the truth audience — with the GitHub units and steps it took.

Offline by default. Without a model each example replays its committed session
(`datasets/researcher_agent_sessions.jsonl`) at the HTTP level, exactly as `--replay` does: same
client code, and a changed prompt, tool schema or code shows up as a request the session lacks, which
fails the example ("re-record"). With a model (`--model`, or OPENAI_API_KEY) the sessions are live
and recorded in the run directory like every LLM request, so `--replay RUN_DIR` reproduces them and
`datasets/record_researcher_sessions.py --from RUN_DIR` commits them. The committed sessions were
recorded from the scripted reference policy (`tests/support/research_policy.py`), so offline the
suite measures the agent's machinery with a competent, known player; a real model is measured by
recording its own sessions.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from statistics import fmean
from typing import Any

from langchain_core.language_models import BaseChatModel

from agents.model_calls import CallPolicy, ModelGate
from agents.planner import make_plan
from agents.researcher_agent import brief, keep
from agents.researcher_agent_loop import Exploration
from evals.datasets import ResearcherAgentExample
from evals.metrics import prf
from evals.recording import LLMSession, Replay
from evals.suites import ExampleResult, SuiteContext, scope
from foundation.schemas import Campaign
from graph.runner import SANDBOX_TOKEN
from prompts import load_prompt
from sandbox import SandboxServer, generate_world, matched_repos
from tools.github import GitHubClient
from tools.github_transport import RateBudget
from tools.research_tools import ResearchTools
from tools.suppression import SuppressionList

SUITE = "researcher_agent"
ADVISORY: tuple[str, ...] = ()
SESSIONS = "researcher_agent_sessions.jsonl"
# Per-example pass bar: the leads suite's, applied to repos.
MIN_PRECISION, MIN_RECALL = 0.8, 0.6
# How a session may end and still pass: finished, or stopped by its limits (the run goes on with what it judged).
GOOD_STOPS = ("finished", "steps", "budget")
_REPLAY_URL = "http://replay.invalid/v1"  # never contacted: the replaying transport answers every request


@cache
def committed_sessions() -> tuple[dict[str, Any], ...]:
    """Every exchange of the committed sessions, in recorded order."""
    text = resources.files("evals").joinpath("datasets", SESSIONS).read_text(encoding="utf-8")
    return tuple(json.loads(line) for line in text.splitlines() if line.strip())


def evaluate(example: ResearcherAgentExample, ctx: SuiteContext) -> ExampleResult:
    own = scope(SUITE, example.id)
    failures: list[str] = []
    session: LLMSession | None = None
    if ctx.session is not None:
        model: BaseChatModel | None = ctx.chat_model(own)
    else:
        session = _committed(example, ctx)
        model = session.chat_model(own) if session else None
    if model is None:
        return _unrecorded(example)
    world = generate_world(seed=example.seed, users=example.users, anchor=example.anchor)
    plan, _ = make_plan(example.goal, Campaign(), None, today=example.anchor)
    try:
        with SandboxServer(world) as server:
            client = GitHubClient(server.url, SANDBOX_TOKEN, RateBudget(max_requests=5000), None, f"eval-{own}")
            tools = ResearchTools(client)
            system = load_prompt(SUITE, ctx.prompt_version, ctx.prompts_dir).format(
                max_steps=example.max_steps, budget=example.budget
            )
            gate = ModelGate(model, CallPolicy(max_retries=0))  # a replayed session has one answer per request
            outcome = Exploration(gate, tools, max_steps=example.max_steps, budget=example.budget).run(
                system, brief(example.goal, plan, example.anchor.isoformat())
            )
    finally:
        if session is not None:
            session.close()
    if session is not None and session.replay is not None and session.replay.misses:
        failures.append("replay: a request is not in the committed session (prompt, tools or code changed): re-record it")
    relevant = sorted(name for name, judgement in outcome.judgements.items() if judgement.relevant)
    kept = sorted(keep(relevant, tools.seen, plan.audience, SuppressionList.empty()))
    truth = {repo.full_name for repo in matched_repos(world, example.audience)}
    precision, recall, f1 = prf(len(truth.intersection(kept)), len(kept), len(truth))
    scores = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}
    report = outcome.report
    if scores["precision"] < MIN_PRECISION:
        failures.append(f"precision {scores['precision']} < {MIN_PRECISION}")
    if scores["recall"] < MIN_RECALL:
        failures.append(f"recall {scores['recall']} < {MIN_RECALL}")
    if report.stopped_by not in GOOD_STOPS:
        failures.append(f"the session broke off: {report.stopped_by}")
    return ExampleResult(
        id=example.id,
        inputs={"goal": example.goal, "seed": example.seed, "users": example.users, "anchor": example.anchor.isoformat()}
        | {"max_steps": example.max_steps, "budget": example.budget, "truth": example.audience.model_dump(exclude_defaults=True)},
        outputs={
            "open_ended": plan.open_ended,
            "stopped_by": report.stopped_by,
            "relevant": [{"repo": n, "reason": outcome.judgements[n].reason} for n in kept],
            "missed": sorted(truth.difference(kept)),
            "spurious": sorted(set(kept) - truth),
            "judged_not_relevant": sorted(n for n, j in outcome.judgements.items() if not j.relevant),
            "trail": outcome.trail,
        },
        scores={
            **scores,
            "relevant_found": len(truth.intersection(kept)),
            "truth_repos": len(truth),
            "budget_units": report.budget_units,
            "steps": report.steps,
            "tool_calls": report.tool_calls,
            "tool_errors": report.tool_errors,
            "repeated_calls": report.repeated_calls,
        },
        passed=not failures,
        failures=failures,
    )


def _committed(example: ResearcherAgentExample, ctx: SuiteContext) -> LLMSession | None:
    """A session answering from the example's committed exchanges (None: none committed), with the
    model name they were recorded with (it is part of every request)."""
    own = scope(SUITE, example.id)
    exchanges = [e for e in committed_sessions() if e["scope"] == own]
    if not exchanges:
        return None
    run_dir = ctx.run_dir / SUITE / example.id
    return LLMSession(run_dir, exchanges[0]["model"], _REPLAY_URL, "replay", replay=Replay(exchanges))


def _unrecorded(example: ResearcherAgentExample) -> ExampleResult:
    failure = f"no committed session for {example.id}: record one (evals/datasets/record_researcher_sessions.py)"
    zeros = dict.fromkeys(("precision", "recall", "f1", "relevant_found", "truth_repos", "budget_units", "steps"), 0)
    return ExampleResult(
        id=example.id,
        inputs={"goal": example.goal},
        scores=zeros | {"tool_calls": 0, "tool_errors": 0, "repeated_calls": 0},
        passed=False,
        failures=[failure],
    )


def aggregate(results: list[ExampleResult]) -> dict[str, Any]:
    """Means of P/R/F1 over goals; repos found, GitHub units and errors summed; steps averaged."""
    if not results:
        return {"examples": 0}
    scores = [r.scores for r in results]
    mean = lambda key: round(fmean(s[key] for s in scores), 4)  # noqa: E731
    return {
        "examples": len(results),
        "pass_rate": round(sum(r.passed for r in results) / len(results), 4),
        **{key: mean(key) for key in ("precision", "recall", "f1")},
        "relevant_repos_found": sum(s["relevant_found"] for s in scores),
        "truth_repos": sum(s["truth_repos"] for s in scores),
        "budget_units": sum(s["budget_units"] for s in scores),
        "steps": mean("steps"),
        "tool_errors": sum(s["tool_errors"] for s in scores),
        "repeated_calls": sum(s["repeated_calls"] for s in scores),
    }
