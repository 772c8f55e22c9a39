"""Retention: delete what is kept longer than it may be (`cmo purge`, and a periodic task of every worker).

Three clocks, because SPEC and the issue set three promises:
- A prospect record expires `privacy_settings.data_retention_days` after the job that collected it
  was created (or at its own `expires_at`, when the record carries one). It is then removed from
  that job as an erasure would remove it (row, events, artifacts regenerated, checkpoint thread),
  but without a tombstone: a later job may find the person again, with a fresh clock.
- A finished job, with its events, prospects, artifacts and webhook log, expires the tenant's
  `retention_days` (its privacy settings, else CMO_RETENTION_DAYS) after it was created; so does a
  chat thread left idle that long.
- The LangGraph checkpoints of a finished job expire CMO_CHECKPOINT_RETENTION_DAYS after it
  finished: its results live in the rows, and LangGraph's Postgres saver has no prune of its own.

Audit records are never purged, and unfinished jobs are never touched. Personal data is encrypted,
so per-prospect retention is read from the decrypted records in Python (only jobs older than a day,
the shortest retention, are read). Several workers run the purge: on Postgres a transaction-level
advisory lock lets one through at a time, and the others skip their round.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.core import orm
from api.core.database import Database
from api.services.audit import record_audit
from api.services.erasure import Person, forget_vectors, overwrite_freed, scrub, truncate_wal
from foundation.schemas.prospect import PrivacySettings
from foundation.settings import Settings
from storage.checkpoints import delete_threads

log = structlog.get_logger("api.retention")

PURGE_LOCK = 0x636D6F70757267  # the advisory lock key of the purge ("cmopurg")
FIRST_PURGE_MAX_DELAY_SECONDS = 60.0  # a worker restarted more often than the interval still purges
DEFAULT_RETENTION_DAYS = PrivacySettings.model_fields["data_retention_days"].default


@dataclass
class PurgeCounts:
    prospects: int = 0  # records past their own retention, removed from their jobs
    jobs: int = 0  # finished jobs past the tenant's retention, deleted with everything they held
    chat_threads: int = 0
    checkpoints: int = 0  # LangGraph threads deleted

    def __iadd__(self, other: PurgeCounts) -> PurgeCounts:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)
        return self

    def any(self) -> bool:
        return any(asdict(self).values())


@dataclass
class PurgeReport:
    counts: PurgeCounts = field(default_factory=PurgeCounts)
    dry_run: bool = False
    skipped: bool = False  # another process was purging


def collected_at(job: orm.Job) -> datetime:
    """When a job's records started being collected: the clock of their retention."""
    return job.created_at


def expires_at(record: dict[str, Any], collected: datetime) -> datetime:
    """When a prospect record must be gone: its `expires_at`, else `data_retention_days` after collection."""
    if record.get("expires_at"):
        moment = datetime.fromisoformat(str(record["expires_at"]).replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=collected.tzinfo)
    days = (record.get("privacy_settings") or {}).get("data_retention_days") or DEFAULT_RETENTION_DAYS
    return collected + timedelta(days=int(days))


def tenant_retention_days(tenant: orm.Tenant, settings: Settings) -> int:
    return int((tenant.privacy or {}).get("retention_days") or settings.cmo_retention_days)


async def purge(
    session: AsyncSession,
    settings: Settings,
    *,
    tenant_id: str | None = None,
    dry_run: bool = False,
    actor: str = "system",
    now: datetime | None = None,
) -> PurgeReport:
    """One purge of every tenant (or one); commits, with one `retention.purge` audit record per tenant
    that lost anything. `dry_run` counts what would go and changes nothing."""
    now = now or orm.utcnow()
    report = PurgeReport(dry_run=dry_run)
    if not dry_run and not await _take_lock(session):
        report.skipped = True
        return report
    await overwrite_freed(session)
    query = select(orm.Tenant) if tenant_id is None else select(orm.Tenant).where(orm.Tenant.id == tenant_id)
    per_tenant: dict[str, tuple[PurgeCounts, set[str]]] = {}
    for tenant in (await session.execute(query.order_by(orm.Tenant.id))).scalars().all():
        per_tenant[tenant.id] = await _purge_tenant(session, tenant, settings, now, dry_run)
    for tenant_key, (counts, threads) in per_tenant.items():
        counts.checkpoints = len(await asyncio.to_thread(delete_threads, settings, tenant_key, threads, dry_run=dry_run))
        report.counts += counts
        if counts.any() and not dry_run:
            await record_audit(session, tenant_id=tenant_key, actor=actor, action="retention.purge", detail=asdict(counts))
    if dry_run:
        await session.rollback()
    else:
        await session.commit()
        await truncate_wal(session)
    return report


