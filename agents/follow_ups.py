"""Follow-up steps of a sequence: short notes that refer back to the first message, nothing new.

A campaign's `follow_up_days` (else `CMO_FOLLOW_UP_DAYS`, "3,7" by default) are days after the
first message; step N (2, 3, ...) waits the gap to the step before it, after that step was really
sent (`tools.mail.dispatch`). Each follow-up is drafted like the first message and from the same
evidence: without a model from a built-in template, with one through the run's model gate, checked
by the same grounding rules (`agents.drafting`) with a tighter word limit, and replaced by the
template when it stays ungrounded. What it may say about the recipient is only what the evidence
holds; what it says about the first message is that there was one, about the same subject.

Code, not the model, fixes the rest: the subject is the first message's (the step is threaded to
it by `In-Reply-To`, `tools.mail.message`), and the footer with the Art. 14 notice, the opt-out link
and the postal address is appended as on every draft. The compliance agent reviews every step.

Follow-ups are drafted only for prospects with an address: the others can never be sent anything,
and a model call per step for them would be spent for nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from agents.copy_templates import SenderIdentity, footer, opt_out_headers, personalization_facts, render_body
from agents.drafting import AGENT, DraftOut, ask_grounded, grounding_problems
from agents.grounding import evidence_bundle
from agents.model_calls import ModelGate
from foundation.schemas import Campaign, Fact, FollowUp, Message, Prospect
from foundation.settings import Settings

PROMPT = "copywriter_follow_up"  # prompts/copywriter_follow_up/<version>.md
MAX_FOLLOW_UP_WORDS = 80
FOOTER_START = "\n\n--\n"  # where `copy_templates.footer` begins in a draft's body

_GREETING = "Hi{{#first_name}} {{first_name}}{{/first_name}}{{^first_name}} there{{/first_name}},"
_SUBJECT = "{{#recent_project}}{{recent_project}}{{/recent_project}}{{^recent_project}}your open-source work{{/recent_project}}"
FOLLOW_UP_TEMPLATE = f"""{_GREETING}

A short follow-up to my earlier note about {_SUBJECT}, in case it got buried.

If tooling from {{{{sender_company}}}} could be useful to you, a one-line reply is enough. If not, no reply is needed.

Thanks,
{{{{sender_name}}}}"""
LAST_FOLLOW_UP_TEMPLATE = f"""{_GREETING}

One last note from me about {_SUBJECT}. If tooling from {{{{sender_company}}}} is not relevant to you right now, no reply is needed and I will not write about it again.

If it is, a short reply is all it takes.

