"""`POST /api/jobs/{id}/sync`: push a finished job's leads into one destination, pull its changes
back, in the background; the outcome is a `sync.completed` or `sync.failed` job event (SSE, webhook).

- which leads and who is never sent: `tools.destinations.sync` (approved, or all with a verdict;
  the tenant's suppression list and the deployment's file both apply);
- what the destination now holds becomes `destination_deliveries` rows (erasure reaches them);
- pulled changes since the destination's last pull (the job's creation at first): conversions
  (`stage_events`) and opt-outs become engagement events of the job's matching prospect, through
  `record_engagement` (an `unsubscribed` one suppresses the person, as every opt-out does); an event
  the prospect already has is not recorded twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import structlog
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core import orm
from api.core.database import Database
from api.models.analytics import EngagementCreate
from api.models.destinations import SyncRequest
from api.services.destinations import config_of, connector_of, get_destination, record_deliveries, spawn
from api.services.engagement import record_engagement
from api.services.errors import Conflict
from api.services.events import SYNC_COMPLETED, SYNC_FAILED, append_event
from api.services.jobs import get_job
from api.services.suppressions import load_suppression_list
from api.services.webhooks import dispatch_for_event
from foundation.schemas import Prospect
from storage.keyring import tenant_scope
from tools.destinations.base import RemoteChange
from tools.destinations.config import DestinationConfig
from tools.destinations.sync import SyncReport, eligible, interpret, sync
from tools.suppression import SuppressionList

log = structlog.get_logger("api.destination_sync")
DETAIL_CHARS = 200


async def start_sync(database: Database, session: AsyncSession, tenant_id: str, job_id: str, body: SyncRequest) -> None:
    """Check what can be checked at once (the job is finished, the destination exists), then sync in
    the background."""
    job = await get_job(session, tenant_id, job_id)
    await get_destination(session, tenant_id, body.destination_id)
    if job.status != "succeeded":
        raise Conflict(f"job {job_id} is {job.status}; only a succeeded job's leads can be synced", slug="job-not-finished")
    spawn(run_sync(database, tenant_id, job_id, body))


async def run_sync(database: Database, tenant_id: str, job_id: str, body: SyncRequest) -> None:
    try:
        data = await _sync(database, tenant_id, job_id, body)
        event = SYNC_COMPLETED
    except Exception as exc:  # any failure is the job's sync.failed event, never a lost task
        log.warning("sync failed", job_id=job_id, destination_id=body.destination_id, error=type(exc).__name__)
        data = {"destination_id": body.destination_id, "error": f"{type(exc).__name__}: {str(exc)[:DETAIL_CHARS]}"}
        event = SYNC_FAILED
    async with database.sessions() as session:
        with tenant_scope(tenant_id):
            await append_event(session, job_id, event, data)
            await session.commit()
    await dispatch_for_event(database, job_id, event, data)


async def _sync(database: Database, tenant_id: str, job_id: str, body: SyncRequest) -> dict[str, Any]:
    async with database.sessions() as session:
        job = await get_job(session, tenant_id, job_id)
        row = await get_destination(session, tenant_id, body.destination_id)
        config, since = config_of(row), row.pulled_at or job.created_at
        rows = (await session.execute(select(orm.ProspectRow.data).where(orm.ProspectRow.job_id == job_id))).scalars().all()
        prospects = [Prospect.model_validate(data) for data in rows]
        settings = session.info["foundation.settings"]
        suppression = (await load_suppression_list(session, tenant_id)).merged(
            SuppressionList.load(settings.cmo_suppression_file)
        )
    connector = connector_of(row)
    leads = sorted(eligible(prospects, include_all=body.all), key=lambda p: -p.score)
    report: SyncReport = await asyncio.to_thread(sync, connector, config, leads, suppression=suppression, dry_run=body.dry_run)
    changes: list[RemoteChange] = []
    if not body.dry_run and connector.kind != "analytics":
        changes = await asyncio.to_thread(connector.pull_changes, since)
    async with database.sessions() as session:
        with tenant_scope(tenant_id):
            if not body.dry_run:
                delivered = {r.prospect_id: r.remote_id or "" for r in report.delivered}
                await record_deliveries(session, tenant_id, row.id, job_id, delivered)
                fresh = await get_destination(session, tenant_id, row.id)
                fresh.pulled_at = orm.utcnow()
                await session.commit()
        recorded = await _apply_changes(session, tenant_id, job_id, prospects, changes, config)
    failed = [{"prospect_id": r.prospect_id, "detail": r.detail[:DETAIL_CHARS]} for r in report.failed]
    return {
        "destination_id": row.id,
        "destination": row.name,
        "platform": row.platform,
        "dry_run": body.dry_run,
        "counts": report.counts,
        "failed": failed,
        "conflicts": sum(1 for r in report.results if r.conflicts),
        "list_id": report.list_id,
        "changes": recorded,
    }


def _who(change: RemoteChange, prospects: list[Prospect]) -> str | None:
    """The job's prospect a change is about: by GitHub URL, else by email."""
    url = (change.github_url or "").rstrip("/").casefold()
    email = (change.email or "").casefold()
    for prospect in prospects:
        if url and url == f"https://github.com/{prospect.username}".casefold():
            return prospect.id
    for prospect in prospects:
        if email and prospect.email and prospect.email.casefold() == email:
            return prospect.id
    return None


async def _apply_changes(
    session: AsyncSession,
    tenant_id: str,
    job_id: str,
    prospects: list[Prospect],
    changes: list[RemoteChange],
    config: DestinationConfig,
) -> dict[str, int]:
    recorded: Counter[str] = Counter()
    job = await get_job(session, tenant_id, job_id)
    for change in changes:
        effect = interpret(change, config)
        prospect_id = _who(change, prospects)
        if effect is None or prospect_id is None:
            continue
        event = orm.EngagementEvent
        seen = await session.scalar(
            select(exists().where(event.job_id == job_id, event.prospect_id == prospect_id, event.type == effect))
        )
        if seen:
            continue
        when = min(max(change.occurred_at, job.created_at), orm.utcnow())
        await record_engagement(
            session, tenant_id, EngagementCreate(job_id=job_id, prospect_id=prospect_id, type=effect, occurred_at=when)
        )
        recorded[effect] += 1
    return dict(recorded)
