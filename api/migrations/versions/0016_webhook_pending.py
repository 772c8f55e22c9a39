"""Webhook deliveries that still owe an attempt, so a restart (or another process) resumes them.

A row lives from the first attempt until the event is delivered or given up; `lease_until` says which
process is sleeping on it, and a row whose lease ran out is claimed by the next sweep. The body is the
signed envelope, sealed with the tenant's data key (prospect.enriched carries an email).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_pending",
        sa.Column("delivery_id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_webhook_pending_due", "webhook_pending", ["lease_until"])


def downgrade() -> None:
    op.drop_index("ix_webhook_pending_due", "webhook_pending")
    op.drop_table("webhook_pending")
