"""Compliance agent: deterministic rules decide, an optional model review can only add caution.

The rules (`agents.compliance_rules`) are the authority. A model may move an approved draft to
"needs_review" for tone (pressure, flattery, claims that overreach), or reject the prospect when it
reads the bio as a request not to be contacted that the rules missed; it never sees rejected
prospects and can never approve anything or lift a rule's rejection, so an LLM failure cannot make
outreach less compliant: a review that failed or could not be read flags the draft for a person.
Once the run's model gate has opened its circuit breaker (agents/model_calls.py) the model is gone
for the run, and the rules decide alone, exactly as in a run without a model.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Literal

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from agents.compliance_rules import RULES, review_prospect
from agents.context import Context
from agents.model_calls import ModelGate, ModelUnavailable
from agents.state import State
from foundation.events import COMPLIANCE_REVIEWED, emit, reasoning
from foundation.schemas import Campaign, ComplianceReview, FollowUp, Prospect
from foundation.schemas.prospect import PERSON_REVIEW
from foundation.settings import Settings
from prompts import load_prompt
from tools.suppression import SuppressionList

AGENT = "compliance"
TONE_RULE = "tone_review"
DO_NOT_CONTACT = "bio_do_not_contact"  # the model's finding shares the rule's reason code
QUOTE_CHARS = 160  # GitHub's bio limit
NOT_COMPLETED = "the tone review could not be completed"
# The rules whose facts can change after a review is stored: the person is suppressed, or objects
# through their opt-out link (`privacy_settings.contact_allowed`). A person's approval asks them again.
LATE_RULES = ("suppressed", "contact_not_allowed")

__all__ = [
    "DO_NOT_CONTACT",
    "LATE_RULES",
    "RULES",
    "ToneOut",
    "apply_tone_review",
    "approval_refusal",
    "compliance",
    "review_again",
    "review_prospect",
    "tone_reviews",
    "with_person_decision",
]


class ToneOut(BaseModel):
    """The model's tone verdict on one draft, and whether it reads the recipient's bio as an opt-out."""

    verdict: Literal["ok", "needs_review"] = Field(description="needs_review when a human should look first.")
    reasons: list[str] = Field(default_factory=list, description="Short, specific reasons for needs_review.")
    bio_opt_out: bool = Field(
        default=False,
        description="True when the recipient's bio asks, in any wording or language, not to be contacted, "
        "recruited, pitched or sold to. This rejects the prospect.",
    )
    opt_out_quote: str = Field(default="", description="The words of the bio that ask not to be contacted.")


def _tone_request(prospect: Prospect) -> str:
    """The draft, the facts it claims and the bio (a paraphrased "do not contact" is the model's job)."""
    if prospect.message is None:
        raise ValueError(f"{prospect.id} has no draft to review for tone")
    message = prospect.message
    request = {
        "subject": message.subject,
        "body": message.body,
        "facts_used": [fact.model_dump() for fact in message.facts_used],
        "recipient_bio": prospect.bio,
    }
    return json.dumps(request, ensure_ascii=False, indent=1)


def tone_reviews(gate: ModelGate, prospects: list[Prospect], prompt: str, prompt_version: str = "v1") -> list[ToneOut | None]:
    """One tone verdict per drafted prospect, the calls concurrent through `gate`. A failed or
    unreadable answer counts as needs_review; None: not asked, the gate's circuit breaker is open."""
    inputs: list[LanguageModelInput] = [[SystemMessage(prompt), HumanMessage(_tone_request(p))] for p in prospects]
    verdicts: list[ToneOut | None] = []
    for answer in gate.structured_many(AGENT, ToneOut, inputs, prompt_version):
        if isinstance(answer, ModelUnavailable) and answer.kind == "breaker_open":
            verdicts.append(None)
            gate.fell_back(AGENT, f"{answer.fallback_reason}: the rules decide")
        elif isinstance(answer, ModelUnavailable) or answer.parsed is None:
            verdicts.append(ToneOut(verdict="needs_review", reasons=[NOT_COMPLETED]))
            why = answer.fallback_reason if isinstance(answer, ModelUnavailable) else "unreadable answer"
            gate.fell_back(AGENT, f"{why}: flagged for a person")
        else:
            verdicts.append(answer.parsed)
    return verdicts


def apply_tone_review(review: ComplianceReview, tone: ToneOut) -> ComplianceReview:
    """Combine rules and model: the model may add a do-not-contact rejection or move approved to
    needs_review; it never lifts a rejection or a flag, and never approves anything."""
    checked = [*review.rules_checked, TONE_RULE]
    if review.verdict == "rejected":
        return review.model_copy(update={"rules_checked": checked})
    if tone.bio_opt_out:
        # the quote is the model's echo of profile text: cut, never trusted to be short
        quote = f' ("{tone.opt_out_quote[:QUOTE_CHARS]}")' if tone.opt_out_quote else ""
        reason = f"{DO_NOT_CONTACT}: the model reads the bio as asking not to be contacted{quote}"
        reasons = [*review.reasons, reason]
        return review.model_copy(
            update={"verdict": "rejected", "reasons": reasons, "lawful_basis": None, "rules_checked": checked}
        )
    if review.verdict != "approved" or tone.verdict == "ok":
        return review.model_copy(update={"rules_checked": checked})
    reasons = [f"{TONE_RULE}: {reason}" for reason in tone.reasons] or [f"{TONE_RULE}: flagged without a reason"]
    return review.model_copy(update={"verdict": "needs_review", "reasons": [*review.reasons, *reasons], "rules_checked": checked})


def approval_refusal(prospect: Prospect, campaign: Campaign, suppression: SuppressionList, settings: Settings) -> list[str]:
    """Why a person may not approve the lead's draft (empty: they may): an approval never overrides
    a rejection by a rule, neither the stored review's nor a late rule's (the person was suppressed,
    or objected, after the review). Used by the service's review and by `cmo review`."""
    if prospect.compliance is None:
        return ["no_review: the job stopped before this lead's draft was reviewed; edit the draft to have it reviewed"]
    if prospect.compliance.verdict == "rejected":
        return prospect.compliance.reasons or ["rejected: the compliance review rejected this draft"]
    late = review_prospect(prospect, campaign, suppression, settings, codes=LATE_RULES)
    return late.reasons if late.verdict == "rejected" else []


def with_person_decision(prospect: Prospect, decision: Literal["approved", "rejected"], who: str) -> Prospect:
    """The lead as its files show a person's decision: the decision is its verdict (contactable
    exactly when approved), and a reason says a person decided (`who`), next to the rules' reasons
    it overrode; `ComplianceReview.approved_by_person` reads that reason."""
    base = prospect.compliance or ComplianceReview(verdict=decision)
    note = f"{PERSON_REVIEW}: {decision} by a person ({who})"
    return prospect.model_copy(
        update={"compliance": base.model_copy(update={"verdict": decision, "reasons": [*base.reasons, note]})}
    )


def review_again(prospect: Prospect, campaign: Campaign, suppression: SuppressionList, settings: Settings) -> ComplianceReview:
    """The review of a draft a person has edited: the rules on the new text, and the earlier review's
    finding that the bio asks not to be contacted (a model's, which the rules may not repeat): it is
    about the person, whom no edit changes. The model's tone notes were about the old text and go."""
    review = review_prospect(prospect, campaign, suppression, settings)
    earlier = prospect.compliance.reasons if prospect.compliance else []
    opt_outs = [reason for reason in earlier if reason.startswith(f"{DO_NOT_CONTACT}:") and reason not in review.reasons]
    if not opt_outs:
        return review
    return review.model_copy(update={"verdict": "rejected", "reasons": [*review.reasons, *opt_outs], "lawful_basis": None})


def _as_step(prospect: Prospect, follow_up: FollowUp) -> Prospect:
    """The prospect with a follow-up's draft as its message: every rule and the tone review read `message`."""
    return prospect.model_copy(update={"message": follow_up.message})


def _tone_checked(context: Context, prospects: list[Prospect], reviews: list[ComplianceReview]) -> tuple[int, int, int, int]:
    """Apply the model's tone review (in place) to the approved drafts of `prospects`; how many were
    reviewed, moved to needs_review and rejected, and how many the open circuit breaker left to the rules."""
    assert context.gate is not None
    approved = [i for i, review in enumerate(reviews) if review.verdict == "approved"]
    prompt = load_prompt(AGENT, context.prompt_version, context.prompts_dir)
    tones = tone_reviews(context.gate, [prospects[i] for i in approved], prompt, context.prompt_version)
    reviewed = [i for i, tone in zip(approved, tones, strict=True) if tone is not None]
    for i, tone in zip(approved, tones, strict=True):
        reviews[i] = apply_tone_review(reviews[i], tone) if tone is not None else reviews[i]
    downgraded = sum(reviews[i].verdict == "needs_review" for i in reviewed)
    opted_out = sum(reviews[i].verdict == "rejected" for i in reviewed)
    return len(reviewed), downgraded, opted_out, len(approved) - len(reviewed)


def review_follow_ups(context: Context, campaign: Campaign, prospects: list[Prospect]) -> list[Prospect]:
    """Every follow-up reviewed like a first message: the rules on its own draft, then the tone review.
    A prospect whose first message is rejected has every step rejected for the same reasons (the
    rules about the person do not change between steps)."""
    steps = [(p, n) for p, prospect in enumerate(prospects) for n in range(len(prospect.follow_ups))]
    drafts = [_as_step(prospects[p], prospects[p].follow_ups[n]) for p, n in steps]
    reviews: list[ComplianceReview] = []
    for (p, _), draft in zip(steps, drafts, strict=True):
        first = prospects[p].compliance
        if first is not None and first.verdict == "rejected":
            reviews.append(first)
        else:
            reviews.append(review_prospect(draft, campaign, context.suppression, context.settings))
    if context.gate is not None and drafts:
        _tone_checked(context, drafts, reviews)
    updated = list(prospects)
    for (p, n), review in zip(steps, reviews, strict=True):
        follow_ups = list(updated[p].follow_ups)
        follow_ups[n] = follow_ups[n].model_copy(update={"compliance": review})
        updated[p] = updated[p].model_copy(update={"follow_ups": follow_ups})
    return updated


def compliance(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Graph node: attach a `ComplianceReview` to every prospect and every follow-up, in the same order."""
    context = runtime.context
    prospects = state.get("prospects", [])
    reviews = [review_prospect(p, state["campaign"], context.suppression, context.settings) for p in prospects]
    if context.gate is None:
        tone_note = "tone review skipped: no LLM"
    else:
        reviewed, downgraded, opted_out, unreviewed = _tone_checked(context, prospects, reviews)
        tone_note = (
            f"LLM tone review moved {downgraded} of {reviewed} approved drafts to needs_review "
            f"and rejected {opted_out} whose bio asks not to be contacted"
        )
        if unreviewed:
            tone_note += f"; {unreviewed} not reviewed: the model's circuit breaker is open, the rules decide"
    updated = []
    for prospect, review in zip(prospects, reviews, strict=True):
        updated.append(prospect.model_copy(update={"compliance": review}))
        emit(COMPLIANCE_REVIEWED, AGENT, prospect_id=prospect.id, verdict=review.verdict, reasons=review.reasons)
    updated = review_follow_ups(context, state["campaign"], updated)
    steps = Counter(fu.compliance.verdict for p in updated for fu in p.follow_ups if fu.compliance)
    if steps:
        tone_note += (
            f"; follow-ups: {steps['approved']} approved, {steps['needs_review']} need review, {steps['rejected']} rejected"
        )
    verdicts = Counter(review.verdict for review in reviews)
    codes = Counter(reason.split(":", 1)[0] for review in reviews for reason in review.reasons)
    common = ", ".join(f"{code} x{count}" for code, count in codes.most_common(3)) or "none"
    reasoning(
        AGENT,
        f"reviewed {len(reviews)} prospects: {verdicts['approved']} approved, {verdicts['needs_review']} need review, "
        f"{verdicts['rejected']} rejected; most common reasons: {common} ({tone_note})",
    )
    return {"prospects": updated}
