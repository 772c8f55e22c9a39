"""Messages suite: one draft per evidence bundle, scored by deterministic text metrics.

The draft comes from the template (deterministic path) or the copywriter's model path with its
grounding checks and template fallback. With a model configured the same model also judges the
draft (personalisation, tone) and compares it with the template draft; those scores are advisory:
reported, never part of pass/fail or the gates, because they move with the judge model.
"""

from __future__ import annotations

import hashlib
from statistics import fmean
from typing import Any

from agents.copywriter import assign_variant, draft_from_template, draft_with_llm, variant_names
from agents.grounding import evidence_bundle
from evals.datasets import MessagesExample
from evals.metrics_judges import judge_message, make_judges, pairwise_preference
from evals.metrics_text import (
    groundedness,
    length_words,
    mentions_recent_project,
    reading_level,
    spam_phrases,
    strip_footer,
)
from evals.suites import ExampleResult, SuiteContext, scope
from foundation.schemas import Message
from prompts import load_prompt

ADVISORY: tuple[str, ...] = ("judge_personalisation", "judge_tone", "judge_prefers_draft_over_template")


def evaluate(example: MessagesExample, ctx: SuiteContext) -> ExampleResult:
    prospect, campaign, expect = example.prospect, example.campaign, example.expect
    settings = ctx.settings()
    variant = assign_variant(prospect.id, variant_names(campaign), salt=campaign.id)
    template = draft_from_template(prospect, campaign, variant, settings)
    gate = ctx.gate(scope("messages", example.id))
    if gate is None:
        message = template
    else:
        prompt = load_prompt("copywriter", ctx.prompt_version, ctx.prompts_dir)
        message = draft_with_llm(gate, prospect, campaign, variant, settings, prompt, ctx.prompt_version)
    grounded = groundedness(message, prospect)
    words = length_words(message.body)
    spam = spam_phrases(f"{message.subject}\n{message.body}", expect.banned_phrases)
    recent = mentions_recent_project(message, prospect)
    failures = [f"ungrounded: {claim}" for claim in grounded["ungrounded"]]
    if words > expect.max_words:
        failures.append(f"{words} words > {expect.max_words}")
    failures += [f"spam phrase: {phrase!r}" for phrase in spam]
    if expect.must_mention_recent_project and not recent["mentioned"]:
        failures.append(f"does not name a project from the evidence (most recent: {recent['most_recent']})")
    return ExampleResult(
        id=example.id,
        inputs={"prospect": prospect.username, "evidence_repos": _evidence_repos(prospect), "expect": expect.model_dump()},
        outputs={
            "subject": message.subject,
            "body": message.body,
            "written_by": message.written_by,
            "variant": variant,
            "facts_used": [fact.model_dump() for fact in message.facts_used],
        },
        scores={
            "groundedness": grounded["score"],
            "claims_checked": grounded["checked"],
            "words": words,
            "over_length": words > expect.max_words,
            "spam_phrases": len(spam),
            "reading_level": reading_level(message.body),
            "mentions_recent_project": recent["mentioned"],
            "mentions_most_recent": recent["mentions_most_recent"],
        },
        advisory=_judged(gate.llm, message, template, prospect, example.id) if gate is not None else {},
        passed=not failures,
        failures=failures,
    )


def _evidence_repos(prospect: Any) -> list[str]:
    return list(dict.fromkeys(e.repo for s in prospect.signals for e in s.evidence if e.repo))


def _judged(model: Any, message: Message, template: Message, prospect: Any, example_id: str) -> dict[str, Any]:
    """Judge scores and the pairwise verdict against the template draft (the order seeded by the example id)."""
    judged = judge_message(make_judges(model), message, prospect)
    advisory: dict[str, Any] = {f"judge_{key}": result["score"] for key, result in judged.items()}
    advisory["judge_comments"] = {key: result.get("comment") for key, result in judged.items()}
    if message.written_by == "llm":
        seed = int.from_bytes(hashlib.sha256(example_id.encode()).digest()[:4], "big")
        ours, theirs = (f"{m.subject}\n{strip_footer(m.body)}" for m in (message, template))
        advisory["pairwise_vs_template"] = pairwise_preference(model, ours, theirs, evidence_bundle(prospect), seed)
    return advisory


def _rate(results: list[ExampleResult], key: str) -> float:
    return round(sum(bool(r.scores[key]) for r in results) / len(results), 4)


def aggregate(results: list[ExampleResult]) -> dict[str, Any]:
    """Pass rate, mean groundedness/length/reading level, spam and mention rates, judge means when judged."""
    if not results:
        return {"examples": 0}
    levels = [r.scores["reading_level"] for r in results if r.scores["reading_level"] is not None]
    summary: dict[str, Any] = {
        "examples": len(results),
        "pass_rate": round(sum(r.passed for r in results) / len(results), 4),
        "groundedness": round(fmean(r.scores["groundedness"] for r in results), 4),
        "fully_grounded_rate": round(sum(r.scores["groundedness"] == 1.0 for r in results) / len(results), 4),
        "words_mean": round(fmean(r.scores["words"] for r in results), 1),
        "over_length": sum(r.scores["over_length"] for r in results),
        "spam_phrases": sum(r.scores["spam_phrases"] for r in results),
        "reading_level": round(fmean(levels), 2) if levels else None,
        "mentions_recent_project": _rate(results, "mentions_recent_project"),
        "mentions_most_recent": _rate(results, "mentions_most_recent"),
        "llm_drafts": sum(r.outputs["written_by"] == "llm" for r in results),
    }
    for key in ("judge_personalisation", "judge_tone"):
        judged = [float(r.advisory[key]) for r in results if r.advisory.get(key) is not None]
        if judged:
            summary[key] = round(fmean(judged), 4)
    preferences = [r.advisory["pairwise_vs_template"]["preferred"] for r in results if "pairwise_vs_template" in r.advisory]
    if preferences:
        summary["judge_prefers_draft_over_template"] = round(preferences.count("A") / len(preferences), 4)
    return summary
