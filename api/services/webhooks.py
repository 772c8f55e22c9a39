"""Outgoing webhooks: SPEC's `job.created`, `prospect.enriched` and `campaign.completed`, and the sending events (`message.*`, `campaign.paused`), signed,
retried with exponential backoff, every attempt written to `webhook_deliveries`.

Whoever writes one of those events calls `dispatch_for_event` right after committing it (the jobs
service for `job.created`, the worker for the other two). It only schedules a background task with
its own sessions, so the request or the graph step never waits for a receiver. Deliveries live in
the process that dispatched them: `drain_deliveries` at shutdown gives in-flight ones a moment to
finish. What an event still owes is kept in `webhook_pending` (`webhook_retries`), so a process that
dies between attempts loses nothing: a sweep in any API or worker process resumes it.

Receivers check `X-CMO-Signature` with `webhook_security.verify_signature` (that module also holds
the SSRF guard every attempt goes through).
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
import weakref
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from typing import Any

import httpx
import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.core import orm
from api.core.database import Database
from api.services import webhook_retries as retries
from api.services.errors import InvalidInput
from api.services.events import (
    CAMPAIGN_PAUSED,
    JOB_CREATED,
    MESSAGE_BOUNCED,
    MESSAGE_REPLIED,
    MESSAGE_SENT,
    SYNC_COMPLETED,
    SYNC_FAILED,
)
from api.services.suppressions import is_suppressed
from api.services.webhook_security import RefusedUrl, resolve_target, sign, standard_headers
from foundation.events import CAMPAIGN_COMPLETED, PROSPECT_ENRICHED
from foundation.schemas.run import CampaignCompleted
from foundation.settings import Settings

SPEC_FIELDS: dict[str, tuple[str, ...]] = {  # a webhook's `data` is exactly SPEC's, whatever the log stores
    JOB_CREATED: ("goal", "estimated_duration", "prospect_count"),
    PROSPECT_ENRICHED: ("prospect_id", "email", "confidence_score", "signals"),
    CAMPAIGN_COMPLETED: tuple(CampaignCompleted.model_fields),
    # Sending (api/services/sends.py): ids only, never an address.
    MESSAGE_SENT: ("prospect_id", "step", "message_id", "send_run_id"),
    MESSAGE_BOUNCED: ("prospect_id", "step", "message_id", "reason"),
    MESSAGE_REPLIED: ("prospect_id", "step", "message_id"),
    CAMPAIGN_PAUSED: ("reason", "bounced", "complained", "finished"),
    SYNC_COMPLETED: (
        "destination_id",
        "destination",
        "platform",
        "dry_run",
        "counts",
        "failed",
        "conflicts",
        "list_id",
        "changes",
    ),
    SYNC_FAILED: ("destination_id", "error"),
}
WEBHOOK_EVENTS = frozenset(SPEC_FIELDS)
MAX_BACKOFF_SECONDS = 300.0
CONCURRENT_REQUESTS = 16  # per process: a job with thousands of enriched prospects must not open thousands of sockets

log = structlog.get_logger("api.webhooks")


@dataclass(frozen=True)
class WebhookPolicy:
    """How hard to try (from `CMO_WEBHOOK_*`); tests shrink the delays to milliseconds."""

    allow_private: bool = False
    max_attempts: int = 8
    backoff_seconds: float = 2.0
    timeout_seconds: float = 10.0
    lease: timedelta = timedelta(seconds=60)

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookPolicy:
        return cls(
            allow_private=settings.cmo_webhook_allow_private,
            max_attempts=settings.cmo_webhook_max_attempts,
            backoff_seconds=settings.cmo_webhook_backoff_seconds,
            timeout_seconds=settings.cmo_webhook_timeout_seconds,
            lease=timedelta(seconds=settings.cmo_webhook_lease_seconds),
        )

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt `attempt`: doubling, jittered down by up to half (so
        receivers coming back are not hit by every sender at once), never shorter than Retry-After."""
        base = min(MAX_BACKOFF_SECONDS, self.backoff_seconds * 2 ** (attempt - 1))
        jittered = base * random.uniform(0.5, 1.0)
        return min(MAX_BACKOFF_SECONDS, max(jittered, retry_after or 0.0))


