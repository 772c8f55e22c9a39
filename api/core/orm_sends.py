"""Tables of the service's sending (`api.services.sends`): the outbox of every job's messages, the
send runs that work through it, the mailboxes' first sends (warm-up) and paused campaigns.

`sends` is the service's outbox, the counterpart of the CLI's `$CMO_HOME/outbox.sqlite`
(`tools.mail.outbox`, whose docstring explains the states): one row per (job, prospect, step), the
primary key, so a retried request or a second worker can never claim a message twice. The campaign
is the job. A row is written `pending` and committed before the SMTP call, then finished. `skipped`
rows are a send-time check that refused the message (suppressed, a role account ...): they may be
claimed again by a later run, as `deferred` ones are. Rows go with their lead (foreign key with
cascade): an erased person leaves no send row behind, and their suppression tombstone keeps them
from being mailed again.

Nothing here names the recipient: no address, and the recipient's domain (for the per-domain
throttle, which only compares domains) as a SHA-256. The server's answer (`detail`) may quote the
address, so it is encrypted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.core.orm import Base
from storage.encrypted_types import EncryptedText
from storage.tables import one_of, utcnow

OutboxStatus = Literal["pending", "sent", "bounced", "rejected", "deferred", "skipped"]
OUTBOX_STATUSES: tuple[str, ...] = get_args(OutboxStatus)
SendRunStatus = Literal["queued", "running", "finished", "failed"]
SEND_RUN_STATUSES: tuple[str, ...] = get_args(SendRunStatus)


class SendRow(Base):
    """One message of one job: its state in the outbox and what came back for it."""

    __tablename__ = "sends"
    __table_args__ = (
        ForeignKeyConstraint(["job_id", "prospect_id"], ["prospects.job_id", "prospects.prospect_id"], ondelete="CASCADE"),
        CheckConstraint(one_of("status", OUTBOX_STATUSES), name="ck_sends_status"),
        Index("ix_sends_mailbox_claimed", "mailbox", "claimed_at"),
        Index("ix_sends_job_created", "job_id", "created_at"),
        Index("ix_sends_message_id", "message_id"),
        Index("ix_sends_tenant", "tenant_id"),
    )

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    step: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)  # `msg_…`: the listing's cursor
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    send_run_id: Mapped[str | None] = mapped_column(String(32))  # the run that last touched it
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(EncryptedText())
    mailbox: Mapped[str | None] = mapped_column(String(320))  # the From address (ours, not the recipient's)
    domain_sha256: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(255))
    provider_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    bounced_at: Mapped[datetime | None] = mapped_column()
    complained_at: Mapped[datetime | None] = mapped_column()
    replied_at: Mapped[datetime | None] = mapped_column()


class SendRun(Base):
    """One `POST /api/jobs/{id}/send`: what it asked for and, once done, what it did."""

    __tablename__ = "send_runs"
    __table_args__ = (
        CheckConstraint(one_of("status", SEND_RUN_STATUSES), name="ck_send_runs_status"),
        Index("ix_send_runs_job", "job_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    dry_run: Mapped[bool] = mapped_column(default=False)
    limit: Mapped[int | None] = mapped_column()
    requested_by: Mapped[str] = mapped_column(String(32))  # the API key id
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)  # statuses, already_sent, not_approved
    stopped: Mapped[str | None] = mapped_column(String(64))
    stopped_detail: Mapped[str | None] = mapped_column(EncryptedText())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class SendMailbox(Base):
    """A From address's first send from this service: its warm-up starts then."""

    __tablename__ = "send_mailboxes"

    mailbox: Mapped[str] = mapped_column(String(320), primary_key=True)
    first_send_at: Mapped[datetime | None] = mapped_column()


class CampaignPause(Base):
    """A job whose campaign the kill switch paused, for good: nothing more is sent for it."""

    __tablename__ = "campaign_pauses"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
