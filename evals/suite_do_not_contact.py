"""Do-not-contact suite: does the reviewer read each bio of the dataset as an opt-out, or not?

The deterministic path asks the rules (`agents.do_not_contact.find_opt_out`, what the compliance
rule `bio_do_not_contact` uses). With a model, a bio the rules pass also goes through the
compliance tone review, as it would in a run (a template draft to that bio), and counts as an
opt-out when the model says so: the model can add rejections, never remove one, so this measures
what a run would reject. Recall and false alarms are reported per split; the tune half is what the
rules were tuned on, the holdout half (written first) is the measurement the unit test gates.
"""

from __future__ import annotations

from typing import Any

from agents.compliance import tone_reviews
from agents.copywriter import draft_from_template
from agents.do_not_contact import find_opt_out
from evals.datasets import DoNotContactExample
from evals.metrics import detection_scores
from evals.suites import ExampleResult, SuiteContext, scope
from foundation.schemas import Campaign, Prospect
from prompts import load_prompt

ADVISORY: tuple[str, ...] = ()


def _model_says_opt_out(example: DoNotContactExample, ctx: SuiteContext) -> bool | None:
    """The tone review's `bio_opt_out` for a template draft to this bio; None on the deterministic path."""
    gate = ctx.gate(scope("do_not_contact", example.id))
    if gate is None:
        return None
    prospect = Prospect(id="gh_dnc-eval", username="dnc-eval", name="Sam", email="sam@dnc-eval.dev", bio=example.bio)
    prospect = prospect.model_copy(update={"message": draft_from_template(prospect, Campaign(), "A", ctx.settings())})
    prompt = load_prompt("compliance", ctx.prompt_version, ctx.prompts_dir)
    (tone,) = tone_reviews(gate, [prospect], prompt, ctx.prompt_version)
    return tone.bio_opt_out if tone is not None else None


def evaluate(example: DoNotContactExample, ctx: SuiteContext) -> ExampleResult:
    found = find_opt_out(example.bio)
    by_model = None if found else _model_says_opt_out(example, ctx)
    detected = found is not None or bool(by_model)
    failures = []
    if detected != example.opt_out:
        failures.append("missed an opt-out" if example.opt_out else f"false alarm ({found.evidence if found else 'model'})")
    return ExampleResult(
        id=example.id,
        inputs={"bio": example.bio, "lang": example.lang, "split": example.split, "opt_out": example.opt_out},
        outputs={
            "detected": detected,
            "rule": found.rule if found else None,
            "evidence": found.evidence if found else None,
            "model_opt_out": by_model,
        },
        scores={"correct": detected == example.opt_out},
        passed=not failures,
        failures=failures,
        tags=[example.lang, example.split, *example.tags],
    )


def aggregate(results: list[ExampleResult]) -> dict[str, Any]:
    """Recall and false-alarm rate on each split (holdout is the headline) and per language."""
    pairs = [(r.inputs["opt_out"], r.outputs["detected"], r.inputs["split"], r.inputs["lang"]) for r in results]
    splits = {split: detection_scores((w, g) for w, g, s, _ in pairs if s == split) for split in ("holdout", "tune")}
    languages = sorted({lang for *_, lang in pairs})
    return {
        "examples": len(results),
        "pass_rate": round(sum(r.passed for r in results) / len(results), 4) if results else None,
        "holdout_recall": splits["holdout"]["recall"],
        "holdout_false_alarm_rate": splits["holdout"]["false_alarm_rate"],
        "tune_recall": splits["tune"]["recall"],
        "tune_false_alarm_rate": splits["tune"]["false_alarm_rate"],
        "holdout": splits["holdout"],
        "tune": splits["tune"],
        "by_language": {lang: detection_scores((w, g) for w, g, _, lg in pairs if lg == lang) for lang in languages},
    }