@dataclass
class _Dispatcher:
    """The deliveries of one process's database: a cap on concurrent requests and the running tasks."""

    sessions: async_sessionmaker[AsyncSession]
    policy: WebhookPolicy
    requests: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENT_REQUESTS))
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook delivery crashed", error=repr(task.exception()))


_dispatchers: weakref.WeakKeyDictionary[Database, _Dispatcher] = weakref.WeakKeyDictionary()


def _dispatcher(database: Database) -> _Dispatcher:
    if database not in _dispatchers:
        _dispatchers[database] = _Dispatcher(database.sessions, WebhookPolicy.from_settings(database.settings))
    return _dispatchers[database]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def check_webhook_url(url: str, settings: Settings, *, field: str) -> None:
    """`InvalidInput` (at `field`) now for a URL no delivery would call (a private address, unless the deployment allows
    them): the tenant learns it when submitting, not from a delivery log. A name that does not
    resolve yet is accepted, and every delivery checks again anyway (DNS may change: rebinding)."""
    try:
        await resolve_target(url, allow_private=settings.cmo_webhook_allow_private)
    except RefusedUrl as exc:
        raise InvalidInput(str(exc), slug="webhook-url-refused", field=field) from exc
    except OSError:
        pass


async def dispatch_for_event(
    database: Database, job_id: str, event: str, data: dict[str, Any], occurred_at: datetime | None = None
) -> None:
    """Schedule the webhook of one committed event (other events are ignored) and return at once.

    `data` is the event's data as logged; only SPEC's fields of the event are sent (extras such as
    the emitting `agent` are dropped).
    """
    if event not in WEBHOOK_EVENTS:
        return
    dispatcher = _dispatcher(database)
    dispatcher.spawn(_deliver(dispatcher, job_id, event, dict(data), occurred_at or datetime.now(UTC)))


async def drain_deliveries(database: Database, timeout_seconds: float = 5.0) -> None:
    """At shutdown: let in-flight deliveries finish for a moment, then cancel what is left."""
    dispatcher = _dispatchers.pop(database, None)
    if dispatcher is None or not dispatcher.tasks:
        return
    _, pending = await asyncio.wait(set(dispatcher.tasks), timeout=timeout_seconds)
    for task in pending:
        task.cancel()
    if pending:
        log.warning("webhook deliveries abandoned at shutdown", count=len(pending))
        await asyncio.wait(pending)


@dataclass(frozen=True)
class _Target:
    tenant_id: str
    url: str
    secret: str


async def _target(session: AsyncSession, job_id: str) -> _Target | None:
    """The job's URL, else its tenant's default, and the tenant's secret; None when there is no URL.
    The URLs are read first on their own: most events of most jobs have none, and then neither the
    job row nor the (encrypted) secret needs loading."""
    urls = (
        await session.execute(
            select(orm.Job.webhook_url, orm.Tenant.webhook_url)
            .join(orm.Tenant, orm.Tenant.id == orm.Job.tenant_id)
            .where(orm.Job.id == job_id)
        )
    ).first()
    if urls is None or not (url := urls[0] or urls[1]):
        return None
    tenant_id, secret = (
        await session.execute(
            select(orm.Job.tenant_id, orm.Tenant.webhook_secret)
            .join(orm.Tenant, orm.Tenant.id == orm.Job.tenant_id)
            .where(orm.Job.id == job_id)
        )
    ).one()
    return _Target(tenant_id, url, secret or await tenant_secret(session, tenant_id))


async def tenant_secret(session: AsyncSession, tenant_id: str) -> str:
    """The tenant's signing secret, created on first use (a concurrent creator's secret wins)."""
    await session.execute(
        update(orm.Tenant)
        .where(orm.Tenant.id == tenant_id, orm.Tenant.webhook_secret.is_(None))
        .values(webhook_secret=new_secret())
    )
    await session.commit()
    secret = (await session.execute(select(orm.Tenant.webhook_secret).where(orm.Tenant.id == tenant_id))).scalar_one()
    assert secret is not None, "set by the update above"
    return secret


def new_secret() -> str:
    return f"whsec_{secrets.token_hex(24)}"


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int
    retry_after: float | None = None
    permanent: bool = False

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


