"""Tables of the audit trail (api/services/audit.py); registered on `orm.Base`.

`audit_log` is append-only (the migration installs triggers that refuse UPDATE, DELETE and
TRUNCATE) and hash-chained: each row's `hash` covers the previous row's hash and the row itself,
so editing or removing any row breaks every later link. `tenant_id` is a plain column, not a
foreign key: deleting a tenant must never need to delete (or cascade into) its audit history.

`audit_head` is the chain's single mutable row: appenders update it first, which serialises them
on both databases (a row lock in Postgres, the write lock in SQLite) so concurrent writers never
fork the chain, and it lets `cmo audit verify` notice rows missing from the end.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.core.orm import Base, JsonDocument
from storage.tables import utcnow

GENESIS_HASH = "0" * 64
HEAD_ID = 1


class AuditRecord(Base):
    """Who did what to which personal data, when and from where: ids only, never emails or names."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_tenant_seq", "tenant_id", "seq"),
        Index("ix_audit_log_job", "job_id"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    tenant_id: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str | None] = mapped_column(String(32))
    prospect_ids: Mapped[list[str] | None] = mapped_column(JsonDocument)
    artifact_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any] | None] = mapped_column()
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    outcome: Mapped[int | None] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The last link of the chain (one row, id 1): its seq and hash."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
