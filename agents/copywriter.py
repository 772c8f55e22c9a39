"""Copywriter agent: one outreach draft per prospect, grounded in the prospect's evidence only.

Without a model every draft comes from a template (`agents.copy_templates`). With a model the
template draft is handed over as a starting point together with the evidence, and whatever comes
back is checked deterministically: a repository, number or fact the evidence does not contain sends
the draft back with the problems listed, and after the retries the template draft is used. The
compliance footer is always appended by code, never written by the model.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from agents.copy_templates import (
    DEFAULT_TEMPLATES,
    footer,
    personalization_facts,
    render_body,
    render_subject,
    sender_identity,
)
from cmo.schemas import Campaign, Fact, Message, MessageTemplate, Prospect
from cmo.settings import Settings
from graph.context import Context
from graph.events import MESSAGE_DRAFTED, emit, reasoning
from graph.state import State
from prompts import load_prompt
from tools.normalize import display_company

AGENT = "copywriter"
MAX_ATTEMPTS = 3  # the first draft plus two retries
MAX_CONCURRENCY = 8
MAX_WORDS = {"short": 90, "medium": 150, "long": 220}
MAX_SUBJECT_CHARS = 90
_VARIANT_LETTERS = "ABCDEFGHIJ"

_URL = re.compile(r"(?:https?://|www\.|github\.com/)[^\s)>\]\"']+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[\w][\w.+#/-]*")
_SLASH_NAME = re.compile(r"^[\w.-]+/[\w.-]+$")
_BACKTICKED = re.compile(r"`([^`\s]+)`")
_REPO_WORDS = frozenset({"repo", "repos", "repository", "repositories", "project", "projects", "library", "package"})
_NOT_REPOS = frozenset({"ci/cd", "i/o", "a/b", "and/or", "tcp/ip", "c/c++", "24/7", "read/write", "client/server"})
_PLAIN_WORDS = frozenset(
    "a an the your my our their its this that these those and or of on in at to for with from by about is are "
    "was were be been has have had it you we i which who as s open-source open source public popular own main "
    "github new other personal active recent latest same several many some few each every one work code also "
    "like such very well itself there here maintainer maintainers contributor contributors".split()
)


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


def _template_text(
    prospect: Prospect, campaign: Campaign, variant: str, settings: Settings
) -> tuple[str, str, list[Fact]]:
    """Subject, body (no footer) and the facts the filled template states."""
    template = template_for(campaign, variant)
    sender = sender_identity(campaign, settings)
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


def draft_from_template(prospect: Prospect, campaign: Campaign, variant: str, settings: Settings) -> Message:
    """A draft with no model: the variant's template filled from evidence, plus the footer."""
    subject, body, facts = _template_text(prospect, campaign, variant, settings)
    sender = sender_identity(campaign, settings)
    return Message(
        subject=subject,
        body=f"{body}\n\n{footer(prospect, sender)}",
        variant=variant,
        template=template_for(campaign, variant).name,
        facts_used=facts,
        written_by="template",
    )


def evidence_bundle(prospect: Prospect) -> dict[str, Any]:
    """All the model may use: public profile basics, signals with evidence and the traced facts.

    The email address, bio and location are left out: the draft does not need them (data minimisation).
    """
    profile = prospect.developer_profile.model_dump(
        mode="json", include={"languages", "repositories", "expertise_areas", "commit_frequency", "last_active"}
    )
    return {
        "login": prospect.username,
        "name": prospect.name,
        "company": display_company(prospect.company),
        "developer_profile": profile,
        "signals": [signal.model_dump(mode="json") for signal in prospect.signals],
        "facts": [fact.model_dump() for fact in personalization_facts(prospect).values()],
    }


def _known_names(prospect: Prospect) -> set[str]:
    """Lowercased names a draft may put next to "repository": repos, owners, languages, login, company."""
    profile = prospect.developer_profile
    repos = {e.repo for s in prospect.signals for e in s.evidence if e.repo} | set(profile.repositories)
    names = {prospect.username, display_company(prospect.company) or "", *profile.languages}
    for repo in repos:
        names |= {repo, *repo.split("/")}
    return {name.lower() for name in names if name}


