"""The web app's tables: browser sessions, people's review decisions, the tenant's sender profile.

`web_sessions` rows stand for httpOnly cookies (only the token's hash is stored); `lead_reviews`
keeps the latest approve/reject decision per job and prospect; `tenants.sender` (encrypted JSON) is
the sender profile new jobs of the tenant use when their campaign names none.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("sender", sa.Text(), nullable=True))
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(32), sa.ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_sessions_key", "web_sessions", ["key_id"])
    op.create_table(
        "lead_reviews",
        sa.Column("job_id", sa.String(32), primary_key=True),
        sa.Column("prospect_id", sa.String(255), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(32), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["job_id", "prospect_id"], ["prospects.job_id", "prospects.prospect_id"], ondelete="CASCADE"),
        sa.CheckConstraint("decision IN ('approved', 'rejected')", name="ck_lead_reviews_decision"),
    )
    op.create_index("ix_lead_reviews_tenant", "lead_reviews", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_lead_reviews_tenant", "lead_reviews")
    op.drop_table("lead_reviews")
    op.drop_index("ix_web_sessions_key", "web_sessions")
    op.drop_table("web_sessions")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("sender")
