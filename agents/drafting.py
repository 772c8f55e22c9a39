"""What every model-written outreach text shares, first message and follow-up alike: the grounding
check (nothing the evidence does not contain) and the ask-check-retry loop around the model gate.

Kept apart from `agents.copywriter` so the follow-up drafting (`agents.follow_ups`) and the first
message use one loop and one rule set, not two copies that could drift.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from langchain_core.messages import BaseMessage, HumanMessage
from pydantic import BaseModel, Field

from agents.grounding import claim_problems, fact_problems, greeting_problems, reference_text
from agents.model_calls import ModelGate, ModelUnavailable
from foundation.schemas import Fact, Prospect
from foundation.text import is_one_header_line

AGENT = "copywriter"
MAX_ATTEMPTS = 3  # the first draft plus two retries
MAX_WORDS = {"short": 90, "medium": 150, "long": 220}
MAX_SUBJECT_CHARS = 90
T = TypeVar("T", bound=BaseModel)


class DraftOut(BaseModel):
    """What the model returns; the footer is not part of it because code appends the footer."""

    subject: str = Field(description="Subject line, plain and specific, no Re:/Fwd:, no urgency.")
    body: str = Field(description="Message body without signature footer, unsubscribe text or postal address.")
    facts_used: list[Fact] = Field(description="Every fact about the recipient the draft states, with its source.")


def grounding_problems(draft: DraftOut, prospect: Prospect, length: str = "medium", *, max_words: int | None = None) -> list[str]:
    """Everything in a model draft that is not backed by the evidence (empty list = grounded);
    `max_words` overrides the template length's limit (follow-ups are shorter)."""
    limit = max_words or MAX_WORDS[length]
    reference = reference_text(prospect)
    text = f"{draft.subject}\n{draft.body}"
    problems = ["unfilled {{placeholder}} left in the text"] if "{{" in text or "}}" in text else []
    if not draft.subject.strip() or not draft.body.strip():
        problems.append("subject and body must not be empty")
    if not is_one_header_line(draft.subject):
        problems.append("subject must be one line without control characters")
    if len(draft.subject) > MAX_SUBJECT_CHARS:
        problems.append(f"subject longer than {MAX_SUBJECT_CHARS} characters")
    if len(draft.body.split()) > limit:
        problems.append(f"body longer than {limit} words")
    problems += claim_problems(text, prospect, reference)
    problems += greeting_problems(draft.body, prospect)
    for fact in draft.facts_used:
        problems += fact_problems(fact, prospect, reference)
    return problems


def ask_grounded(
    gate: ModelGate,
    schema: type[T],
    conversations: Sequence[list[BaseMessage]],
    judge: Callable[[int, T], list[str]],
    prompt_version: str,
) -> tuple[list[T | None], dict[int, str]]:
    """Ask the model for one `schema` answer per conversation, each round's calls concurrent through
    `gate`; an answer `judge(i, answer)` finds problems with goes back with the problems listed, up to
    `MAX_ATTEMPTS`. Returns the accepted answers (None where none was) and, for those, why not: the
    reason the agent reports when it falls back (`ModelGate.fell_back`)."""
    accepted: list[T | None] = [None] * len(conversations)
    why_not: dict[int, str] = {}
    pending = list(range(len(conversations)))
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if not pending:
            break
        answers = gate.structured_many(AGENT, schema, [conversations[i] for i in pending], prompt_version, attempt=attempt)
        retry: list[int] = []
        for i, answer in zip(pending, answers, strict=True):
            if isinstance(answer, ModelUnavailable):  # the gate has retried already; no point asking again
                why_not[i] = answer.fallback_reason
                continue
            draft = answer.parsed
            if draft is None:
                problems = [f"the answer was not a valid {schema.__name__} ({answer.problem or 'no structured output'})"]
            else:
                problems = judge(i, draft)
                if not problems:
                    accepted[i] = draft
                    continue
                gate.rejected(AGENT, "; ".join(problems), answer)  # parsed, but not grounded in the evidence
            why_not[i] = f"ungrounded or invalid after {MAX_ATTEMPTS} attempts"
            previous = f"\nYour draft was:\n{draft.model_dump_json()}" if draft else ""
            problem_list = "\n".join(f"- {p}" for p in problems)
            conversations[i].append(
                HumanMessage(f"The draft was rejected:\n{problem_list}{previous}\nReturn a corrected {schema.__name__}.")
            )
            retry.append(i)
        pending = retry
    return accepted, {i: reason for i, reason in why_not.items() if accepted[i] is None}
