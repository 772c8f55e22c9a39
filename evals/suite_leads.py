"""Leads suite: a whole run per goal against its own sandbox world, scored with the world's ground truth.

Each example gets a fresh CMO_HOME (no ETag cache or checkpoints shared between examples, so the
request counts do not depend on order or `--jobs`). The truth is taken at the current time, as the
end-to-end tests do: the pipeline judges activity against the real clock and the sandbox world is
anchored to today. The trace's `tool.called` events give the trajectory check.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from statistics import fmean
from typing import Any

from evals.datasets import LeadsExample
from evals.metrics import lead_scores, requests_per_qualified_lead
from evals.metrics_trajectory import trajectory_check
from evals.suites import ExampleResult, SuiteContext, scope
from foundation.artifacts import TRACE
from graph.runner import run_job
from sandbox import generate_world, identity_groups, open_sandbox, truth

ADVISORY: tuple[str, ...] = ()
# The GitHub calls a healthy run makes at least once (a run may add others, e.g. user_orgs).
# The tools each enrichment path must call (the run's summary says which path ran).
EXPECTED_TOOLS = {
    "graphql": ("search_repositories", "contributors", "graphql_people"),
    "rest": ("search_repositories", "contributors", "user_profile", "public_events", "repo_commits"),
}
# Per-example pass bar, the one the end-to-end tests hold the built-in goals to.
MIN_PRECISION, MIN_RECALL = 0.8, 0.6
_SHOWN_PEOPLE = 25


def tool_calls(trace: Path) -> list[dict[str, Any]]:
    """The run's tool calls, in order, as `{"tool", "args"}` (what `trajectory_check` reads)."""
    calls = []
    for line in trace.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event.get("event") == "tool.called":
            calls.append({"tool": event["data"]["tool"], "args": event["data"].get("args", {})})
    return calls


def evaluate(example: LeadsExample, ctx: SuiteContext) -> ExampleResult:
    out = ctx.run_dir / "leads" / example.id
    settings = ctx.settings(home=ctx.run_dir / "home" / example.id, sandbox_seed=example.seed, sandbox_users=example.users)
    job = run_job(
        example.goal,
        settings,
        out_dir=out,
        max_prospects=example.max_prospects,
        sandbox=open_sandbox,
        chat_model=ctx.chat_model(scope("leads", example.id)),
    )
    world = generate_world(seed=example.seed, users=example.users)
    expected = truth(world, example.audience, datetime.now(UTC))
    predicted = [p.username for p in job.prospects]
    scores = lead_scores(predicted, expected, identity_groups(world), example.k)
    summary = job.summary
    api_requests = summary.api_requests or 0
    calls = tool_calls(out / TRACE)
    path = "rest" if summary.enrichment is not None and summary.enrichment.rest else "graphql"
    expected_tools = EXPECTED_TOOLS[path]
    trajectory = trajectory_check(calls, expected_tools)
    failures = []
    if scores["precision"] < MIN_PRECISION:
        failures.append(f"precision {scores['precision']} < {MIN_PRECISION}")
    if scores["recall"] < MIN_RECALL:
        failures.append(f"recall {scores['recall']} < {MIN_RECALL}")
    if not trajectory["score"]:
        failures.append(f"trajectory ({path}): expected every tool of {', '.join(expected_tools)} to be called")
    if trajectory["repeated_calls"]:
        failures.append(f"{trajectory['repeated_calls']} repeated identical tool calls: {trajectory['repeated'][:3]}")
    if summary.status != "complete":
        failures.append(f"run status {summary.status}: {summary.stop_reasons}")
    return ExampleResult(
        id=example.id,
        inputs={
            "goal": example.goal,
            "seed": example.seed,
            "users": example.users,
            "k": example.k,
            "max_prospects": example.max_prospects,
            "audience": example.audience.model_dump(exclude_defaults=True),
        },
        outputs={
            "status": summary.status,
            "plan": summary.plan.audience.model_dump(mode="json") if summary.plan else None,
            "planned_by": summary.plan.planned_by if summary.plan else None,
            "leads": len(predicted),
            "top": [_lead(p) for p in job.prospects[: example.k]],
            "missed": scores["missed"][:_SHOWN_PEOPLE],
            "spurious": scores["spurious"][:_SHOWN_PEOPLE],
            "tools": dict(sorted(Counter(call["tool"] for call in calls).items())),
            "artifacts": str(out.relative_to(ctx.run_dir)),
        },
        scores={
            **{k: v for k, v in scores.items() if k not in ("missed", "spurious")},
            "api_requests": api_requests,
            "requests_per_qualified_lead": requests_per_qualified_lead(api_requests, scores["true_positives"]),
            "trajectory_ok": bool(trajectory["score"]),
            "repeated_calls": trajectory["repeated_calls"],
            "tool_calls": trajectory["calls"],
        },
        passed=not failures,
        failures=failures,
    )


def _lead(prospect: Any) -> dict[str, Any]:
    """A top lead with the evidence a reviewer checks: score, signals and the repos behind them."""
    return {
        "username": prospect.username,
        "score": prospect.score,
        "signals": [
            {"name": s.name, "evidence": [e.model_dump(mode="json", exclude_none=True) for e in s.evidence[:2]]}
            for s in prospect.signals
        ],
    }


def aggregate(results: list[ExampleResult]) -> dict[str, Any]:
    """Means of P/R/F1/P@k over goals; requests per qualified lead pooled (all requests / all true leads)."""
    if not results:
        return {"examples": 0}
    scores = [r.scores for r in results]
    mean = lambda key: round(fmean(s[key] for s in scores), 4)  # noqa: E731
    requests = sum(s["api_requests"] for s in scores)
    return {
        "examples": len(results),
        "pass_rate": round(sum(r.passed for r in results) / len(results), 4),
        **{key: mean(key) for key in ("precision", "recall", "f1", "precision_at_k")},
        "requests_per_qualified_lead": requests_per_qualified_lead(requests, sum(s["true_positives"] for s in scores)),
        "api_requests": requests,
        "trajectory_pass_rate": round(sum(s["trajectory_ok"] for s in scores) / len(scores), 4),
        "repeated_calls": sum(s["repeated_calls"] for s in scores),
    }
