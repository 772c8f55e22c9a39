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
from agents.drafting import AGENT, MAX_ATTEMPTS, MAX_WORDS, DraftOut, ask_grounded, grounding_problems
from agents.follow_ups import PROMPT as FOLLOW_UP_PROMPT
from agents.follow_ups import llm_follow_ups, sequence_days, template_follow_ups
from agents.grounding import evidence_bundle
from agents.model_calls import ModelGate
from agents.state import State
from foundation.events import MESSAGE_DRAFTED, emit, reasoning
from foundation.schemas import Campaign, Fact, Message, MessageTemplate, Prospect
from foundation.settings import Settings
from prompts import load_prompt

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_WORDS",
    "DraftOut",
    "assign_variant",
    "copywriter",
    "draft_from_template",
    "draft_many_with_llm",
    "draft_with_llm",
    "grounding_problems",
    "template_for",
    "variant_names",
]
_VARIANT_LETTERS = "ABCDEFGHIJ"


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
    answers, why_not = ask_grounded(
        gate,
        DraftOut,
        [job.conversation for job in jobs],
        lambda i, draft: grounding_problems(draft, jobs[i].prospect, jobs[i].template.length),
        prompt_version,
    )
    messages = [
        None
        if answer is None
        else Message(
            subject=answer.subject.strip(),
            body=f"{answer.body.strip()}\n\n{footer(job.prospect, sender)}",
            variant=job.variant,
            template=job.template.name,
            facts_used=answer.facts_used,
            written_by="llm",
            headers=opt_out_headers(job.prospect, sender),
        )
        for answer, job in zip(answers, jobs, strict=True)
    ]
    fallbacks = Counter(why_not.values())
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
    sequences = _with_follow_ups(updated, campaign, context, tenant_id)
    reasoning(AGENT, f"drafted {len(messages)} messages from template(s) {names}, variants {'/'.join(arms)} ({how}); {sequences}")
    return {"prospects": updated}


def _with_follow_ups(prospects: list[Prospect], campaign: Campaign, context: Context, tenant_id: str | None) -> str:
    """Attach the sequence's follow-ups (in place) to every prospect with an address; what was done."""
    days = sequence_days(campaign, context.settings)
    wanted = [i for i, p in enumerate(prospects) if p.email and p.message is not None]
    if not days or not wanted:
        return "no follow-ups" + (" configured" if not days else "")
    sender = sender_identity(campaign, context.settings, tenant_id)
    chosen = [prospects[i] for i in wanted]
    if context.gate is None:
        sequences = [template_follow_ups(p, days, sender) for p in chosen]
        how = "template path"
    else:
        prompt = load_prompt(FOLLOW_UP_PROMPT, context.prompt_version, context.prompts_dir)
        sequences, fallbacks = llm_follow_ups(context.gate, chosen, days, sender, prompt, context.prompt_version)
        how = f"LLM path; {fallbacks.total()} fell back to the template"
    for i, sequence in zip(wanted, sequences, strict=True):
        prospects[i] = prospects[i].model_copy(update={"follow_ups": sequence})
    return f"{len(days)} follow-up(s) on days {', '.join(map(str, days))} for {len(wanted)} prospects with an address ({how})"
