"""A tenant's suppression list: people who must never be contacted (or even collected) again.

Identifiers are stored by their blind index (the tenant's keyed HMAC of the normalised value), so
looking someone up never needs plaintext, and the original is kept only encrypted for listing and
export. Reasons are ranked: an erasure outranks an objection or a spam complaint, which outrank an
unsubscribe, which outranks a hard bounce, which outranks a manual or imported entry. Adding an
identifier again is a no-op unless the new reason is stronger, which then replaces the old one (an
erasure also drops the encrypted original, leaving a tombstone). Unsubscribes, complaints, objections and erasures are permanent: they cannot be deleted.

Every writer here works inside the caller's transaction and never commits: the unsubscribe endpoint
and the erasure service add their suppression in the same transaction as the rest of their change.

The tenant's keyring is reached through the session: `Database` puts the process settings in every
session's `info`, which is what `get_keyring` needs.
"""

from __future__ import annotations

import asyncio
import io
import secrets
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from api.core.database import Database
from api.core.orm import Job
from api.core.orm_privacy import Suppression, SuppressionReason
from api.models.suppressions import Suppression as SuppressionOut
from api.services.errors import BadLine, Conflict, InvalidInput, NotFound
from api.services.pagination import decode_cursor, encode_cursor
from foundation.artifacts import contactable
from foundation.csv_cells import csv_text
from foundation.schemas import Prospect
from foundation.schemas.run import RunSummary
from storage.keyring import Keyring, get_keyring
from storage.tables import utcnow
from tools.suppression import SuppressionKind, SuppressionList, identifiers, normalize_entry, parse_csv

# A hard bounce says the address does not work (it may be lifted by hand if that was a mistake); a
# spam complaint is the person's own "stop", as permanent as an objection.
STRENGTH: dict[str, int] = {
    "manual": 0,
    "import": 0,
    "bounce": 1,
    "unsubscribe": 2,
    "complaint": 3,
    "objection": 3,
    "erasure": 4,
}
PERMANENT: frozenset[str] = frozenset({"unsubscribe", "complaint", "objection", "erasure"})
MAX_IMPORT_ROWS = 10_000
SETTINGS_INFO = "foundation.settings"
_CHUNK = 500  # rows per INSERT: far below SQLite's and Postgres's bound-parameter limits


def keyring_of(session: AsyncSession) -> Keyring:
    """The keyring of the process the session belongs to (see the module docstring)."""
    return get_keyring(session.info[SETTINGS_INFO])


def new_suppression_id() -> str:
    return f"sup_{secrets.token_hex(10)}"


async def add_suppression(
    session: AsyncSession, tenant_id: str, kind: str, value: str, *, reason: SuppressionReason, source: str
) -> Suppression:
    """Suppress one identifier (idempotent; a stronger reason replaces a weaker one). A value that
    does not fit its kind is a ValueError saying why."""
    kind, value = normalize_entry(kind, value)
    keyring = keyring_of(session)
    index = keyring.blind_index(tenant_id, value)
    row = _new_row(
        tenant_id, kind, index, None if reason == "erasure" else keyring.encrypt_text(tenant_id, value), reason, source
    )
    await session.execute(_insert_new(session, [row]))
    found = (
        await session.execute(
            select(Suppression).where(
                Suppression.tenant_id == tenant_id, Suppression.kind == kind, Suppression.value_index == index
            )
        )
    ).scalar_one()
    if STRENGTH[reason] > STRENGTH[found.reason]:
        changes = {"reason": reason, "source": row["source"]} | ({"value_enc": None} if reason == "erasure" else {})
        await session.execute(update(Suppression).where(Suppression.id == found.id).values(**changes))
        await session.refresh(found)
    return found


async def load_suppression_list(session: AsyncSession, tenant_id: str) -> SuppressionList:
    """The tenant's whole list as blind indexes with the tenant's hashing function (for the pipeline)."""
    rows = (
        await session.execute(select(Suppression.kind, Suppression.value_index).where(Suppression.tenant_id == tenant_id))
    ).all()
    if not rows:
        return SuppressionList.empty()
    hasher = partial(keyring_of(session).blind_index, tenant_id)
    return SuppressionList.from_blind_indexes(hasher, ((kind, index) for kind, index in rows))


