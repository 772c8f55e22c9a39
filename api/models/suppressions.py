"""Request and response bodies of `/api/suppressions`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from tools.suppression import SuppressionKind, normalize_entry

# What a client may give as the reason; unsubscribes, objections and erasures are recorded by the
# unsubscribe endpoint and the erasure service, never claimed through this API.
ClientReason = Literal["manual", "objection"]


class SuppressionCreate(BaseModel):
    """One identifier never to contact; the value is checked against its kind and normalised."""

    model_config = ConfigDict(extra="forbid")

    kind: SuppressionKind = Field(description="What `value` is: a GitHub user id, login, email address or email domain.")
    value: str = Field(min_length=1, max_length=320, examples=["someone@example.com"])
    reason: ClientReason = Field(
        default="manual", description="`objection` (GDPR Art. 21) is permanent: it can never be deleted."
    )

    @field_validator("value")
    @classmethod
    def _normalise(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        return normalize_entry(kind, value)[1] if kind else value  # a bad kind is reported on its own


class Suppression(BaseModel):
    """A suppressed identifier. `value` is null for an erasure tombstone (no personal data is kept)."""

    id: str = Field(examples=["sup_3f9a1c0e5b7d2a4c6e8f"])
    kind: SuppressionKind
    value: str | None
    reason: str
    source: str
    permanent: bool = Field(description="Objections, unsubscribes and erasures cannot be deleted.")
    created_at: datetime


class SuppressionPage(BaseModel):
    """One page, newest first; pass `next_cursor` back as `?cursor=` for the next (null at the end)."""

    items: list[Suppression]
    next_cursor: str | None


class SuppressionImport(BaseModel):
    """The outcome of a CSV import: rows read, and how many were new."""

    rows: int
    created: int