async def _attempt(
    client: httpx.AsyncClient, dispatcher: _Dispatcher, target: _Target, body: bytes, headers: dict[str, str]
) -> _Outcome:
    """One POST, re-resolving and re-checking the host every time (DNS may have changed since)."""
    started = time.perf_counter()

    def elapsed() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        pinned = await resolve_target(target.url, allow_private=dispatcher.policy.allow_private)
    except RefusedUrl as exc:
        return _Outcome(None, f"refused: {exc}", elapsed(), permanent=True)
    except OSError as exc:  # DNS failure: may be transient
        return _Outcome(None, f"cannot resolve host: {exc}", elapsed())
    now = int(time.time())
    timestamp = str(now)
    signed = {
        **headers,
        **pinned.headers,
        **standard_headers(target.secret, headers["X-CMO-Delivery"], now, body),
        "X-CMO-Timestamp": timestamp,  # legacy (deprecated, sent for one more release)
        "X-CMO-Signature": sign(target.secret, timestamp, body),
    }
    try:
        async with dispatcher.requests:
            started = time.perf_counter()  # the duration is the receiver's, not our queue's
            async with client.stream("POST", pinned.url, content=body, headers=signed, extensions=pinned.extensions) as response:
                status, retry_after = response.status_code, _retry_after(response)
    except httpx.HTTPError as exc:
        return _Outcome(None, f"{type(exc).__name__}: {exc}".rstrip(": "), elapsed())
    return _Outcome(status, None if 200 <= status < 300 else f"HTTP {status}", elapsed(), retry_after)


async def _record(sessions: async_sessionmaker[AsyncSession], row: orm.WebhookDelivery) -> None:
    try:
        async with sessions() as session:
            session.add(row)
            await session.commit()
    except SQLAlchemyError as exc:  # the delivery itself happened; only its log line is lost
        log.warning("webhook attempt not recorded", error=str(exc))


async def _deliver(dispatcher: _Dispatcher, job_id: str, event: str, data: dict[str, Any], occurred_at: datetime) -> None:
    async with dispatcher.sessions() as session:
        target = await _target(session, job_id)
        if target is None:
            return
        login = str(data.get("prospect_id") or "").removeprefix("gh_") or None
        if event == PROSPECT_ENRICHED and await is_suppressed(session, target.tenant_id, login=login, email=data.get("email")):
            return  # suppressed by now (maybe while the job ran): no receiver learns about them
    spec_data = {name: data[name] for name in SPEC_FIELDS[event] if name in data}
    envelope = {"event": event, "job_id": job_id, "timestamp": _iso(occurred_at), "data": spec_data}
    body = json.dumps(envelope, separators=(",", ":"), default=str).encode()
    pending = retries.Pending(f"whd_{secrets.token_hex(10)}", target.tenant_id, job_id, event, body, attempts=0)
    saved = await _kept(retries.remember(dispatcher.sessions, pending, datetime.now(UTC), dispatcher.policy.lease))
    await _attempts(dispatcher, target, pending, erasable=saved)


async def _resume(dispatcher: _Dispatcher, pending: retries.Pending) -> None:
    """A delivery another (dead) process owed: the same envelope and id, from the next attempt on,
    to the job's URL as it is now (none any more: given up)."""
    async with dispatcher.sessions() as session:
        target = await _target(session, pending.job_id)
    if target is None:
        await _kept(retries.forget(dispatcher.sessions, pending.delivery_id))
        return
    log.info("webhook delivery resumed", job_id=pending.job_id, webhook_event=pending.event, attempts=pending.attempts)
    await _attempts(dispatcher, target, pending)


