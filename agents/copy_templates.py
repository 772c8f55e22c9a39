"""Outreach copy without a model: built-in templates, evidence-only facts, rendering and the footer.

Everything a template may say about a person comes from `personalization_facts`, which reads only
the prospect's signals' evidence and profile, so a template draft cannot state something we never
observed, and nothing a bio or README says; a name that does not look like one is not quoted (the
greeting is "Hi there"). A placeholder whose fact is missing is never left in the text: mustache-style
sections (`{{#company}}...{{/company}}`, inverted `{{^company}}...{{/company}}`) let a template
rephrase generically, and any other sentence that needs a missing fact is dropped.

The footer is built here too, by code, for both the template and the LLM path: the GDPR Art. 14
notice, the Art. 21 / CAN-SPAM opt-out and the sender's postal address must never depend on a model.
So are the opt-out link and the RFC 8058 headers: a service job with `CMO_PUBLIC_URL` gets a signed
one-click link per recipient (`privacy.optout`), anything else the configured base + `?u=`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from foundation.profile_text import first_name, full_name, quotable_company
from foundation.schemas import Campaign, Evidence, Fact, MessageTemplate, Prospect
from foundation.settings import Settings
from privacy.optout import LinkSigner, link_signer

_SECTION = re.compile(r"\{\{([#^])(\w+)\}\}(.*?)\{\{/\2\}\}", re.DOTALL)
_FIELD = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
_SUBJECT_FIELD = re.compile(r"(\s+(?:in|at|for|on|with|about|from|of|to|and)\s+|\s*[-–—:,]\s*|\s*)\{\{\s*(\w+)\s*\}\}")
_KIND_PRIORITY = ("repo_owner", "contributor_rank", "commits", "push_event", "stars")

DEFAULT_TEMPLATES: tuple[MessageTemplate, ...] = (
    MessageTemplate(
        name="evidence_first",
        subject="{{#recent_project}}Your work on {{recent_project}}{{/recent_project}}"
        "{{^recent_project}}Your open-source work{{/recent_project}}",
        personalization_fields=["recent_project", "signal", "tech_stack", "company"],
        body="""Hi{{#first_name}} {{first_name}}{{/first_name}}{{^first_name}} there{{/first_name}},

{{#signal}}I came across {{signal}} while looking at active open-source projects.{{/signal}}{{^signal}}I came across your public GitHub profile while looking at active open-source projects.{{/signal}}

I'm writing from {{sender_company}}. We are asking a few developers whose public work is close to ours whether what we build would be useful to them{{#company}} or to their team at {{company}}{{/company}}.{{^brief}}{{#tech_stack}} Since most of your public code is {{tech_stack}}, your view on how it fits that stack would help us most.{{/tech_stack}}{{/brief}}

{{#detailed}}{{#expertise}}Your repositories also point to {{expertise}}, so a conversation could go straight to specifics.{{/expertise}}{{/detailed}}

Would you be open to a short reply or a quick call?

Thanks,
{{sender_name}}""",
    ),
    MessageTemplate(
        name="stack_fit",
        subject="{{#tech_stack}}A question about your {{tech_stack}} work{{/tech_stack}}"
        "{{^tech_stack}}A question about your open-source work{{/tech_stack}}",
        personalization_fields=["tech_stack", "recent_project", "company"],
        body="""Hi{{#first_name}} {{first_name}}{{/first_name}}{{^first_name}} there{{/first_name}},

{{#tech_stack}}Your public repositories are mostly {{tech_stack}}{{#recent_project}}, including {{recent_project}}{{/recent_project}}.{{/tech_stack}}{{^tech_stack}}{{#recent_project}}I noticed your work on {{recent_project}}.{{/recent_project}}{{/tech_stack}} I'm writing from {{sender_company}}: we build developer tooling that we would like people with hands-on experience to try.

{{^brief}}I'm not asking for a commitment: a short reply on whether tooling like ours would be useful to you{{#company}} at {{company}}{{/company}} would already help.{{/brief}}

{{#detailed}}{{#signal}}For context, what caught my attention was {{signal}}.{{/signal}}{{/detailed}}

Would a quick call make sense, or should I leave it here?

Best,
{{sender_name}}""",
    ),
    MessageTemplate(
        name="short_peer_note",
        subject="Quick question{{#recent_project}} about {{recent_project}}{{/recent_project}}",
        personalization_fields=["recent_project", "company"],
        length="short",
        body="""Hi{{#first_name}} {{first_name}}{{/first_name}}{{^first_name}} there{{/first_name}},

{{#recent_project}}I have been reading through {{recent_project}}.{{/recent_project}} I'm writing from {{sender_company}}; we make tools for developers{{#company}} at companies like {{company}}{{/company}}, and I would value your honest opinion on them.

Open to a short reply?

{{sender_name}}""",
    ),
)


@dataclass(frozen=True)
class SenderIdentity:
    """Who sends, where they can be reached by post, and where recipients opt out."""

    name: str
    company: str
    title: str | None
    postal_address: str | None
    unsubscribe_base: str
    signer: LinkSigner | None = None  # our own one-click opt-out links, when this job has them


def sender_identity(campaign: Campaign, settings: Settings, tenant_id: str | None = None) -> SenderIdentity:
    """The first sender profile, completed from settings (compliance reads the same values). Opt-outs
    go to the campaign's own URL, else this service's one-click links, else `CMO_UNSUBSCRIBE_URL`."""
    profile = campaign.messaging.sender_profiles[0] if campaign.messaging.sender_profiles else None
    signer = None if campaign.messaging.unsubscribe_url else link_signer(settings, tenant_id)
    return SenderIdentity(
        name=profile.name if profile else settings.cmo_sender_name,
        company=(profile.company if profile else None) or settings.cmo_sender_company,
        title=profile.title if profile else None,
        postal_address=(profile.postal_address if profile else None) or settings.cmo_sender_postal_address,
        unsubscribe_base=campaign.messaging.unsubscribe_url or (signer.base_url if signer else settings.cmo_unsubscribe_url),
        signer=signer,
    )


def unsubscribe_link(base: str, prospect_id: str) -> str:
    """The opt-out link with a per-recipient `u` parameter, keeping any query the base already has."""
    parts = urlsplit(base)
    query = urlencode([*parse_qsl(parts.query), ("u", prospect_id)])
    return urlunsplit(parts._replace(query=query))


def opt_out_url(prospect: Prospect, sender: SenderIdentity) -> str:
    """The recipient's own opt-out link."""
    return sender.signer.url(prospect) if sender.signer else unsubscribe_link(sender.unsubscribe_base, prospect.id)


def opt_out_headers(prospect: Prospect, sender: SenderIdentity) -> dict[str, str]:
    """`List-Unsubscribe` (RFC 2369), plus RFC 8058's one-click header only where the link honours a
    one-click POST, which only our own endpoint is known to do."""
    headers = {"List-Unsubscribe": f"<{opt_out_url(prospect, sender)}>"}
    if sender.signer:
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def footer(prospect: Prospect, sender: SenderIdentity) -> str:
    """CAN-SPAM identification and postal address, the GDPR Art. 14 notice and a separate opt-out line."""
    signature = ", ".join(part for part in (sender.name, sender.title) if part) + f" · {sender.company}"
    address = sender.postal_address or (
        "Postal address: MISSING - set a sender profile's postal_address or CMO_SENDER_POSTAL_ADDRESS before sending."
    )
    retention = prospect.privacy_settings.data_retention_days
    return (
        f"--\n{signature}\n{address}\n\n"
        f"This is a commercial message from {sender.company}.\n"
        f"Why you are hearing from us: we found your public GitHub profile (github.com/{prospect.username}) and "
        "your public activity there. We use your name, public profile and public repository activity only to "
        f"contact you about {sender.company}'s work related to it, on the basis of our legitimate interest "
        f"(GDPR Art. 6(1)(f)). We keep this data for at most {retention} days, or until you object. You have the "
        "right to access, correct or erase your data and to object to this processing at any time: reply to "
        "this email.\n\n"
        f"To opt out of all further messages: {opt_out_url(prospect, sender)}"
    )


def _evidence_rank(item: Evidence) -> tuple[datetime | None, int]:
    """Most recent first; on equal dates the most personal kind of evidence (ownership before stars)."""
    priority = next((i for i, kind in enumerate(_KIND_PRIORITY) if item.kind.startswith(kind)), len(_KIND_PRIORITY))
    return item.date, -priority


def _describe(item: Evidence) -> str:
    """A phrase stating exactly what one evidence item shows, e.g. "your 42 commits to alice/fastgrad"."""
    commits = f"your {item.count} commits to {item.repo}" if item.count else f"your commits to {item.repo}"
    if item.kind == "repo_owner":
        return f"{commits} (your own repository)"
    if item.kind.startswith("contributor_rank_"):
        return f"{commits} (#{item.kind.removeprefix('contributor_rank_')} among its contributors)"
    if item.kind == "stars" and item.count:
        return f"{item.repo} ({item.count} stars)"
    if item.kind == "push_event":
        return f"your recent pushes to {item.repo}"
    return commits if item.kind == "commits" else f"your work on {item.repo}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


def personalization_facts(prospect: Prospect) -> dict[str, Fact]:
    """Every fact a draft may state about the prospect, keyed by placeholder, each with its source.
    The name and company only when they can be quoted (`foundation.profile_text`); the bio never."""
    facts: dict[str, Fact] = {}
    name, first = full_name(prospect.name), first_name(prospect.name)
    if name:
        facts["name"] = Fact(name="name", value=name, source="profile.name")
    if first:
        facts["first_name"] = Fact(name="first_name", value=first, source="profile.name")
    company = quotable_company(prospect.company)
    if company:
        facts["company"] = Fact(name="company", value=company, source="profile.company")
    languages = prospect.developer_profile.languages[:3]
    if languages:
        facts["tech_stack"] = Fact(name="tech_stack", value=_join(languages), source="developer_profile.languages")
    areas = [area.replace("_", " ") for area in prospect.developer_profile.expertise_areas[:3]]
    if areas:
        facts["expertise"] = Fact(name="expertise", value=_join(areas), source="developer_profile.expertise_areas")
    located = [(item, signal.name) for signal in prospect.signals for item in signal.evidence if item.repo]
    if located:
        dated = [pair for pair in located if pair[0].date is not None]
        item, signal_name = max(dated, key=lambda pair: _evidence_rank(pair[0])) if dated else located[0]
        source = f"signal:{signal_name} repo:{item.repo}"
        facts["recent_project"] = Fact(name="recent_project", value=str(item.repo), source=source)
        facts["signal"] = Fact(name="signal", value=_describe(item), source=source)
    return facts


def _resolve_sections(text: str, present: Callable[[str], bool]) -> str:
    """Keep `{{#f}}` sections whose field is present and `{{^f}}` sections whose field is absent."""
    while True:
        resolved = _SECTION.sub(lambda m: m.group(3) if (m.group(1) == "#") == present(m.group(2)) else "", text)
        if resolved == text:
            return resolved
        text = resolved


def render_body(template: str, values: dict[str, str], flags: set[str]) -> tuple[str, list[str]]:
    """Fill a body; sentences that need a missing value are dropped. Returns (text, fields used)."""
    text = _resolve_sections(template, lambda f: f in values or f in flags)
    paragraphs: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines: list[str] = []
        for line in paragraph.splitlines():
            kept = [s for s in _SENTENCE_BREAK.split(line.strip()) if s and set(_FIELD.findall(s)) <= values.keys()]
            if kept:
                lines.append(" ".join(kept))
        if lines:
            paragraphs.append("\n".join(lines))
    text = "\n\n".join(paragraphs)
    used = list(dict.fromkeys(_FIELD.findall(text)))
    return _FIELD.sub(lambda m: values[m.group(1)], text), used


def render_subject(template: str, values: dict[str, str], flags: set[str], fallback: str) -> tuple[str, list[str]]:
    """Fill a subject; a missing value is removed with its connector ("... in {{company}}" -> "...")."""
    text = _resolve_sections(template, lambda f: f in values or f in flags)
    text = _SUBJECT_FIELD.sub(lambda m: m.group(0) if m.group(2) in values else "", text)
    text = " ".join(text.split()).strip(" -–—:,")
    if not text:
        text = fallback
    used = list(dict.fromkeys(_FIELD.findall(text)))
    filled = _FIELD.sub(lambda m: values[m.group(1)], text)
    return filled[:1].upper() + filled[1:], used
