"""The tenant's own secrets are encrypted at rest too: the webhook signing secret and the masking
rules' pseudonym key (inside `tenants.privacy`). Either in a database dump would let its reader
forge webhooks or reverse `hash`-masked emails by hashing a list of candidates.

Both columns become TEXT for `enc1:` tokens; values written before stay readable as they are and
are sealed the next time they are written (no keys are needed to migrate).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.alter_column("webhook_secret", existing_type=sa.String(64), type_=sa.Text())
        batch.alter_column("privacy", existing_type=JSON, type_=sa.Text(), postgresql_using="privacy::text")


def downgrade() -> None:
    # Tokens cannot be decrypted here: they are kept (as JSON strings in `privacy`), never lost, and
    # `webhook_secret` stays TEXT because a sealed secret no longer fits the old 64 characters.
    using = "CASE WHEN left(privacy, 5) = 'enc1:' THEN to_jsonb(privacy) ELSE privacy::jsonb END"
    with op.batch_alter_table("tenants") as batch:
        batch.alter_column("privacy", existing_type=sa.Text(), type_=JSON, postgresql_using=using)
