"""The audit trail: who read or changed personal data, what, when and from where.

Every API route that touches personal data declares `dependencies=[audited("job.read")]`
(api/routers/auditing.py), which appends its record with `append_grouped`; services and CLI commands
that change data (erasure, objections, the purge) call `record_audit` in their own transaction, so
the record commits with the change it describes or not at all.

Records are chained: `hash = sha256(prev_hash + canonical JSON of the record)`. Appends serialise
on the `audit_head` row (a row lock in Postgres, the write lock in SQLite), so concurrent writers
never fork the chain; call `record_audit` last before committing, to hold that lock briefly. The
records of concurrent requests are appended in batches (group commit): one lock per batch.
`verify_chain` recomputes the chain (`cmo audit verify`). Records carry ids only: a value that
looks like an email address is refused, so a careless caller cannot leak one into the trail.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import json
import os
import re
import secrets
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.database import Database
from api.core.orm_audit import GENESIS_HASH, HEAD_ID, AuditHead, AuditRecord
from api.core.principal import Principal
from api.services.errors import InvalidInput
from api.services.pagination import decode_cursor, encode_cursor
from storage.tables import utcnow

ACTION = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
HASHED_FIELDS = (
    "seq", "id", "at", "tenant_id", "actor", "action", "job_id", "prospect_ids",
    "artifact_id", "detail", "ip", "user_agent", "outcome",
)  # fmt: skip
MAX_USER_AGENT = 512


@dataclass(frozen=True)
class Origin:
    """Where a request came from: the client's address and the user agent it announced."""

    ip: str | None
    user_agent: str | None


def canonical_json(value: Any) -> str:
    """One spelling per value (sorted keys, no spaces, UTF-8): what the chain hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_iso)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def record_hash(prev_hash: str, record: AuditRecord) -> str:
    """The hash a record must carry, given its predecessor's hash."""
    fields = {name: getattr(record, name) for name in HASHED_FIELDS}
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode()).hexdigest()


def principal_actor(principal: Principal) -> str:
    return f"key:{principal.key_id}"


def cli_actor() -> str:
    """'cli:<os user>' for records written by `cmo` commands (the uid when the user has no name)."""
    try:
        return f"cli:{getpass.getuser()}"
    except OSError:
        return f"cli:uid-{os.getuid()}"


def _ids_only(action: str, values: Any) -> Any:
    """The value as stored (a JSON round trip), refusing anything that looks like an email address."""
    normalised = json.loads(canonical_json(values))
    if EMAIL.search(canonical_json(normalised)):
        raise ValueError(f"audit record {action!r}: ids only, never email addresses")
    return normalised


async def record_audit(
    session: AsyncSession,
    *,
    tenant_id: str | None,
    actor: str,
    action: str,
    job_id: str | None = None,
    prospect_ids: Sequence[str] | None = None,
    artifact_id: str | None = None,
    detail: dict[str, Any] | None = None,
    origin: Origin | None = None,
    outcome: int | None = None,
) -> AuditRecord:
    """Append one record in the caller's transaction (the caller commits); returns it, detached.

    `actor`: 'key:<key id>' (`principal_actor`), 'cli:<os user>', 'public' or 'system'. `action`: a
    dotted verb ('job.read', 'prospect.erase'). `origin`: the request's client, if a request asked.
    """
    record = new_record(
        tenant_id=tenant_id, actor=actor, action=action, job_id=job_id, prospect_ids=prospect_ids,
        artifact_id=artifact_id, detail=detail, origin=origin, outcome=outcome,
    )  # fmt: skip
    await _append(session, [record])
    return record


def new_record(
    *,
    tenant_id: str | None,
    actor: str,
    action: str,
    job_id: str | None,
    prospect_ids: Sequence[str] | None,
    artifact_id: str | None,
    detail: dict[str, Any] | None,
    origin: Origin | None,
    outcome: int | None,
) -> AuditRecord:
    """A record not yet in the chain (no seq, time or hashes), its ids checked: for `record_audit`
    and `append_grouped`."""
    if not ACTION.fullmatch(action) or not actor:
        raise ValueError(f"audit record needs an actor and a dotted action, got {actor!r}, {action!r}")
    _ids_only(action, [tenant_id, job_id, artifact_id])
    user_agent = origin.user_agent if origin is not None else None
    return AuditRecord(
        id=f"aud_{secrets.token_hex(10)}",
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        job_id=job_id,
        prospect_ids=_ids_only(action, list(prospect_ids)) if prospect_ids is not None else None,
        artifact_id=artifact_id,
        detail=_ids_only(action, detail) if detail is not None else None,
        ip=origin.ip if origin is not None else None,
        user_agent=user_agent[:MAX_USER_AGENT] if user_agent else None,
        outcome=outcome,
    )


async def _append(session: AsyncSession, records: list[AuditRecord]) -> None:
    """Chain `records` onto the trail in the session's transaction, under one lock of the head row."""
    take = update(AuditHead).where(AuditHead.id == HEAD_ID).values(seq=AuditHead.seq + len(records))
    head = (await session.execute(take.returning(AuditHead.seq, AuditHead.hash))).one_or_none()
    if head is None:
        raise RuntimeError("audit_head row missing: the database is not migrated (`cmo db upgrade`)")
    last_seq, prev_hash = head
    at = utcnow()  # taken under the lock: `at` never goes backwards along the chain
    rows = []
    for seq, record in enumerate(records, start=last_seq - len(records) + 1):
        record.seq, record.at, record.prev_hash = seq, at, prev_hash
        record.hash = prev_hash = record_hash(prev_hash, record)
        rows.append({name: getattr(record, name) for name in (*HASHED_FIELDS, "prev_hash", "hash")})
    await session.execute(insert(AuditRecord), rows)
    await session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(hash=prev_hash))


