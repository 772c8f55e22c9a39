"""Worker leases on jobs: who runs a job, its last heartbeat and how many attempts it took.

A worker claims a job by setting `worker_id` and `heartbeat_at` in one conditional UPDATE and
refreshes the heartbeat while it runs; another worker may take over a `running` job only once the
heartbeat has lapsed. `attempts` bounds the retries of a job that kills every worker running it.
The index serves the recovery sweep, which looks for queued and lapsed jobs across all tenants.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("worker_id", sa.String(128), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_jobs_status_heartbeat", "jobs", ["status", "heartbeat_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_status_heartbeat", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("attempts")
        batch.drop_column("heartbeat_at")
        batch.drop_column("worker_id")
