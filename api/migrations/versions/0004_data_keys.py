"""Per-tenant data keys (wrapped by the key-encryption key) for encryption at rest.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("data_keys"):
        return  # an offline `cmo run` created it first (storage/tables.py defines the same table)
    op.create_table(
        "data_keys",
        sa.Column("tenant_id", sa.String(255), nullable=False),
        sa.Column("purpose", sa.String(8), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("kek_id", sa.String(2048), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "purpose", "version"),
        sa.CheckConstraint("purpose IN ('data', 'index')", name="ck_data_keys_purpose"),
    )


def downgrade() -> None:
    op.drop_table("data_keys")