def _repo_claims(text: str) -> set[str]:
    """What the text presents as a repository: owner/name tokens, `code` names, words beside "repository"."""
    words = [word.rstrip(".-").lower() for word in _WORD.findall(text)]
    claims = {word for word in words if _SLASH_NAME.match(word)} - _NOT_REPOS
    claims |= {name.lower() for name in _BACKTICKED.findall(text)}
    for i, word in enumerate(words):
        if word in _REPO_WORDS:
            neighbours = words[max(i - 1, 0) : i] + words[i + 1 : i + 2]
            claims |= {n for n in neighbours if n not in _PLAIN_WORDS and n not in _REPO_WORDS}
    return claims


def _number_key(number: str) -> str:
    """ "1,200" and "1200", "01" and "1" are the same number (dates in the evidence are zero-padded)."""
    return number.replace(",", "").lstrip("0") or "0"


def _claim_problems(text: str, prospect: Prospect, reference: str) -> list[str]:
    """Links, emails, repositories and numbers in `text` that the evidence does not contain."""
    links = [url for url in _URL.findall(text) if url.lower().split("//")[-1].rstrip("/.,") not in reference]
    problems = [f"link {url} is not in the evidence" for url in links]
    problems += [f"email address {email} must not appear" for email in _EMAIL.findall(text)]
    prose = _URL.sub(" ", _EMAIL.sub(" ", text))
    known = _known_names(prospect)
    problems += [f"repository {name!r} is not in the evidence" for name in sorted(_repo_claims(prose) - known)]
    allowed_numbers = {_number_key(n) for n in _NUMBER.findall(reference)}
    numbers = [n for n in _NUMBER.findall(prose) if _number_key(n) not in allowed_numbers]
    problems += [f"number {n} is not in the evidence" for n in numbers]
    return problems


def _fact_problems(fact: Fact, prospect: Prospect, reference: str) -> list[str]:
    """A fact traces when its source names real evidence and every word of its value is in the evidence."""
    signal = re.match(r"signal:(\w+)", fact.source)
    repo = re.match(r"repo:([\w.-]+/[\w.-]+)", fact.source)
    valid_source = (
        fact.source.startswith(("profile.", "developer_profile."))
        or (signal is not None and signal.group(1) in prospect.signal_names())
        or (repo is not None and repo.group(1).lower() in _known_names(prospect))
    )
    words = [w.rstrip(".") for w in _WORD.findall(fact.value.lower())]
    untraced = [w for w in words if len(w) > 2 and w not in _PLAIN_WORDS and w not in reference]
    problems = [] if valid_source else [f"fact {fact.name!r} cites unknown source {fact.source!r}"]
    if untraced:
        problems.append(f"fact {fact.name!r} states {', '.join(untraced)} which the evidence does not contain")
    return problems + _claim_problems(fact.value, prospect, reference)


def grounding_problems(draft: DraftOut, prospect: Prospect, length: str = "medium") -> list[str]:
    """Everything in a model draft that is not backed by the evidence (empty list = grounded)."""
    reference = json.dumps(evidence_bundle(prospect), ensure_ascii=False).lower()
    text = f"{draft.subject}\n{draft.body}"
    problems = ["unfilled {{placeholder}} left in the text"] if "{{" in text or "}}" in text else []
    if not draft.subject.strip() or not draft.body.strip():
        problems.append("subject and body must not be empty")
    if len(draft.subject) > MAX_SUBJECT_CHARS:
        problems.append(f"subject longer than {MAX_SUBJECT_CHARS} characters")
    if len(draft.body.split()) > MAX_WORDS[length]:
        problems.append(f"body longer than {MAX_WORDS[length]} words")
    problems += _claim_problems(text, prospect, reference)
    for fact in draft.facts_used:
        problems += _fact_problems(fact, prospect, reference)
    return problems


@dataclass
class _Job:
    """One prospect's drafting conversation, grown by feedback after each rejected attempt."""

    prospect: Prospect
    variant: str
    template: MessageTemplate
    conversation: list[BaseMessage] = field(default_factory=list)


