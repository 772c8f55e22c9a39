"""Bodies of `/api/jobs/{id}/leads`: a job's leads for a person to review, edit and decide on."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from api.core.orm_web import ReviewDecision
from foundation.limits import MAX_PROSPECTS
from foundation.schemas import Prospect
from foundation.schemas.prospect import Verdict
from foundation.text import is_one_header_line

MAX_SUBJECT_CHARS = 200
MAX_BODY_CHARS = 20_000
MAX_REASON_CHARS = 1000
_BODY_CONTROLS_ALLOWED = frozenset("\t\n\r")


def _one_line(text: str) -> str:
    """A mail subject is one header line: no CR/LF (header injection) or other control character."""
    if not is_one_header_line(text):
        raise ValueError("the subject must be one line, without control characters (CR, LF, tab, NUL ...)")
    if not text.strip():
        raise ValueError("the subject is blank")
    return text


def _plain_text(text: str) -> str:
    """A body is text: line breaks and tabs, but no other control character (NUL, escapes)."""
    if any(unicodedata.category(c) == "Cc" and c not in _BODY_CONTROLS_ALLOWED for c in text):
        raise ValueError("the body may not contain control characters other than tabs and line breaks")
    if not text.strip():
        raise ValueError("the body is blank")
    return text


Subject = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SUBJECT_CHARS), AfterValidator(_one_line)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=MAX_BODY_CHARS), AfterValidator(_plain_text)]
Reason = Annotated[str, StringConstraints(max_length=MAX_REASON_CHARS)]


class LeadSummary(BaseModel):
    """One lead in the job's list: who, how good, what the draft is called and what was decided.
    Personal fields are masked by the tenant's rules, as its leads downloads are."""

    prospect_id: str
    username: str
    name: str | None
    company: str | None
    location: str | None
    country: str | None
    region: str | None
    email: str | None
    email_source: Literal["profile", "commit"] | None
    score: float
    verdict: Verdict | None = Field(description="The lead's verdict now: a person's decision, else the compliance review's.")
    signals: list[str]
    subject: str | None = Field(description="The draft's subject (null: no draft).")
    follow_ups: int = Field(
        default=0, description="Follow-up steps of the sequence after the first message (the lead's `follow_ups`)."
    )
    flags: list[str] = Field(description="The compliance review's reasons, `<rule code>: <explanation>`.")
    decision: ReviewDecision | None = Field(description="A person's decision (null: nobody decided yet).")
    decided_at: datetime | None


class LeadList(BaseModel):
    """Every lead of the job, best first (score, then login: the run's ranking)."""

    items: list[LeadSummary]
    total: int


class LeadDecision(BaseModel):
    """A person's latest decision on the lead."""

    model_config = ConfigDict(from_attributes=True)

    decision: ReviewDecision
    reason: str | None
    decided_by: str = Field(description="The id of the API key that decided.")
    decided_at: datetime
    edited: bool = Field(description="The person had edited the draft they decided on.")


class LeadDetail(BaseModel):
    """The whole lead (evidence, score explanation, provenance, draft, compliance review; masked as
    the leads downloads are) and a person's decision on it. `prospect.compliance` is the review of
    the rules (re-run after an edit); when `review` is set, its decision is the lead's verdict."""

    prospect: Prospect
    review: LeadDecision | None


class DraftEdit(BaseModel):
    """A person's version of the draft; variant, template, headers and facts stay as they were."""

    model_config = ConfigDict(extra="forbid")

    subject: Subject
    body: Body


class ReviewRequest(BaseModel):
    """A person's decision on one lead; a rejection says why."""

    model_config = ConfigDict(extra="forbid")

    decision: ReviewDecision
    reason: Reason | None = None

    @model_validator(mode="after")
    def _rejection_has_reason(self) -> Self:
        if self.decision == "rejected" and not (self.reason or "").strip():
            raise ValueError("a rejection needs a reason: say why this lead must not be contacted")
        return self


class BulkApproval(BaseModel):
    """Approve several leads at once: the listed ones, or (null) every lead that needs review."""

    model_config = ConfigDict(extra="forbid")

    prospect_ids: list[str] | None = Field(default=None, max_length=MAX_PROSPECTS)
    reason: Reason | None = None


class Skipped(BaseModel):
    prospect_id: str
    reason: str


class BulkApprovalResult(BaseModel):
    approved: list[str]
    skipped: list[Skipped] = Field(description="Leads not approved: unknown, or rejected by a compliance rule (its reasons).")
