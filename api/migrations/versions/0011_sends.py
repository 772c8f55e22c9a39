"""Sending from the service: the outbox of every job's messages, send runs, mailboxes, paused campaigns.

`sends` is keyed by (job, prospect, step), so a message is claimed at most once whoever asks;
`send_runs` records each `POST /api/jobs/{id}/send`; `send_mailboxes` remembers a From address's
first send (its warm-up); `campaign_pauses` holds the campaigns the kill switch stopped
(`api/core/orm_sends.py`).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "sends",
        sa.Column("job_id", sa.String(32), primary_key=True),
        sa.Column("prospect_id", sa.String(255), primary_key=True),
        sa.Column("step", sa.Integer(), primary_key=True),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("send_run_id", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("mailbox", sa.String(320), nullable=True),
        sa.Column("domain_sha256", sa.String(64), nullable=True),
        sa.Column("message_id", sa.String(255), nullable=True),
        sa.Column("provider_id", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bounced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("complained_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["job_id", "prospect_id"], ["prospects.job_id", "prospects.prospect_id"], ondelete="CASCADE"),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'bounced', 'rejected', 'deferred', 'skipped')", name="ck_sends_status"
        ),
    )
    op.create_index("ix_sends_mailbox_claimed", "sends", ["mailbox", "claimed_at"])
    op.create_index("ix_sends_job_created", "sends", ["job_id", "created_at"])
    op.create_index("ix_sends_message_id", "sends", ["message_id"])
    op.create_index("ix_sends_tenant", "sends", ["tenant_id"])
    op.create_table(
        "send_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(32), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("stopped", sa.String(64), nullable=True),
        sa.Column("stopped_detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'finished', 'failed')", name="ck_send_runs_status"),
    )
    op.create_index("ix_send_runs_job", "send_runs", ["job_id"])
    op.create_table(
        "send_mailboxes",
        sa.Column("mailbox", sa.String(320), primary_key=True),
        sa.Column("first_send_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "campaign_pauses",
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("campaign_pauses")
    op.drop_table("send_mailboxes")
    op.drop_index("ix_send_runs_job", "send_runs")
    op.drop_table("send_runs")
    for index in ("ix_sends_tenant", "ix_sends_message_id", "ix_sends_job_created", "ix_sends_mailbox_claimed"):
        op.drop_index(index, "sends")
    op.drop_table("sends")