async def _take_lock(session: AsyncSession) -> bool:
    """Postgres: one purge at a time across processes (released at commit). SQLite has one writer anyway."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PURGE_LOCK}))


async def _purge_tenant(
    session: AsyncSession, tenant: orm.Tenant, settings: Settings, now: datetime, dry_run: bool
) -> tuple[PurgeCounts, set[str]]:
    """The tenant's expired jobs, chat threads and prospect records; returns the counts and the
    LangGraph threads to delete."""
    cutoff = now - timedelta(days=tenant_retention_days(tenant, settings))
    finished = (orm.Job.tenant_id == tenant.id, orm.Job.status.in_(orm.FINISHED_STATUSES))
    old_jobs = set((await session.execute(select(orm.Job.id).where(*finished, orm.Job.created_at < cutoff))).scalars())
    chats = (
        (
            await session.execute(
                select(orm.ChatThread.id).where(orm.ChatThread.tenant_id == tenant.id, orm.ChatThread.updated_at < cutoff)
            )
        )
        .scalars()
        .all()
    )
    counts = PurgeCounts(jobs=len(old_jobs), chat_threads=len(chats))
    leaving = Person()  # everyone whose records this purge removes: their vectors go once nothing of them is left
    counts.prospects, emptied = await _expire_prospects(session, tenant.id, finished, old_jobs, now, dry_run, leaving)
    checkpoint_cutoff = now - timedelta(days=settings.cmo_checkpoint_retention_days)
    stale = set((await session.execute(select(orm.Job.id).where(*finished, orm.Job.finished_at < checkpoint_cutoff))).scalars())
    if not dry_run:
        for record in (await session.execute(select(orm.ProspectRow.data).where(orm.ProspectRow.job_id.in_(old_jobs)))).scalars():
            leaving.absorb(record)
        await session.execute(delete(orm.ChatThread).where(orm.ChatThread.id.in_(chats)))
        await session.execute(delete(orm.Job).where(orm.Job.id.in_(old_jobs)))  # cascades to everything of the job
        await _forget_vectors_of_the_departed(session, settings, tenant.id, leaving)
    return counts, old_jobs | emptied | stale


async def _forget_vectors_of_the_departed(session: AsyncSession, settings: Settings, tenant_id: str, leaving: Person) -> None:
    """Vectors derived from people the tenant no longer holds any record of (a login still in another
    job keeps its vectors: they are derived from data still held)."""
    held = (await session.execute(select(orm.ProspectRow.prospect_id).where(orm.ProspectRow.tenant_id == tenant_id))).scalars()
    still = {prospect_id.removeprefix("gh_").lower() for prospect_id in held}
    await asyncio.to_thread(forget_vectors, settings, tenant_id, leaving.logins - still)


async def _expire_prospects(
    session: AsyncSession,
    tenant_id: str,
    finished: tuple[Any, ...],
    skip: set[str],
    now: datetime,
    dry_run: bool,
    leaving: Person,
) -> tuple[int, set[str]]:
    """Remove prospect records past their own retention from their jobs (their people join
    `leaving`); returns how many, and the jobs."""
    day_old = now - timedelta(days=1)
    jobs = (await session.execute(select(orm.Job).where(*finished, orm.Job.created_at < day_old))).scalars().all()
    removed, touched = 0, set()
    for job in jobs:
        if job.id in skip:
            continue
        records = (await session.execute(select(orm.ProspectRow.data).where(orm.ProspectRow.job_id == job.id))).scalars().all()
        expired = [record for record in records if expires_at(record, collected_at(job)) <= now]
        if not expired:
            continue
        removed += len(expired)
        touched.add(job.id)
        if not dry_run:
            person = Person()
            for record in expired:
                person.absorb(record)
            await scrub(session, tenant_id, person, job_ids=[job.id])
            leaving.logins |= person.logins
    return removed, touched


async def purge_periodically(database: Database, settings: Settings, interval_seconds: float) -> None:
    """A worker's purge loop (until cancelled): first after at most a minute, then every interval.
    A failed round is logged and the next one tried; 0 turns the loop off."""
    if interval_seconds <= 0:
        return
    delay = min(interval_seconds, FIRST_PURGE_MAX_DELAY_SECONDS)
    while True:
        await asyncio.sleep(delay)
        delay = interval_seconds
        try:
            async with database.sessions() as session:
                report = await purge(session, settings)
        except Exception:  # the worker's jobs matter more than one purge round
            log.exception("retention purge failed; retrying at the next interval")
            continue
        if report.counts.any():
            log.info("retention purge", **asdict(report.counts))
