"""Destinations (issue 16): the tenant's configured CRMs, marketing and analytics tools (their config,
token included, sealed with the tenant's data key) and which of them received which person, so
erasure reaches every recipient (GDPR Art. 17(2), 19).

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "destinations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pulled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("uq_destinations_tenant_name", "destinations", ["tenant_id", "name"], unique=True)
    op.create_table(
        "destination_deliveries",
        sa.Column("destination_id", sa.String(32), sa.ForeignKey("destinations.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("prospect_id", sa.String(255), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("remote_id", sa.String(255), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_destination_deliveries_tenant_prospect", "destination_deliveries", ["tenant_id", "prospect_id"])


def downgrade() -> None:
    op.drop_index("ix_destination_deliveries_tenant_prospect", "destination_deliveries")
    op.drop_table("destination_deliveries")
    op.drop_index("uq_destinations_tenant_name", "destinations")
    op.drop_table("destinations")
