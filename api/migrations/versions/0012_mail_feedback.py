"""Suppressions may record a hard bounce (`bounce`) or a spam complaint (`complaint`), the reasons the
mail providers' feedback (SES notifications, DSNs, ARF reports) gives for never mailing an address again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_OLD = "reason IN ('manual', 'import', 'unsubscribe', 'objection', 'erasure')"
_NEW = "reason IN ('manual', 'import', 'bounce', 'unsubscribe', 'complaint', 'objection', 'erasure')"


def _reasons(check: str) -> None:
    with op.batch_alter_table("suppressions") as batch:
        batch.drop_constraint("ck_suppressions_reason", type_="check")
        batch.create_check_constraint("ck_suppressions_reason", check)


def upgrade() -> None:
    _reasons(_NEW)


def downgrade() -> None:
    op.execute("DELETE FROM suppressions WHERE reason IN ('bounce', 'complaint')")
    _reasons(_OLD)