def _brief(job: _Job, campaign: Campaign, settings: Settings) -> str:
    """The user message: the evidence bundle and the variant's template draft, as JSON."""
    subject, body, _ = _template_text(job.prospect, campaign, job.variant, settings)
    sender = sender_identity(campaign, settings)
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


def _judge(output: dict[str, Any] | BaseException, job: _Job) -> tuple[DraftOut | None, list[str]]:
    """The parsed draft and its problems; a failed call or unparsable output is a problem too."""
    if isinstance(output, BaseException):
        return None, [f"the model call failed ({type(output).__name__})"]
    draft = output.get("parsed")
    if output.get("parsing_error") is not None or not isinstance(draft, DraftOut):
        return None, [f"the answer was not a valid DraftOut ({output.get('parsing_error') or 'no structured output'})"]
    return draft, grounding_problems(draft, job.prospect, job.template.length)


def draft_many_with_llm(
    llm: BaseChatModel,
    prospects: list[Prospect],
    variants: list[str],
    campaign: Campaign,
    settings: Settings,
    prompt: str,
) -> list[Message]:
    """LLM drafts for many prospects in concurrent batches; ungrounded ones fall back to the template."""
    structured = llm.with_structured_output(DraftOut, include_raw=True)
    jobs = [_Job(prospect, variant, template_for(campaign, variant)) for prospect, variant in zip(prospects, variants)]
    for job in jobs:
        job.conversation = [SystemMessage(prompt), HumanMessage(_brief(job, campaign, settings))]
    messages: list[Message | None] = [None] * len(jobs)
    pending = list(range(len(jobs)))
    for _ in range(MAX_ATTEMPTS):
        if not pending:
            break
        outputs = structured.batch(
            [jobs[i].conversation for i in pending], config={"max_concurrency": MAX_CONCURRENCY}, return_exceptions=True
        )
        retry: list[int] = []
        sender = sender_identity(campaign, settings)
        for i, output in zip(pending, outputs):
            job = jobs[i]
            draft, problems = _judge(output, job)
            if draft is not None and not problems:
                messages[i] = Message(
                    subject=draft.subject.strip(),
                    body=f"{draft.body.strip()}\n\n{footer(job.prospect, sender)}",
                    variant=job.variant,
                    template=job.template.name,
                    facts_used=draft.facts_used,
                    written_by="llm",
                )
                continue
            previous = f"\nYour draft was:\n{draft.model_dump_json()}" if draft else ""
            problem_list = "\n".join(f"- {p}" for p in problems)
            job.conversation.append(
                HumanMessage(f"The draft was rejected:\n{problem_list}{previous}\nReturn a corrected DraftOut.")
            )
            retry.append(i)
        pending = retry
    return [
        message or draft_from_template(job.prospect, campaign, job.variant, settings)
        for message, job in zip(messages, jobs)
    ]


def draft_with_llm(
    llm: BaseChatModel, prospect: Prospect, campaign: Campaign, variant: str, settings: Settings, prompt: str
) -> Message:
    """One LLM draft (see `draft_many_with_llm`); `written_by` says whether the template was used."""
    return draft_many_with_llm(llm, [prospect], [variant], campaign, settings, prompt)[0]


def copywriter(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Graph node: attach a draft to every prospect (the compliance agent decides who may get it)."""
    context = runtime.context
    campaign = state["campaign"]
    prospects = state.get("prospects", [])
    arms = variant_names(campaign)
    variants = [assign_variant(p.id, arms, salt=campaign.id) for p in prospects]
    if context.llm is None:
        messages = [draft_from_template(p, campaign, v, context.settings) for p, v in zip(prospects, variants)]
        how = "no LLM key: template path"
    else:
        prompt = load_prompt(AGENT, context.prompt_version, context.prompts_dir)
        messages = draft_many_with_llm(context.llm, prospects, variants, campaign, context.settings, prompt)
        fallbacks = sum(m.written_by == "template" for m in messages)
        how = f"LLM path; {fallbacks} fell back to the template after {MAX_ATTEMPTS} ungrounded or invalid drafts"
    updated = []
    for prospect, message in zip(prospects, messages):
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