async def is_suppressed(
    session: AsyncSession, tenant_id: str, *, login: str | None = None, github_id: int | None = None, email: str | None = None
) -> bool:
    """Whether any of the person's identifiers (an email also by its domains) is on the tenant's list."""
    pairs = list(identifiers(github_id=github_id, login=login, email=email))
    any_row = select(Suppression.id).where(Suppression.tenant_id == tenant_id).limit(1)
    if not pairs or (await session.execute(any_row)).first() is None:
        return False  # an empty list needs no keys: a tenant that never suppressed anyone has none
    keyring = keyring_of(session)
    matches = [
        and_(Suppression.kind == kind, Suppression.value_index == keyring.blind_index(tenant_id, value)) for kind, value in pairs
    ]
    query = select(Suppression.id).where(Suppression.tenant_id == tenant_id, or_(*matches)).limit(1)
    return (await session.execute(query)).first() is not None


def load_from_thread(database: Database, tenant_id: str, loop: asyncio.AbstractEventLoop) -> SuppressionList:
    """`load_suppression_list` for a job's graph thread, run on the worker's event loop `loop`."""

    async def load() -> SuppressionList:
        async with database.sessions() as session:
            return await load_suppression_list(session, tenant_id)

    return asyncio.run_coroutine_threadsafe(load(), loop).result()


async def drop_suppressed_leads(
    database: Database, tenant_id: str, leads: Sequence[Prospect], summary: RunSummary
) -> tuple[list[Prospect], RunSummary]:
    """A job's leads without anyone suppressed by now (someone may have objected while it ran), and
    its summary with the counts corrected."""
    async with database.sessions() as session:
        suppression = await load_suppression_list(session, tenant_id)
    kept = [lead for lead in leads if not suppression.contains_prospect(lead)]
    if len(kept) == len(leads):
        return kept, summary
    counts = {
        "prospects_found": len(kept),
        "emails_contactable": len(contactable(kept)),
        "suppressed_after_run": len(leads) - len(kept),
    }
    return kept, summary.model_copy(update=counts)


async def job_event_filter(session: AsyncSession, job_id: str) -> Callable[[dict[str, Any]], bool]:
    """A test telling which of a job's logged events name someone its tenant has suppressed (by the
    `login`, `prospect_id`, `email` or tool `args.login` the pipeline's events carry)."""
    tenant_id = (await session.execute(select(Job.tenant_id).where(Job.id == job_id))).scalar_one()
    suppression = await load_suppression_list(session, tenant_id)
    if not len(suppression):
        return lambda data: False

    def names_suppressed(data: dict[str, Any]) -> bool:
        logins, email = event_identifiers(data)
        return suppression.contains(email=email) or any(suppression.contains(login=x) for x in logins)

    return names_suppressed


def event_identifiers(data: dict[str, Any]) -> tuple[set[str], str | None]:
    """The logins and the email a pipeline event names: its `login`, tool `args.login`,
    `prospect_id` (gh_<login>) and `email` (what suppression and erasure judge events by)."""
    raw_args = data.get("args")
    args: dict[str, Any] = raw_args if isinstance(raw_args, dict) else {}
    prospect = data.get("prospect_id")
    logins = {data.get("login"), args.get("login"), prospect.removeprefix("gh_") if isinstance(prospect, str) else None}
    email = data.get("email")
    return {login for login in logins if isinstance(login, str)}, email if isinstance(email, str) else None