Best,
{{{{sender_name}}}}"""


class FollowUpOut(BaseModel):
    """What the model returns for a follow-up: the body only (the subject is the first message's)."""

    body: str = Field(description="Follow-up body without signature footer, unsubscribe text or postal address.")
    facts_used: list[Fact] = Field(description="Every fact about the recipient the follow-up states, with its source.")


def sequence_days(campaign: Campaign, settings: Settings) -> list[int]:
    """The follow-up days of the campaign, else of `CMO_FOLLOW_UP_DAYS` ([] = a single message)."""
    days = campaign.campaign_settings.follow_up_days
    return list(days) if days is not None else settings.follow_up_days


def without_footer(message: Message) -> str:
    """A draft's text above the footer (of the first message: what a follow-up refers back to)."""
    return message.body.split(FOOTER_START, 1)[0]


def _template_text(prospect: Prospect, last: bool, sender: SenderIdentity) -> tuple[str, list[Fact]]:
    facts = personalization_facts(prospect)
    values = {name: fact.value for name, fact in facts.items()} | {"sender_name": sender.name, "sender_company": sender.company}
    body, used = render_body(LAST_FOLLOW_UP_TEMPLATE if last else FOLLOW_UP_TEMPLATE, values, set())
    return body, [facts[name] for name in used if name in facts]


def _follow_up(
    prospect: Prospect,
    step: dict[str, int],
    body: str,
    facts: list[Fact],
    sender: SenderIdentity,
    written_by: Literal["llm", "template"] = "template",
) -> FollowUp:
    """A follow-up draft: the first message's subject and variant, `body` plus the footer."""
    assert prospect.message is not None  # follow-ups exist only after a first message
    message = Message(
        subject=prospect.message.subject,
        body=f"{body.strip()}\n\n{footer(prospect, sender)}",
        variant=prospect.message.variant,
        template="follow_up",
        facts_used=facts,
        written_by=written_by,
        headers=opt_out_headers(prospect, sender),
    )
    return FollowUp(message=message, **step)


def _steps(days: list[int]) -> list[dict[str, int]]:
    """Step number, day and delay after the step before, for each follow-up day."""
    return [{"step": n + 2, "day": day, "delay_days": day - ([0, *days][n])} for n, day in enumerate(days)]


def template_follow_ups(prospect: Prospect, days: list[int], sender: SenderIdentity) -> list[FollowUp]:
    """Every follow-up of `prospect` (which has a first message) from the built-in templates."""
    if prospect.message is None:
        return []
    steps = _steps(days)
    return [
        _follow_up(prospect, step, *_template_text(prospect, n == len(steps) - 1, sender), sender) for n, step in enumerate(steps)
    ]


def _brief(prospect: Prospect, fu: FollowUp, last: bool, sender: SenderIdentity) -> str:
    """The user message: the evidence, the first message (no footer), the step and its template draft."""
    assert prospect.message is not None  # follow-ups exist only after a first message
    first = prospect.message
    return json.dumps(
        {
            "evidence": evidence_bundle(prospect),
            "first_message": {"subject": first.subject, "body": without_footer(first)},
            "step": fu.step,
            "days_after_first_message": fu.day,
            "last_step": last,
            "max_words": MAX_FOLLOW_UP_WORDS,
            "template_draft": {"body": without_footer(fu.message)},
            "sender": {"name": sender.name, "title": sender.title, "company": sender.company},
        },
        ensure_ascii=False,
        indent=1,
    )


def llm_follow_ups(
    gate: ModelGate,
    prospects: list[Prospect],
    days: list[int],
    sender: SenderIdentity,
    prompt: str,
    prompt_version: str = "v1",
) -> tuple[list[list[FollowUp]], Counter[str]]:
    """Every follow-up of every prospect through `gate` (all steps of all prospects concurrent), each
    checked like a first draft; a follow-up that stays ungrounded or got no reply is the template's.
    Returns the follow-ups per prospect and the fallbacks per reason (reported to the gate too)."""
    drafts = [template_follow_ups(p, days, sender) for p in prospects]
    items = [(p, i) for p, follow_ups in enumerate(drafts) for i in range(len(follow_ups))]
    if not items:
        return drafts, Counter()
    conversations: list[list[BaseMessage]] = []
    for p, i in items:
        brief = _brief(prospects[p], drafts[p][i], i == len(days) - 1, sender)
        conversations.append([SystemMessage(prompt), HumanMessage(brief)])

    def judge(n: int, answer: FollowUpOut) -> list[str]:
        p, i = items[n]
        as_draft = DraftOut(subject=drafts[p][i].message.subject, body=answer.body, facts_used=answer.facts_used)
        return grounding_problems(as_draft, prospects[p], max_words=MAX_FOLLOW_UP_WORDS)

    answers, why_not = ask_grounded(gate, FollowUpOut, conversations, judge, prompt_version)
    for (p, i), answer in zip(items, answers, strict=True):
        if answer is not None:
            step = drafts[p][i].model_dump(include={"step", "day", "delay_days"})
            drafts[p][i] = _follow_up(prospects[p], step, answer.body, answer.facts_used, sender, "llm")
    fallbacks = Counter(why_not.values())
    for reason, count in fallbacks.items():
        gate.fell_back(AGENT, f"follow-up: {reason}", count)
    return drafts, fallbacks