async def _attempts(dispatcher: _Dispatcher, target: _Target, pending: retries.Pending, *, erasable: bool = True) -> None:
    """Attempts until delivered, refused for good or out of attempts. `erasable`: the pending row was
    saved, so its absence after a wait means an erasure took the delivery back."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"cmo-agent-webhooks/{version('cmo-agent')}",
        "X-CMO-Event": pending.event,
        "X-CMO-Delivery": pending.delivery_id,  # the same on every retry: receivers deduplicate on it
    }
    policy = dispatcher.policy
    async with httpx.AsyncClient(timeout=policy.timeout_seconds, follow_redirects=False, trust_env=False) as client:
        for attempt in range(pending.attempts + 1, policy.max_attempts + 1):
            outcome = await _attempt(client, dispatcher, target, pending.body, headers)
            await _record(
                dispatcher.sessions,
                orm.WebhookDelivery(
                    id=f"wha_{secrets.token_hex(10)}",
                    tenant_id=target.tenant_id,
                    job_id=pending.job_id,
                    delivery_id=pending.delivery_id,
                    event=pending.event,
                    url=target.url,
                    attempt=attempt,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    duration_ms=outcome.duration_ms,
                    delivered=outcome.delivered,
                    created_at=orm.utcnow(),
                ),
            )
            if outcome.delivered:
                break
            if outcome.permanent or attempt == policy.max_attempts:
                log.warning(
                    "webhook not delivered",
                    job_id=pending.job_id,
                    webhook_event=pending.event,
                    attempts=attempt,
                    error=outcome.error,
                )
                break
            delay = policy.delay(attempt, outcome.retry_after)
            due = datetime.now(UTC) + timedelta(seconds=delay)
            await _kept(retries.reschedule(dispatcher.sessions, pending.delivery_id, attempt, due, policy.lease))
            await asyncio.sleep(delay)
            if erasable and not await _still_owed(dispatcher, pending):
                log.info("webhook retry dropped: its delivery was erased", job_id=pending.job_id, webhook_event=pending.event)
                return
    await _kept(retries.forget(dispatcher.sessions, pending.delivery_id))


async def _still_owed(dispatcher: _Dispatcher, pending: retries.Pending) -> bool:
    """False once an erasure removed the delivery's pending row; a database blip counts as owed."""
    try:
        return await retries.owed(dispatcher.sessions, pending.delivery_id)
    except SQLAlchemyError:
        return True


async def _kept(bookkeeping: Coroutine[Any, Any, None]) -> bool:
    """The pending row's upkeep: a database blip costs the restart-safety of this one delivery, not
    the delivery. True when it was saved."""
    try:
        await bookkeeping
    except SQLAlchemyError as exc:
        log.warning("webhook retry state not saved", error=str(exc))
        return False
    return True


async def resume_orphaned(database: Database) -> int:
    """Claim the deliveries whose owner's lease ran out (it died between attempts) and carry them on
    in this process; how many were claimed."""
    dispatcher = _dispatcher(database)
    orphans = await retries.claim_orphans(dispatcher.sessions, datetime.now(UTC), dispatcher.policy.lease)
    for pending in orphans:
        dispatcher.spawn(_resume(dispatcher, pending))
    return len(orphans)


@asynccontextmanager
async def orphan_sweeps(database: Database) -> AsyncIterator[None]:
    """Every process that serves or works sweeps for its lifetime, so a crashed process's retries resume."""

    async def sweep() -> None:
        while True:
            # Sleep first: a dead process's lease outlives its wake-up time anyway, and a sweep at start
            # would race the first connections of an embedded database while its file turns to WAL.
            await asyncio.sleep(database.settings.cmo_webhook_sweep_seconds)
            try:
                await resume_orphaned(database)
            except SQLAlchemyError as exc:
                log.warning("webhook sweep failed", error=str(exc))

    task = asyncio.create_task(sweep())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def list_deliveries(session: AsyncSession, tenant_id: str, job_id: str) -> Sequence[orm.WebhookDelivery]:
    """Every attempt for one job, oldest first (the caller has checked that the job is the tenant's)."""
    query = (
        select(orm.WebhookDelivery)
        .where(orm.WebhookDelivery.tenant_id == tenant_id, orm.WebhookDelivery.job_id == job_id)
        .order_by(orm.WebhookDelivery.created_at, orm.WebhookDelivery.attempt)
    )
    return (await session.execute(query)).scalars().all()


async def webhook_settings(session: AsyncSession, tenant_id: str) -> tuple[str | None, str]:
    """The tenant's default URL and its signing secret (created on first read)."""
    url = (await session.execute(select(orm.Tenant.webhook_url).where(orm.Tenant.id == tenant_id))).scalar_one()
    return url, await tenant_secret(session, tenant_id)


async def set_webhook_settings(
    session: AsyncSession, tenant_id: str, url: str | None, *, rotate_secret: bool
) -> tuple[str | None, str]:
    """Set (or clear, with None) the default URL; a rotated secret signs every delivery from now on."""
    changes: dict[str, Any] = {"webhook_url": url}
    if rotate_secret:
        changes["webhook_secret"] = new_secret()
    await session.execute(update(orm.Tenant).where(orm.Tenant.id == tenant_id).values(**changes))
    await session.commit()
    return await webhook_settings(session, tenant_id)
