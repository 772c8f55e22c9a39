"""The append-only, hash-chained audit trail, and API key roles (an 'admin' key reads the trail).

The database itself refuses to change history: triggers raise on UPDATE, DELETE and (Postgres)
TRUNCATE of `audit_log`, for every role including the table's owner, and Postgres also revokes
those privileges from PUBLIC. The triggers stop mistakes and a compromised application; an owner
or superuser can still disable them, which is what the hash chain (`cmo audit verify`) is for.

Recommended Postgres deployment: run `cmo db upgrade` as a migration role that owns the tables,
and give the service's own role only what it needs on the trail, so even a disabled trigger
cannot be abused through the application's credentials:

    GRANT SELECT, INSERT ON audit_log TO cmo_app;
    GRANT SELECT, UPDATE ON audit_head TO cmo_app;   -- the chain's head row (serialises appends)
    -- and no UPDATE, DELETE or TRUNCATE on audit_log (PUBLIC has none: revoked below)

SQLite has no roles; its triggers are the guard there. A later migration that rebuilds
`audit_log` with `batch_alter_table` (copy and rename) must re-create the SQLite triggers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
GENESIS_HASH = "0" * 64  # the prev_hash of the first record (api.core.orm_audit.GENESIS_HASH)

POSTGRES_GUARD = [
    """
    CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
    END
    $$
    """,
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()",
    "REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC",
]
SQLITE_GUARD = [
    f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {verb} refused'); END"
    for verb in ("UPDATE", "DELETE")
]


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="member"))
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=True),  # deliberately no FK: tenants cascade, history does not
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("prospect_ids", JSON, nullable=True),
        sa.Column("artifact_id", sa.String(32), nullable=True),
        sa.Column("detail", JSON, nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("outcome", sa.Integer(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_tenant_seq", "audit_log", ["tenant_id", "seq"])
    op.create_index("ix_audit_log_job", "audit_log", ["job_id"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])
    for statement in POSTGRES_GUARD if op.get_bind().dialect.name == "postgresql" else SQLITE_GUARD:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_table("audit_log")  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_log_refuse_change()")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("role")
