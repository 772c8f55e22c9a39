"""Encryption at rest: the JSON columns that hold personal data become TEXT for `enc1:` tokens.

`jobs.summary`, `job_events.data`, `prospects.data`, `chat_threads.state` and
`chat_threads.messages` are written through `EncryptedJSON` from now on (`artifacts.content` keeps
its binary type and is written through `EncryptedBytes`). A ciphertext is not JSON, so the
columns become TEXT; rows written before stay plaintext JSON text, which the encrypted types read
back as they are, and are sealed the next time they are written (no keys are needed to migrate).

`job_events` gets its own `dedupe_key` column: the deduplication lookup used a JSON operator on
`data`, which an encrypted document cannot answer. Existing keys move out of `data` into it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ENCRYPTED = {"jobs": ("summary",), "job_events": ("data",), "prospects": ("data",), "chat_threads": ("state", "messages")}
DEDUPE_FIELD = "_dedupe_key"


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    with op.batch_alter_table("job_events") as batch:
        batch.add_column(sa.Column("dedupe_key", sa.String(255), nullable=True))
    if _postgres():
        op.execute(
            f"UPDATE job_events SET dedupe_key = data ->> '{DEDUPE_FIELD}', data = data - '{DEDUPE_FIELD}' "
            f"WHERE data ? '{DEDUPE_FIELD}'"
        )
    else:
        op.execute(
            f"UPDATE job_events SET dedupe_key = json_extract(data, '$.{DEDUPE_FIELD}'), "
            f"data = json_remove(data, '$.{DEDUPE_FIELD}') WHERE json_extract(data, '$.{DEDUPE_FIELD}') IS NOT NULL"
        )
    op.create_index("uq_job_events_dedupe", "job_events", ["job_id", "dedupe_key"], unique=True)
    for table, columns in ENCRYPTED.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                # A token kept as a JSON string by a downgrade becomes a token again.
                content = f"{column} #>> '{{}}'"
                token = f"jsonb_typeof({column}) = 'string' AND left({content}, 5) = 'enc1:'"
                using = f"CASE WHEN {token} THEN {content} ELSE {column}::text END"
                batch.alter_column(column, existing_type=JSON, type_=sa.Text(), postgresql_using=using)


def downgrade() -> None:
    for table, columns in ENCRYPTED.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                # Tokens cannot be decrypted here: they are kept as JSON strings, never lost.
                using = f"CASE WHEN left({column}, 5) = 'enc1:' THEN to_jsonb({column}) ELSE {column}::jsonb END"
                batch.alter_column(column, existing_type=sa.Text(), type_=JSON, postgresql_using=using)
    if _postgres():
        op.execute(
            f"UPDATE job_events SET data = data || jsonb_build_object('{DEDUPE_FIELD}', dedupe_key) "
            "WHERE dedupe_key IS NOT NULL AND jsonb_typeof(data) = 'object'"
        )
    else:
        op.execute(
            f"UPDATE job_events SET data = json_set(data, '$.{DEDUPE_FIELD}', dedupe_key) "
            "WHERE dedupe_key IS NOT NULL AND substr(data, 1, 5) != 'enc1:'"
        )
    op.drop_index("uq_job_events_dedupe", table_name="job_events")
    with op.batch_alter_table("job_events") as batch:
        batch.drop_column("dedupe_key")
