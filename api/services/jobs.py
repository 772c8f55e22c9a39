"""Jobs: create and enqueue, read, list, summarise, cancel, always within one tenant.

A job that belongs to another tenant is looked up with the tenant in the WHERE clause, so it is
simply not found: the same `NotFound` as for an id that never existed.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import structlog
from redis.exceptions import RedisError
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agents.goal_parser import parse_goal
from api.core import orm
from api.core.database import Database
from api.models.jobs import MAX_GOAL_CHARS, JobCreate, JobSummary
from api.models.sender import SenderSettings
from api.services.cancel import announce_cancel
from api.services.errors import Conflict, InvalidInput, NotFound
from api.services.estimates import job_created_data
from api.services.events import JOB_CANCELLED, JOB_CREATED, append_event
from api.services.pagination import decode_cursor, encode_cursor
from api.services.queue import JobQueue
from api.services.sender import campaign_with_sender
from api.services.webhooks import check_webhook_url, dispatch_for_event
from foundation.schemas.run import RunSummary
from foundation.seeds import goal_with_seeds

log = structlog.get_logger("api.jobs")


def new_job_id() -> str:
    return f"cmo_{secrets.token_hex(10)}"


async def create_job(
    session: AsyncSession, queue: JobQueue, tenant_id: str, request: JobCreate, *, database: Database
) -> orm.Job:
    """Write the row and its `job.created` event in one transaction, then enqueue the id and
    schedule the `job.created` webhook (in the background, with `database`'s own sessions).

    The campaign is stored as the client sent it (unset fields left out), so later readers can tell
    an explicit choice such as `analytics.conversion_goals` from a default; where it names no sender
    or opt-out URL, the tenant's sender profile fills them in (`api.services.sender`). A campaign
    without an id is the job's own (`cmp_<job hex>`), so analytics never lumps unrelated jobs
    together under the schema's `cmp_default`.
    """
    goal = goal_with_seeds(request.goal, request.lookalike_of) if request.lookalike_of else request.goal
    if len(goal) > MAX_GOAL_CHARS:
        raise InvalidInput(f"the goal with its lookalike seeds is over {MAX_GOAL_CHARS} characters", field="body.lookalike_of")
    parsed = parse_goal(goal)  # once: the refusal here, the lead count in job.created
    refusal = parsed.refusal
    if refusal:  # refused at once, as the chat and `cmo run` refuse it (not a job that then fails)
        raise InvalidInput(f"cannot run this goal: {refusal}", slug="goal-refused", field="body.goal")
    if request.webhook_url:
        await check_webhook_url(str(request.webhook_url), database.settings, field="body.webhook_url")
    job_id = new_job_id()
    # One query for both: the sender profile fills the campaign, and most tenants have no webhook,
    # which spares a background lookup per created job.
    tenant = (await session.execute(select(orm.Tenant.sender, orm.Tenant.webhook_url).where(orm.Tenant.id == tenant_id))).first()
    sender, tenant_webhook = tenant if tenant is not None else (None, None)
    submitted = request.campaign.model_dump(mode="json", exclude_unset=True) if request.campaign else {}
    submitted.setdefault("id", f"cmp_{job_id.removeprefix('cmo_')}")
    job = orm.Job(
        id=job_id,
        tenant_id=tenant_id,
        status="queued",
        goal=goal,
        campaign=campaign_with_sender(submitted, SenderSettings.model_validate(sender or {}), database.settings),
        max_prospects=request.max_prospects,
        webhook_url=str(request.webhook_url) if request.webhook_url else None,
        metadata_=request.metadata,
        counts={},
        cancel_requested=False,
        created_at=orm.utcnow(),
    )
    session.add(job)
    await session.flush()
    created = await job_created_data(session, job, parsed)  # the stored event and the webhook carry the same numbers
    data = created | {"max_prospects": job.max_prospects, "campaign_id": (job.campaign or {}).get("id")}
    await append_event(session, job.id, JOB_CREATED, data, new_job=True)
    notify = bool(job.webhook_url or tenant_webhook)
    await session.commit()
    structlog.contextvars.bind_contextvars(job_id=job.id)
    try:
        await queue.enqueue(job.id)
    except RedisError as exc:
        # The row is the source of truth: workers re-enqueue queued jobs the stream does not hold.
        log.warning("job stored but not enqueued", error=str(exc))
    if notify:
        await dispatch_for_event(database, job.id, JOB_CREATED, created, occurred_at=job.created_at)
    return job


async def get_job(session: AsyncSession, tenant_id: str, job_id: str) -> orm.Job:
    job = (
        await session.execute(select(orm.Job).where(orm.Job.id == job_id, orm.Job.tenant_id == tenant_id))
    ).scalar_one_or_none()
    if job is None:
        raise NotFound(f"no job {job_id!r}")
    return job


async def list_jobs(
    session: AsyncSession, tenant_id: str, *, limit: int, cursor: str | None, status: str | None
) -> tuple[Sequence[orm.Job], str | None]:
    """One page of the tenant's jobs, newest first, and the cursor of the next page (or None)."""
    query = select(orm.Job).where(orm.Job.tenant_id == tenant_id)
    if status is not None:
        query = query.where(orm.Job.status == status)
    if cursor is not None:
        created_at, job_id = decode_cursor(cursor)
        query = query.where(or_(orm.Job.created_at < created_at, (orm.Job.created_at == created_at) & (orm.Job.id < job_id)))
    rows = (await session.execute(query.order_by(orm.Job.created_at.desc(), orm.Job.id.desc()).limit(limit + 1))).scalars().all()
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(last.created_at, last.id)


async def job_summary(session: AsyncSession, tenant_id: str, job_id: str) -> JobSummary:
    job = await get_job(session, tenant_id, job_id)
    summary = RunSummary.model_validate(job.summary) if job.summary is not None else None
    return JobSummary(job_id=job.id, status=job.status, counts=job.counts, summary=summary)


async def cancel_job(session: AsyncSession, tenant_id: str, job_id: str) -> orm.Job:
    """Cancel a queued job at once, or ask a running one to stop (`cancel_requested`).

    Each transition is a conditional UPDATE on the status just read; if a worker moved the job in
    between, the next pass sees the new status. Cancelling a finished job is a `Conflict`.
    """
    for _ in range(3):
        job = await get_job(session, tenant_id, job_id)
        if job.status in orm.FINISHED_STATUSES:
            raise Conflict(f"job {job_id!r} already finished with status {job.status!r}", slug="job-finished")
        queued = job.status == "queued"
        changes = (
            {"status": "cancelled", "finished_at": orm.utcnow(), "cancel_requested": True}
            if queued
            else {"cancel_requested": True}
        )
        changed = await session.scalar(
            update(orm.Job).where(orm.Job.id == job.id, orm.Job.status == job.status).values(**changes).returning(orm.Job.id)
        )
        if changed is not None:
            if queued:
                await append_event(session, job.id, JOB_CANCELLED, {"reason": "cancelled before it started"})
            await session.commit()
            if not queued:
                await announce_cancel(session, job.id)
            await session.refresh(job)
            return job
        await session.rollback()
    raise Conflict(f"job {job_id!r} is changing state; retry the request", slug="job-busy")


async def jobs_by_status(session: AsyncSession) -> dict[str, int]:
    """Job counts of every tenant, for the `cmo_jobs` gauge."""
    rows = await session.execute(select(orm.Job.status, func.count()).group_by(orm.Job.status))
    counts = dict.fromkeys(orm.JOB_STATUSES, 0)
    counts.update(rows.all())
    return counts
