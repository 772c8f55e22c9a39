"""What `cmo sync`, the service and erasure need from a destination (CRM, marketing automation, analytics).

The framework maps a Prospect onto vendor field names with the destination's mapping file and hands
connectors a `DestinationContact`; connectors only speak the vendor's API (its SDK, or httpx where
there is none), honour its limits and report per record. Every connector takes a `base_url` override.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, Field

FieldValue = str | int | float | bool | None
DestinationKind = Literal["crm", "marketing", "analytics"]
ConflictPolicy = Literal["ours_wins", "theirs_wins", "fill_blanks"]
RecordOutcome = Literal["created", "updated", "unchanged", "conflict", "skipped", "failed"]


class DestinationContact(BaseModel):
    """One person as the mapping rendered them: `fields` are the platform's standard fields and
    `custom` its custom properties, both already named as the vendor names them. Nothing else leaves."""

    prospect_id: str
    email: str | None = None
    github_id: int | None = None
    github_url: str
    fields: dict[str, FieldValue] = Field(default_factory=dict)
    custom: dict[str, FieldValue] = Field(default_factory=dict)


class RecordResult(BaseModel):
    prospect_id: str
    outcome: RecordOutcome
    remote_id: str | None = None
    detail: str = ""
    conflicts: dict[str, tuple[FieldValue, FieldValue]] = Field(
        default_factory=dict, description="field -> (ours, theirs) where the policy kept theirs or refused"
    )


class PushReport(BaseModel):
    destination: str
    results: list[RecordResult] = Field(default_factory=list)
    list_id: str | None = None


class RemoteChange(BaseModel):
    """A status change pulled back: becomes an engagement event, a conversion or a suppression."""

    email: str | None = None
    github_url: str | None = None
    remote_id: str
    kind: Literal["lifecycle_stage", "deal_stage", "unsubscribed", "bounced", "demo_booked", "trial_started", "contact_made"]
    value: str = ""
    occurred_at: datetime


class AnalyticsEvent(BaseModel):
    """An engagement event forwarded to an analytics destination (no email: a pseudonymous user id)."""

    user_id: str = Field(description="pseudonymous: the prospect id, never an email")
    name: str
    occurred_at: datetime
    properties: dict[str, FieldValue] = Field(default_factory=dict)


class ForgetResult(BaseModel):
    destination: str
    remote_ids: list[str] = Field(default_factory=list)
    outcome: Literal["deleted", "gdpr_delete_requested", "not_found", "failed"]
    detail: str = ""


class ConnectionStatus(BaseModel):
    ok: bool
    detail: str


class Destination(Protocol):
    """A platform connector. `kind` says which calls make sense: analytics destinations implement
    `track` and `forget` and answer `push`/`pull_changes` with skipped/empty results."""

    name: str
    kind: DestinationKind

    def test_connection(self) -> ConnectionStatus: ...

    def push(self, contacts: Sequence[DestinationContact], *, list_name: str | None, policy: ConflictPolicy) -> PushReport: ...

    def pull_changes(self, since: datetime) -> list[RemoteChange]: ...

    def track(self, events: Sequence[AnalyticsEvent]) -> list[RecordResult]: ...

    def forget(self, *, email: str | None, github_url: str | None, prospect_id: str) -> ForgetResult: ...
