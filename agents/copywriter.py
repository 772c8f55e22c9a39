"""Copywriter agent: one outreach draft per prospect, grounded in the prospect's evidence only.

Without a model every draft comes from a template (`agents.copy_templates`). With a model the
template draft is handed over as a starting point together with the evidence, and whatever comes
back is checked deterministically: a repository, number, achievement or fact the evidence does not
contain, or a greeting to anyone but the quotable first name, sends the draft back with the problems
listed, and after the retries the template draft is used; so is it when the run's model gate has
no reply (every try failed, or its circuit breaker is open: agents/model_calls.py). The compliance
footer is always appended by code, never written by the model.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from agents.context import Context
from agents.copy_templates import (
    DEFAULT_TEMPLATES,
    SenderIdentity,
    footer,
    opt_out_headers,
    personalization_facts,
    render_body,
    render_subject,
    sender_identity,
)
from agents.grounding import claim_problems, evidence_bundle, fact_problems, greeting_problems, reference_text
from agents.model_calls import Answer, ModelGate, ModelUnavailable
from agents.state import State
from foundation.events import MESSAGE_DRAFTED, emit, reasoning
from foundation.schemas import Campaign, Fact, Message, MessageTemplate, Prospect
from foundation.settings import Settings
from prompts import load_prompt

AGENT = "copywriter"
MAX_ATTEMPTS = 3  # the first draft plus two retries
MAX_WORDS = {"short": 90, "medium": 150, "long": 220}
MAX_SUBJECT_CHARS = 90
_VARIANT_LETTERS = "ABCDEFGHIJ"


class DraftOut(BaseModel):
    """What the model returns; the footer is not part of it because code appends the footer."""

    subject: str = Field(description="Subject line, plain and specific, no Re:/Fwd:, no urgency.")
    body: str = Field(description="Message body without signature footer, unsubscribe text or postal address.")
    facts_used: list[Fact] = Field(description="Every fact about the recipient the draft states, with its source.")


def variant_names(campaign: Campaign) -> list[str]:
    """The A/B test arms: "A", "B", ... as many as `campaign_settings.ab_test_variants`."""
    return list(_VARIANT_LETTERS[: campaign.campaign_settings.ab_test_variants])


def assign_variant(prospect_id: str, variants: list[str], salt: str = "") -> str:
    """A stable arm per prospect (SHA-256, not Python's per-process `hash()`), so reruns agree."""
    digest = hashlib.sha256(f"{salt}:{prospect_id}".encode()).digest()
    return variants[int.from_bytes(digest[:8], "big") % len(variants)]


def template_for(campaign: Campaign, variant: str) -> MessageTemplate:
    """The template of a variant; campaign templates without a body borrow the built-in body."""
    index = _VARIANT_LETTERS.index(variant)
    templates = campaign.messaging.templates or list(DEFAULT_TEMPLATES)
    template = templates[index % len(templates)]
    if template.body is None:
        template = template.model_copy(update={"body": DEFAULT_TEMPLATES[index % len(DEFAULT_TEMPLATES)].body})
    return template


def _template_text(prospect: Prospect, campaign: Campaign, variant: str, sender: SenderIdentity) -> tuple[str, str, list[Fact]]:
    """Subject, body (no footer) and the facts the filled template states."""
    template = template_for(campaign, variant)
    facts = personalization_facts(prospect)
    values = {name: fact.value for name, fact in facts.items()}
    values |= {"sender_name": sender.name, "sender_company": sender.company}
    if sender.title:
        values["sender_title"] = sender.title
    flags = {"short": {"brief"}, "long": {"detailed"}}.get(template.length, set())
    subject, subject_fields = render_subject(template.subject, values, flags, fallback=f"A note from {sender.company}")
    body, body_fields = render_body(template.body or "", values, flags)
    used = [facts[name] for name in dict.fromkeys(subject_fields + body_fields) if name in facts]
    return subject, body, used


def draft_from_template(
    prospect: Prospect, campaign: Campaign, variant: str, settings: Settings, tenant_id: str | None = None
) -> Message:
    """A draft with no model: the variant's template filled from evidence, plus the footer."""
    return _template_draft(prospect, campaign, variant, sender_identity(campaign, settings, tenant_id))


def _template_draft(prospect: Prospect, campaign: Campaign, variant: str, sender: SenderIdentity) -> Message:
    subject, body, facts = _template_text(prospect, campaign, variant, sender)
    return Message(
        subject=subject,
        body=f"{body}\n\n{footer(prospect, sender)}",
        variant=variant,
        template=template_for(campaign, variant).name,
        facts_used=facts,
        written_by="template",
        headers=opt_out_headers(prospect, sender),
    )


def grounding_problems(draft: DraftOut, prospect: Prospect, length: str = "medium") -> list[str]:
    """Everything in a model draft that is not backed by the evidence (empty list = grounded)."""
    reference = reference_text(prospect)
    text = f"{draft.subject}\n{draft.body}"
    problems = ["unfilled {{placeholder}} left in the text"] if "{{" in text or "}}" in text else []
    if not draft.subject.strip() or not draft.body.strip():
        problems.append("subject and body must not be empty")
    if len(draft.subject) > MAX_SUBJECT_CHARS:
        problems.append(f"subject longer than {MAX_SUBJECT_CHARS} characters")
    if len(draft.body.split()) > MAX_WORDS[length]:
        problems.append(f"body longer than {MAX_WORDS[length]} words")
    problems += claim_problems(text, prospect, reference)
    problems += greeting_problems(draft.body, prospect)
    for fact in draft.facts_used:
        problems += fact_problems(fact, prospect, reference)
    return problems


@dataclass
class _Job:
    """One prospect's drafting conversation, grown by feedback after each rejected attempt."""

    prospect: Prospect
    variant: str
    template: MessageTemplate
    conversation: list[BaseMessage] = field(default_factory=list)


def _brief(job: _Job, campaign: Campaign, sender: SenderIdentity) -> str:
    """The user message: the evidence bundle and the variant's template draft, as JSON."""
    subject, body, _ = _template_text(job.prospect, campaign, job.variant, sender)
    return json.dumps(
        {
            "evidence": evidence_bundle(job.prospect),
            "variant": job.variant,
            "template": {"name": job.template.name, "tone": job.template.tone, "length": job.template.length},
            "max_words": MAX_WORDS[job.template.length],
            "template_draft": {"subject": subject, "body": body},
            "sender": {"name": sender.name, "title": sender.title, "company": sender.company},
            "campaign_goal": campaign.goal,
        },
        ensure_ascii=False,
        indent=1,
    )


def _judge(answer: Answer[DraftOut], job: _Job) -> tuple[DraftOut | None, list[str]]:
    """The parsed draft and its problems; an unparsable answer is a problem too."""
    if answer.parsed is None:
        return None, [f"the answer was not a valid DraftOut ({answer.problem or 'no structured output'})"]
    return answer.parsed, grounding_problems(answer.parsed, job.prospect, job.template.length)


def draft_many_with_llm(
    gate: ModelGate,
    prospects: list[Prospect],
    variants: list[str],
    campaign: Campaign,
    settings: Settings,
    prompt: str,
    tenant_id: str | None = None,
    prompt_version: str = "v1",
) -> tuple[list[Message], Counter[str]]:
    """LLM drafts for many prospects, each round's calls concurrent through `gate`, and how many fell
    back to the template per reason: a draft that stays ungrounded or invalid, or that got no reply
    (reported to the gate too)."""
    if not prospects:
        return [], Counter()
    sender = sender_identity(campaign, settings, tenant_id)
    jobs = [
        _Job(prospect, variant, template_for(campaign, variant)) for prospect, variant in zip(prospects, variants, strict=True)
    ]
    for job in jobs:
        job.conversation = [SystemMessage(prompt), HumanMessage(_brief(job, campaign, sender))]
    messages: list[Message | None] = [None] * len(jobs)
    why_not: dict[int, str] = {}
    pending = list(range(len(jobs)))
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if not pending:
            break
        answers = gate.structured_many(AGENT, DraftOut, [jobs[i].conversation for i in pending], prompt_version, attempt=attempt)
        retry: list[int] = []
        for i, answer in zip(pending, answers, strict=True):
            job = jobs[i]
            if isinstance(answer, ModelUnavailable):  # the gate has retried already; no point asking again
                why_not[i] = answer.fallback_reason
                continue
            draft, problems = _judge(answer, job)
            if draft is not None and not problems:
                messages[i] = Message(
                    subject=draft.subject.strip(),
                    body=f"{draft.body.strip()}\n\n{footer(job.prospect, sender)}",
                    variant=job.variant,
                    template=job.template.name,
                    facts_used=draft.facts_used,
                    written_by="llm",
                    headers=opt_out_headers(job.prospect, sender),
                )
                continue
            if draft is not None:  # parsed, but not grounded in the evidence
                gate.rejected(AGENT, "; ".join(problems), answer)
            why_not[i] = f"ungrounded or invalid after {MAX_ATTEMPTS} attempts"
            previous = f"\nYour draft was:\n{draft.model_dump_json()}" if draft else ""
            problem_list = "\n".join(f"- {p}" for p in problems)
            job.conversation.append(
                HumanMessage(f"The draft was rejected:\n{problem_list}{previous}\nReturn a corrected DraftOut.")
            )
            retry.append(i)
        pending = retry
    fallbacks = Counter(why_not[i] for i, message in enumerate(messages) if message is None)
    for reason, count in fallbacks.items():
        gate.fell_back(AGENT, reason, count)
    drafts = [
        message or _template_draft(job.prospect, campaign, job.variant, sender)
        for message, job in zip(messages, jobs, strict=True)
    ]
    return drafts, fallbacks


def draft_with_llm(
    gate: ModelGate,
    prospect: Prospect,
    campaign: Campaign,
    variant: str,
    settings: Settings,
    prompt: str,
    prompt_version: str = "v1",
) -> Message:
    """One LLM draft (see `draft_many_with_llm`); `written_by` says whether the template was used."""
    return draft_many_with_llm(gate, [prospect], [variant], campaign, settings, prompt, None, prompt_version)[0][0]


def copywriter(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Graph node: attach a draft to every prospect (the compliance agent decides who may get it)."""
    context = runtime.context
    campaign = state["campaign"]
    prospects = state.get("prospects", [])
    arms = variant_names(campaign)
    variants = [assign_variant(p.id, arms, salt=campaign.id) for p in prospects]
    tenant_id = state["run"].tenant_id if "run" in state else None  # None: a CLI run, no tenant
    if context.gate is None:
        messages: list[Message] = []
        if prospects:  # like the LLM path, an empty run needs no sender identity
            sender = sender_identity(campaign, context.settings, tenant_id)
            messages = [_template_draft(p, campaign, v, sender) for p, v in zip(prospects, variants, strict=True)]
        how = "no LLM key: template path"
    else:
        prompt = load_prompt(AGENT, context.prompt_version, context.prompts_dir)
        messages, fallbacks = draft_many_with_llm(
            context.gate, prospects, variants, campaign, context.settings, prompt, tenant_id, context.prompt_version
        )
        reasons = ", ".join(f"{reason} x{count}" for reason, count in fallbacks.most_common())
        how = f"LLM path; {fallbacks.total()} fell back to the template" + (f": {reasons}" if reasons else "")
    updated = []
    for prospect, message in zip(prospects, messages, strict=True):
        updated.append(prospect.model_copy(update={"message": message}))
        emit(
            MESSAGE_DRAFTED,
            AGENT,
            prospect_id=prospect.id,
            variant=message.variant,
            subject=message.subject,
            written_by=message.written_by,
        )
    names = ", ".join(repr(name) for name in dict.fromkeys(m.template for m in messages)) or "none"
    reasoning(AGENT, f"drafted {len(messages)} messages from template(s) {names}, variants {'/'.join(arms)} ({how})")
    return {"prospects": updated}