async def get_suppression(session: AsyncSession, tenant_id: str, suppression_id: str) -> Suppression:
    query = select(Suppression).where(Suppression.id == suppression_id, Suppression.tenant_id == tenant_id)
    found = (await session.execute(query)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no suppression {suppression_id!r}")
    return found


async def delete_suppression(session: AsyncSession, tenant_id: str, suppression_id: str) -> None:
    """Lift a manual or imported suppression; objections, unsubscribes and erasures are permanent (`Conflict`)."""
    found = await get_suppression(session, tenant_id, suppression_id)
    if found.reason in PERMANENT:
        raise Conflict(
            f"suppression {suppression_id!r} records an {found.reason} and is permanent: the person asked "
            "not to be contacted (GDPR Art. 21 / 17, CAN-SPAM opt-out), so it can never be lifted",
            slug="suppression-permanent",
        )
    await session.execute(delete(Suppression).where(Suppression.id == found.id))


async def list_suppressions(
    session: AsyncSession, tenant_id: str, *, limit: int, cursor: str | None, kind: SuppressionKind | None
) -> tuple[Sequence[Suppression], str | None]:
    """One page of the tenant's list, newest first, and the cursor of the next page (or None)."""
    query = select(Suppression).where(Suppression.tenant_id == tenant_id)
    if kind is not None:
        query = query.where(Suppression.kind == kind)
    if cursor is not None:
        created_at, row_id = decode_cursor(cursor)
        query = query.where(
            or_(Suppression.created_at < created_at, (Suppression.created_at == created_at) & (Suppression.id < row_id))
        )
    ordered = query.order_by(Suppression.created_at.desc(), Suppression.id.desc()).limit(limit + 1)
    rows = (await session.execute(ordered)).scalars().all()
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(last.created_at, last.id)


def describe(session: AsyncSession, row: Suppression) -> SuppressionOut:
    """The API's view of a row: its value decrypted (none for a tombstone)."""
    value = keyring_of(session).decrypt_text(row.value_enc) if row.value_enc else None
    return SuppressionOut(
        id=row.id,
        kind=row.kind,
        value=value,
        reason=row.reason,
        source=row.source,
        permanent=row.reason in PERMANENT,
        created_at=row.created_at,
    )


async def import_csv(session: AsyncSession, tenant_id: str, text: str, *, source: str) -> tuple[int, int]:
    """Add every row of a `kind,value` CSV, or none of them: any bad row is an `InvalidInput` naming
    every bad line. Returns (rows read, rows new); identifiers already suppressed keep their reason."""
    parsed = parse_csv(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    if parsed.errors:
        shown = "; ".join(f"line {line}: {why}" for line, why in parsed.errors[:5])
        more = f" (and {len(parsed.errors) - 5} more)" if len(parsed.errors) > 5 else ""
        raise InvalidInput(
            f"nothing imported: {len(parsed.errors)} bad row(s): {shown}{more}",
            slug="invalid-csv",
            lines=[BadLine(line, why) for line, why in parsed.errors],
        )
    if len(parsed.entries) > MAX_IMPORT_ROWS:
        raise InvalidInput(
            f"nothing imported: {len(parsed.entries)} rows, the limit is {MAX_IMPORT_ROWS} per import", slug="invalid-csv"
        )
    keyring = keyring_of(session)
    unique = {(kind, keyring.blind_index(tenant_id, value)): value for kind, value in parsed.entries}
    existing = await _existing(session, tenant_id, unique)
    rows = [
        _new_row(tenant_id, kind, index, keyring.encrypt_text(tenant_id, value), "import", source)
        for (kind, index), value in unique.items()
        if (kind, index) not in existing
    ]
    for start in range(0, len(rows), _CHUNK):
        await session.execute(_insert_new(session, rows[start : start + _CHUNK]))
    return len(parsed.entries), len(rows)


async def export_csv(session: AsyncSession, tenant_id: str) -> str:
    """The tenant's list as a `kind,value` CSV that `import_csv` reads back, oldest first. Erasure
    tombstones have no value to export and are left out (they stay in force here). An email address
    may start with `=`, `+` or `-`, so values are neutralised like every CSV we write (the import restores them)."""
    query = (
        select(Suppression.kind, Suppression.value_enc)
        .where(Suppression.tenant_id == tenant_id, Suppression.value_enc.is_not(None))
        .order_by(Suppression.created_at, Suppression.id)
    )
    keyring = keyring_of(session)
    rows = [
        {"kind": kind, "value": keyring.decrypt_text(token)}
        for kind, token in (await session.execute(query)).all()
        if token is not None  # the query excludes tombstones already; this tells the type checker
    ]
    return csv_text(["kind", "value"], rows, lineterminator="\n")


async def _existing(session: AsyncSession, tenant_id: str, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (kind, blind index) pairs the tenant already has."""
    indexes = sorted({index for _, index in keys})
    found: set[tuple[str, str]] = set()
    for start in range(0, len(indexes), _CHUNK):
        query = select(Suppression.kind, Suppression.value_index).where(
            Suppression.tenant_id == tenant_id, Suppression.value_index.in_(indexes[start : start + _CHUNK])
        )
        found.update((kind, index) for kind, index in (await session.execute(query)).all())
    return found


def _new_row(
    tenant_id: str, kind: str, index: str, value_enc: str | None, reason: SuppressionReason, source: str
) -> dict[str, object]:
    """The columns of a new suppression (what `_insert_new` inserts)."""
    return {
        "id": new_suppression_id(),
        "tenant_id": tenant_id,
        "kind": kind,
        "value_index": index,
        "value_enc": value_enc,
        "reason": reason,
        "source": source[:64],
        "created_at": utcnow(),
    }


def _insert_new(session: AsyncSession, rows: list[dict[str, object]]) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING on (tenant, kind, index): concurrent adders never collide."""
    dialect_insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    return dialect_insert(Suppression).values(rows).on_conflict_do_nothing(index_elements=["tenant_id", "kind", "value_index"])
