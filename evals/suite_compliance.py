"""Compliance suite: each case through the reviewer with its own settings and suppression list.

The suppression rows are written to a CSV and read by `SuppressionList.load`, the same strict parser
a real run uses, so a case cannot pass on a list a run would have rejected. On the LLM path the
model's tone review runs on approved drafts as it does in the graph; it can only add caution, so a
false approval can never come from the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.compliance import apply_tone_review, tone_reviews
from agents.compliance_rules import review_prospect
from evals.datasets import ComplianceExample
from evals.metrics import compliance_scores
from evals.suites import ExampleResult, SuiteContext, scope
from foundation.csv_cells import csv_text
from prompts import load_prompt
from tools.suppression import SuppressionList

ADVISORY: tuple[str, ...] = ()
# What the rules look at (the report shows these, not the whole enriched profile).
_REVIEWED_FIELDS = {
    "username",
    "email",
    "email_source",
    "account_type",
    "bio",
    "company",
    "country",
    "merged_logins",
    "privacy_settings",
    "message",
}


def _suppression(rows: list[dict[str, str]], folder: Path) -> SuppressionList:
    if not rows:
        return SuppressionList.empty()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "suppression.csv"
    path.write_text(csv_text(["kind", "value"], rows), encoding="utf-8", newline="")
    return SuppressionList.load(path)


def evaluate(example: ComplianceExample, ctx: SuiteContext) -> ExampleResult:
    settings = ctx.settings(**example.settings)
    suppression = _suppression(example.suppressed, ctx.run_dir / "compliance" / example.id)
    review = review_prospect(example.prospect, example.campaign, suppression, settings)
    gate = ctx.gate(scope("compliance", example.id))
    if gate is not None and review.verdict == "approved":
        prompt = load_prompt("compliance", ctx.prompt_version, ctx.prompts_dir)
        (tone,) = tone_reviews(gate, [example.prospect], prompt, ctx.prompt_version)
        review = apply_tone_review(review, tone) if tone is not None else review
    codes = [reason.split(":", 1)[0] for reason in review.reasons]
    missing = [code for code in example.expect_reasons if code not in codes]
    failures = [f"reason {code} expected but not given" for code in missing]
    if review.verdict != example.expect_verdict:
        failures.insert(0, f"verdict {review.verdict}, expected {example.expect_verdict}")
    return ExampleResult(
        id=example.id,
        inputs={
            "prospect": example.prospect.model_dump(mode="json", include=_REVIEWED_FIELDS),
            "settings": example.settings,
            "suppressed": example.suppressed,
            "expect_verdict": example.expect_verdict,
            "expect_reasons": example.expect_reasons,
        },
        outputs={"verdict": review.verdict, "reasons": review.reasons, "lawful_basis": review.lawful_basis},
        scores={
            "verdict_correct": review.verdict == example.expect_verdict,
            "reasons_found": not missing,
            "false_approval": review.verdict == "approved" and example.expect_verdict != "approved",
        },
        passed=not failures,
        failures=failures,
        tags=example.tags,
    )


def aggregate(results: list[ExampleResult]) -> dict[str, Any]:
    """Accuracy, false approvals (must be 0), false rejections, expected-reason recall and the confusion matrix."""
    summary = compliance_scores((r.inputs["expect_verdict"], r.outputs["verdict"]) for r in results)
    rate = lambda hits: round(hits / len(results), 4) if results else None  # noqa: E731
    return {
        "examples": summary["n"],
        "pass_rate": rate(sum(r.passed for r in results)),
        "accuracy": summary["accuracy"],
        "false_approvals": summary["false_approvals"],
        "false_rejections": summary["false_rejections"],
        "reasons_found_rate": rate(sum(r.scores["reasons_found"] for r in results)),
        "confusion": summary["confusion"],
    }
