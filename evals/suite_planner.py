"""Planner suite: each goal through the real planner node (rules, or the model with the rules as fallback).

Calling the graph node rather than `parse_goal` directly scores exactly what a run would plan,
including the LLM path's validation, retries and fallback; the date is the run's fixed `today`
(the LLM is told it), so a replay sends byte-identical requests.
"""

from __future__ import annotations

from typing import Any

from agents.planner import make_plan
from evals.datasets import PlannerExample
from evals.metrics import PLANNER_FIELDS, aggregate_planner, planner_field_scores
from evals.suites import ExampleResult, SuiteContext, scope
from foundation.schemas import Campaign

ADVISORY: tuple[str, ...] = ()
_SHOWN_FIELDS = set(PLANNER_FIELDS) - {"max_prospects"}  # the audience part of what is scored


def evaluate(example: PlannerExample, ctx: SuiteContext, suite: str = "planner") -> ExampleResult:
    """One goal through the planner, scored field by field; `suite` names the recording scope."""
    plan, _ = make_plan(
        example.goal,
        Campaign(),
        None,
        today=ctx.today,
        gate=ctx.gate(scope(suite, example.id)),
        prompt_version=ctx.prompt_version,
        prompts_dir=ctx.prompts_dir,
    )
    refused = plan.refusal is not None
    row = planner_field_scores(example.expect, plan.audience, plan.max_prospects, refused)
    failures = []
    if not row["refusal_correct"]:
        failures.append(f"refusal: expected {example.expect.refuse}, got {refused} ({plan.refusal})")
    expected = example.expect.model_dump(exclude_none=True, exclude={"refuse"})
    for name, field in row["fields"].items():
        if not field["correct"]:
            actual = plan.max_prospects if name == "max_prospects" else getattr(plan.audience, name)
            failures.append(f"{name}: expected {expected[name]!r}, got {actual!r}")
    return ExampleResult(
        id=example.id,
        inputs={"goal": example.goal, "expect": example.expect.model_dump(exclude_none=True)},
        outputs={
            "audience": plan.audience.model_dump(include=_SHOWN_FIELDS),
            "max_prospects": plan.max_prospects,
            "refusal": plan.refusal,
            "planned_by": plan.planned_by,
            "notes": plan.notes,
            "ignored_terms": plan.ignored_terms,
        },
        scores=row,
        passed=row["exact_match"],
        failures=failures,
        tags=example.tags,
    )


def aggregate(results: list[ExampleResult]) -> dict[str, Any]:
    """Exact match and refusal rates, micro P/R/F1 overall and per field, and how often the model planned."""
    summary = aggregate_planner([r.scores for r in results])
    return {
        "examples": summary["n"],
        "exact_match": summary["exact_match_rate"],
        "refusal_accuracy": summary["refusal_accuracy"],
        **{name: summary["overall"][name] for name in ("precision", "recall", "f1")},
        "planned_by_llm": sum(r.outputs["planned_by"] == "llm" for r in results),
        "fields": {name: {k: v[k] for k in ("precision", "recall", "f1", "n")} for name, v in summary["fields"].items()},
    }
