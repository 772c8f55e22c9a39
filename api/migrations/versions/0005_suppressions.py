"""Suppressions (blind-indexed), objections and erasure tombstones.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "suppressions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value_index", sa.String(128), nullable=False),
        sa.Column("value_enc", sa.Text(), nullable=True),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("kind IN ('github_id', 'login', 'email', 'domain')", name="ck_suppressions_kind"),
        sa.CheckConstraint(
            "reason IN ('manual', 'import', 'unsubscribe', 'objection', 'erasure')", name="ck_suppressions_reason"
        ),
    )
    op.create_index("uq_suppressions_tenant_kind_value", "suppressions", ["tenant_id", "kind", "value_index"], unique=True)
    op.create_index("ix_suppressions_tenant_created", "suppressions", ["tenant_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_table("suppressions")
