"""The storage layer's own tables and column types, on the metadata the service's ORM also uses.

Why here and not in the service: the keyring (`storage.keyring`) keeps every tenant's wrapped data
keys in `data_keys`, and `cmo run` needs that table without loading the service's ORM or Alembic.
The service's declarative `Base` (api/core/orm.py) shares `metadata`, so its migrations check still
sees every table; migration 0004 creates `data_keys` exactly as defined here (and skips it when an
offline run created it first).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import CheckConstraint, Column, DateTime, Integer, LargeBinary, MetaData, String, Table, TypeDecorator
from sqlalchemy.engine import Dialect

metadata = MetaData()

KEY_PURPOSES: tuple[str, ...] = ("data", "index")


def utcnow() -> datetime:
    return datetime.now(UTC)


def one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK constraint's SQL: `column IN ('a', 'b')`."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware, SQLite included
    (SQLite has no time zones, so naive values read back are UTC by construction)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Every tenant's data keys (`purpose='data'`, versioned) and blind-index key (`'index'`), WRAPPED by
# the key-encryption key, never in the clear: a copy of the database alone decrypts nothing. The
# primary key keeps two processes that meet a new tenant at once from both creating its first key
# (the loser's insert fails and it reads the winner's). No foreign key to `tenants`: CLI runs encrypt
# under the `local` tenant, which has no row there.
data_keys = Table(
    "data_keys",
    metadata,
    Column("tenant_id", String(255), primary_key=True),
    Column("purpose", String(8), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("kek_id", String(2048), nullable=False),  # which KEK wrapped it: rotation re-wraps the others
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
    CheckConstraint(one_of("purpose", KEY_PURPOSES), name="ck_data_keys_purpose"),
)