class _GroupCommit:
    """Appends the records of concurrent requests in batches: one transaction and one lock of the
    head row per batch instead of per request, so requests do not queue on that lock (nor hold pool
    connections while they wait for it). Each request still waits until its own record is committed."""

    MAX_BATCH = 500

    def __init__(self, database: Database) -> None:
        self._database = database
        self._pending: list[tuple[AuditRecord, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def write(self, record: AuditRecord) -> None:
        committed = asyncio.get_running_loop().create_future()
        self._pending.append((record, committed))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        await committed

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.MAX_BATCH], self._pending[self.MAX_BATCH :]
            outcome: BaseException | None = None
            try:
                async with self._database.serial_sessions() as session:
                    await _append(session, [record for record, _ in batch])
                    await session.commit()
            except Exception as exc:  # every request of the batch learns it was not recorded
                outcome = exc
            for _, committed in batch:
                if not committed.done():  # a request cancelled meanwhile no longer waits
                    committed.set_result(None) if outcome is None else committed.set_exception(outcome)


_group_commits: weakref.WeakKeyDictionary[Database, _GroupCommit] = weakref.WeakKeyDictionary()


async def append_grouped(database: Database, record: AuditRecord) -> None:
    """Append `record` (from `new_record`) in a transaction of its own, shared with the records of
    concurrent requests (group commit); returns once it is committed, raises if it was not."""
    writer = _group_commits.get(database)
    if writer is None:
        writer = _group_commits[database] = _GroupCommit(database)
    await writer.write(record)


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    job_id: str | None = None
    prospect_id: str | None = None
    since: datetime | None = None


async def list_audit(
    session: AsyncSession, tenant_id: str, where: AuditFilter, *, limit: int, cursor: str | None
) -> tuple[Sequence[AuditRecord], str | None]:
    """One page of the tenant's records, newest first, and the next page's cursor (or None)."""
    query = select(AuditRecord).where(AuditRecord.tenant_id == tenant_id)
    if cursor is not None:
        _, seq = decode_cursor(cursor)
        query = query.where(AuditRecord.seq < _cursor_seq(seq))
    if where.action:
        query = query.where(AuditRecord.action == where.action)
    if where.job_id:
        query = query.where(AuditRecord.job_id == where.job_id)
    if where.since:
        query = query.where(AuditRecord.at >= where.since)
    if where.prospect_id:
        query = query.where(_mentions_prospect(session, where.prospect_id))
    rows = (await session.execute(query.order_by(AuditRecord.seq.desc()).limit(limit + 1))).scalars().all()
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(last.at, str(last.seq))


def _cursor_seq(raw: str) -> int:
    if not raw.isdigit():
        raise InvalidInput("query.cursor: not a cursor of the audit trail (pass next_cursor of the previous page)")
    return int(raw)


def _mentions_prospect(session: AsyncSession, prospect_id: str) -> Any:
    """`prospect_ids` contains the id: JSONB containment in Postgres, json_each in SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return AuditRecord.prospect_ids.op("@>")(func.jsonb_build_array(prospect_id))
    members = func.json_each(AuditRecord.prospect_ids).table_valued("value")
    return exists(select(1).select_from(members).where(members.c.value == prospect_id))


@dataclass(frozen=True)
class ChainReport:
    """What `verify_chain` found: records checked, and the first broken link (None: intact)."""

    records: int
    broken_seq: int | None = None
    reason: str | None = None


async def verify_chain(session: AsyncSession, tenant_id: str | None = None) -> ChainReport:
    """Recompute the chain in seq order. With `tenant_id`, only that tenant's records are judged
    (each must recompute and link to the stored record before it); the head check is global, since
    rows missing from the end could have been anyone's."""
    checked = 0
    prev: AuditRecord | None = None
    rows = await session.stream_scalars(select(AuditRecord).order_by(AuditRecord.seq).execution_options(yield_per=500))
    async for row in rows:
        if tenant_id is None or row.tenant_id == tenant_id:
            reason = broken_link(prev, row)
            if reason is not None:
                return ChainReport(checked, row.seq, reason)
            checked += 1
        prev = row
        session.expunge(row)
    head = await session.get_one(AuditHead, HEAD_ID)
    last_seq, last_hash = (prev.seq, prev.hash) if prev is not None else (0, GENESIS_HASH)
    if (head.seq, head.hash) != (last_seq, last_hash):
        return ChainReport(checked, last_seq + 1, f"the chain ends at record {last_seq} but its head is record {head.seq}")
    return ChainReport(checked)


def broken_link(prev: AuditRecord | None, row: AuditRecord) -> str | None:
    """Why `row` does not follow `prev` (the record stored before it) in the chain; None if it does."""
    if row.seq == 1:
        expected_prev = GENESIS_HASH
    elif prev is not None and prev.seq == row.seq - 1:
        expected_prev = prev.hash
    else:
        return f"record {row.seq - 1} is missing"
    if row.prev_hash != expected_prev:
        return f"does not link to record {row.seq - 1} (prev_hash differs)"
    if row.hash != record_hash(row.prev_hash, row):
        return "its content was altered (hash mismatch)"
    return None
