"""SQLAlchemy 2 tables of the service. Every tenant-owned row carries `tenant_id` so that each
query can be scoped by it; artifacts, prospects and events are also keyed by job for idempotent
re-writes by a resumed worker. Columns holding personal data use the encrypted types of
`storage.encrypted_types` (issue 5: encryption at rest), so they can never be filtered in SQL.

The migrations in `api/migrations/versions` create exactly these tables and those of `orm_audit`,
`orm_privacy` and `storage.tables` (one metadata); a test compares the two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage import tables
from storage.encrypted_types import EncryptedBytes, EncryptedJSON, EncryptedText
from storage.tables import UTCDateTime, one_of, utcnow

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
EngagementType = Literal["opened", "clicked", "replied", "demo_booked", "trial_started", "contact_made", "unsubscribed"]
JOB_STATUSES: tuple[str, ...] = get_args(JobStatus)
FINISHED_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
ENGAGEMENT_TYPES: tuple[str, ...] = get_args(EngagementType)

JsonDocument = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = tables.metadata  # shared with the storage layer's own tables (data_keys)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy's documented spelling
        datetime: UTCDateTime(),
        dict[str, Any]: JsonDocument,
        JobStatus: String(16),
        EngagementType: String(32),
    }


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    webhook_url: Mapped[str | None] = mapped_column(String(2048))  # default for jobs without their own
    webhook_secret: Mapped[str | None] = mapped_column(EncryptedText())  # HMAC key, generated on first use
    privacy: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())  # masking rules, retention, pseudonym key
    sender: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())  # default sender profile of its jobs


class ApiKey(Base):
    """Only the SHA-256 of a key is stored: a leaked table does not leak working keys."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    role: Mapped[str] = mapped_column(String(16), default="member", server_default="member")  # 'admin' reads /api/audit


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(one_of("status", JOB_STATUSES), name="ck_jobs_status"),
        Index("ix_jobs_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_jobs_tenant_status_created", "tenant_id", "status", "created_at", "id"),
        Index("ix_jobs_status_heartbeat", "status", "heartbeat_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    status: Mapped[JobStatus] = mapped_column(default="queued")
    goal: Mapped[str] = mapped_column(Text)
    campaign: Mapped[dict[str, Any] | None] = mapped_column()
    max_prospects: Mapped[int | None] = mapped_column(Integer)
    webhook_url: Mapped[str | None] = mapped_column(String(2048))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())  # may name the top prospects
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # The worker lease (api/services/execution.py): owner, last sign of life, runs started.
    worker_id: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class JobEvent(Base):
    """The job's event log, numbered per job: the SSE `id` and the replay position."""

    __tablename__ = "job_events"
    __table_args__ = (Index("uq_job_events_dedupe", "job_id", "dedupe_key", unique=True),)

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON(), default=dict)  # names, emails, drafts
    dedupe_key: Mapped[str | None] = mapped_column(String(255))  # see append_event; unique per job
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Artifact(Base):
    """A file of a job, stored in the database; unique per (job, name) so re-writes replace it."""

    __tablename__ = "artifacts"
    __table_args__ = (Index("uq_artifacts_job_name", "job_id", "name", unique=True),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(EncryptedBytes(), deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProspectRow(Base):
    """One lead of one job (the pipeline's `Prospect` as JSON, plus what analytics groups by)."""

    __tablename__ = "prospects"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON())
    score: Mapped[float] = mapped_column(Float, default=0.0)
    verdict: Mapped[str | None] = mapped_column(String(16))


class EngagementEvent(Base):
    """Something a prospect did with our outreach; conversions are counted from these rows."""

    __tablename__ = "engagement_events"
    __table_args__ = (
        CheckConstraint(one_of("type", ENGAGEMENT_TYPES), name="ck_engagement_events_type"),
        ForeignKeyConstraint(["job_id", "prospect_id"], ["prospects.job_id", "prospects.prospect_id"], ondelete="CASCADE"),
        Index("ix_engagement_events_tenant_job", "tenant_id", "job_id"),
        Index("ix_engagement_events_job_prospect", "job_id", "prospect_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    job_id: Mapped[str] = mapped_column(String(32))
    prospect_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[EngagementType] = mapped_column()
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One attempt to POST one webhook event; every attempt of one event shares `delivery_id`."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_tenant_job", "tenant_id", "job_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2048))
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
    delivered: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookPending(Base):
    """A webhook event that still owes an attempt (migration 0016): resumed after a restart."""

    __tablename__ = "webhook_pending"
    __table_args__ = (Index("ix_webhook_pending_due", "lease_until"),)

    delivery_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(EncryptedBytes())  # the signed envelope; may carry an email
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column()
    lease_until: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatThread(Base):
    """A `POST /api/chat` conversation: its history, its goal and refinements, and its latest job."""

    __tablename__ = "chat_threads"
    __table_args__ = (Index("ix_chat_threads_tenant_updated", "tenant_id", "updated_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    state: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON(), default=dict)
    messages: Mapped[list[dict[str, Any]]] = mapped_column(EncryptedJSON(), default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
