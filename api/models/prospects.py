"""Body of `GET /api/prospects/{id}/export`: everything a tenant holds about one person (GDPR Art. 15),
with where each record came from, when, on what basis and until when it is kept."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Source(BaseModel):
    """Where a piece of the record came from: a GitHub API call or a page behind a signal."""

    field: str = Field(description="The record's field (or `signal:<name>`) this source supports.")
    source: str = Field(description="GitHub API request or URL, e.g. `GET /users/octocat`.")
    fetched_at: datetime | None = None


class ProspectRecord(BaseModel):
    """One job's record of the person, as stored, with its provenance."""

    job_id: str
    collected_at: datetime = Field(description="When the job began collecting (the retention clock starts here).")
    expires_at: datetime = Field(description="When retention deletes this record.")
    lawful_basis: str = Field(description="Why the record may be processed at all.")
    outreach_basis: str | None = Field(default=None, description="The basis compliance recorded for contacting them.")
    sources: list[Source]
    record: dict[str, Any] = Field(description="The stored prospect record (profile, signals, score, message, review).")


class DraftedMessage(BaseModel):
    job_id: str
    subject: str
    body: str
    variant: str
    written_by: str


class ExportedEngagement(BaseModel):
    job_id: str
    prospect_id: str
    type: str
    occurred_at: datetime


class LoggedEvent(BaseModel):
    """A job event about the person (what the pipeline did with their data, and when)."""

    job_id: str
    seq: int
    event: str
    created_at: datetime
    data: dict[str, Any]


class SuppressionEntry(BaseModel):
    id: str
    kind: str
    reason: str
    created_at: datetime


class SuppressionStatus(BaseModel):
    suppressed: bool = Field(description="Whether any of their identifiers (or their email's domain) is suppressed.")
    entries: list[SuppressionEntry]


class ExportedVector(BaseModel):
    """A vector derived from the person (their embedded profile), listed without its values."""

    store: str = Field(description="embedded, pinecone or pgvector.")
    where: str = Field(description="The embedding space (embedded, pgvector) or the Pinecone namespace.")
    id: str
    metadata: dict[str, str | int | float | bool | list[str]]
    dimensions: int


class SubjectExport(BaseModel):
    """Everything held about one person in the tenant."""

    prospect_ids: list[str]
    logins: list[str]
    emails: list[str]
    github_ids: list[int]
    generated_at: datetime
    purposes: str
    records: list[ProspectRecord]
    messages: list[DraftedMessage]
    engagement_events: list[ExportedEngagement]
    job_events: list[LoggedEvent]
    suppression: SuppressionStatus
    audit_record_ids: list[str] = Field(description="Audit records naming them (reads, exports) before this export.")
    vectors: list[ExportedVector] = Field(
        default_factory=list, description="Vectors derived from them in the tenant's namespace of every vector store."
    )
