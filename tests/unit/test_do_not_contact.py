"""Do-not-contact bios: the rules generalise to the held-back half of the dataset, read text the way
people type it (case, accents, curly quotes, stop emoji), and the eval suite combines rules and model
so that a model can add an opt-out but never hide one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from agents.do_not_contact import find_opt_out, normalise
from evals import suite_do_not_contact
from evals.datasets import DoNotContactExample, load_dataset
from evals.metrics import detection_scores
from evals.suites import SuiteContext
from tests.support.fake_llm import scripted, tool_call_message

BIOS: list[DoNotContactExample] = load_dataset("do_not_contact").examples


def scores(split: str, lang: str | None = None) -> dict:
    chosen = [e for e in BIOS if e.split == split and lang in (None, e.lang)]
    return detection_scores((e.opt_out, find_opt_out(e.bio) is not None) for e in chosen)


def test_holdout_recall_and_false_alarms() -> None:
    """The half written before the rules were tuned: >= 95% of opt-outs caught, <= 2% false alarms."""
    held = scores("holdout")
    assert held["positives"] >= 40 and held["negatives"] >= 40
    assert held["recall"] >= 0.95, held
    assert held["false_alarm_rate"] <= 0.02, held


@pytest.mark.parametrize("lang", ["en", "de", "fr", "es", "pt"])
def test_no_language_is_left_behind(lang: str) -> None:
    held = scores("holdout", lang)
    assert held["recall"] >= 0.9 and held["false_alarms"] <= 1, held


@pytest.mark.parametrize(
    "bio",
    [
        "Job offers and sales pitches will be ignored.",  # issue 10: approved before, no "contact" in it
        "Unsolicited job offers & sales emails are ignored.",
        "RECRUITERS: IGNORED.",
    ],
)
def test_the_opt_out_phrased_as_ignored_is_caught(bio: str) -> None:
    found = find_opt_out(bio)
    assert found is not None and found.rule == "target then refusal", bio
    assert "ignored" in found.evidence


@pytest.mark.parametrize(
    ("bio", "evidence"),
    [
        ("🚫 Recruiters", "no recruiters"),
        ("Recruiters ❌", "recruiters no"),
        ("🙅\u200d♀️ cold emails", "no cold emails"),
        ("Don\u2019t email me", "don't email"),
        ("Pas de DÉMARCHAGE", "pas de demarchage"),
        ("pas de demarchage", "pas de demarchage"),
        ("Não aceito propostas de recrutadores", "nao aceito propostas de recrutadores"),
        ("Nao aceito propostas de recrutadores", "nao aceito propostas de recrutadores"),
        ("\uff2e\uff4f \uff52\uff45\uff43\uff52\uff55\uff49\uff54\uff45\uff52\uff53", "no recruiters"),  # fullwidth
        ("No \u201cquick calls\u201d", "no quick calls"),
        ("Recruiter spam \u2192 /dev/null", "recruiter spam -> /dev/null"),
        ("Keine Anfragen von Recruitern", "keine anfragen von recruitern"),
        ("No acepto ofertas de reclutadores", "no acepto ofertas de reclutadores"),
    ],
)
def test_text_is_read_as_typed(bio: str, evidence: str) -> None:
    found = find_opt_out(bio)
    assert found is not None, (bio, normalise(bio))
    assert evidence in found.evidence


@pytest.mark.parametrize(
    "bio",
    [
        None,
        "",
        "I'm a recruiter",
        "Hiring! DM me",
        "Ask me about my talk on email deliverability",
        "Open to contributions",
        "I used to ignore tests",
        "Ex-recruiter turned developer",
        "No sales background, lots of SQL... said nobody",  # a background is refused, not sales
        "Don't hesitate to email me",
        "No soy reclutador",
        "no-std Rust, no allocator, no problem. Sales tax engines by day.",
        "No calls to malloc in the hot path.",
    ],
)
def test_mentions_and_negations_are_not_opt_outs(bio: str | None) -> None:
    assert find_opt_out(bio) is None


def test_long_hostile_bios_stay_fast() -> None:
    """A bio is a few hundred characters at most, but a pathological one must not hang a run."""
    assert find_opt_out("no " * 3000) is None
    assert find_opt_out("a, " * 3000 + "no recruiters") is not None


# --- the eval suite: rules first, the model may only add -------------------------------------


def context(tmp_path: Path, answer: bool | None) -> SuiteContext:
    """A suite context whose model (if any) answers every tone review with `bio_opt_out=answer`."""
    ctx = SuiteContext(run_dir=tmp_path, today=date(2026, 12, 7), prompt_version="v1", prompts_dir=None, session=None)
    if answer is not None:
        llm = scripted(*[tool_call_message("ToneOut", {"verdict": "ok", "reasons": [], "bio_opt_out": answer})] * 4)
        ctx.chat_model = lambda scope: llm  # type: ignore[method-assign]
    return ctx


def example(bio: str, opt_out: bool) -> DoNotContactExample:
    return DoNotContactExample(id="en-x", lang="en", bio=bio, opt_out=opt_out, split="holdout")


def test_suite_without_a_model_scores_the_rules(tmp_path: Path) -> None:
    result = suite_do_not_contact.evaluate(example("No recruiters, please.", True), context(tmp_path, None))
    assert result.passed and result.outputs["rule"] == "refusal before target"
    assert result.outputs["model_opt_out"] is None


def test_suite_model_adds_an_opt_out_the_rules_missed(tmp_path: Path) -> None:
    result = suite_do_not_contact.evaluate(example("My inbox is not a sales channel.", True), context(tmp_path, True))
    assert result.passed and result.outputs == {"detected": True, "rule": None, "evidence": None, "model_opt_out": True}


def test_suite_model_cannot_remove_a_rule_opt_out(tmp_path: Path) -> None:
    result = suite_do_not_contact.evaluate(example("No recruiters, please.", True), context(tmp_path, False))
    assert result.passed and result.outputs["detected"] and result.outputs["model_opt_out"] is None


def test_suite_aggregates_per_split_and_language(tmp_path: Path) -> None:
    ctx = context(tmp_path, None)
    results = [suite_do_not_contact.evaluate(e, ctx) for e in BIOS]
    aggregates = suite_do_not_contact.aggregate(results)
    assert aggregates["holdout_recall"] == scores("holdout")["recall"]
    assert aggregates["holdout_false_alarm_rate"] == scores("holdout")["false_alarm_rate"]
    assert set(aggregates["by_language"]) == {"en", "de", "fr", "es", "pt"}
    assert aggregates["examples"] == len(BIOS)
