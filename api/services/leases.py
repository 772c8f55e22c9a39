"""Job leases: which worker runs a job, and when another one may take it over.

Every transition is one conditional UPDATE on the job row, so Postgres (or SQLite) arbitrates races
between workers without any lock held across statements: a worker claims a job that is `queued`, or
`running` on a lease whose heartbeat lapsed (its worker died); it renews the heartbeat while it
runs, and every write it makes afterwards is conditioned on still holding the lease, so a worker
that was presumed dead and comes back can no longer write anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import and_, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.core import orm
from api.core.database import Database

ClaimOutcome = Literal["run", "done", "busy"]
UNFINISHED = ("queued", "running")


def _held_by(job_id: str, worker_id: str) -> Any:
    return and_(orm.Job.id == job_id, orm.Job.worker_id == worker_id, orm.Job.status == "running")


async def claim_job(database: Database, job_id: str, worker_id: str, lapse_seconds: float) -> tuple[ClaimOutcome, orm.Job | None]:
    """Take the job if it is free: `run` with the claimed row (attempts counted), `done` when it
    finished (or never existed), `busy` when a live worker holds it."""
    now = orm.utcnow()
    lapsed = or_(orm.Job.heartbeat_at.is_(None), orm.Job.heartbeat_at < now - timedelta(seconds=lapse_seconds))
    async with database.sessions() as session:
        job = await session.scalar(
            update(orm.Job)
            .where(orm.Job.id == job_id, or_(orm.Job.status == "queued", and_(orm.Job.status == "running", lapsed)))
            .values(
                status="running",
                worker_id=worker_id,
                heartbeat_at=now,
                attempts=orm.Job.attempts + 1,
                started_at=func.coalesce(orm.Job.started_at, literal(now, orm.Job.__table__.c.started_at.type)),
            )
            .returning(orm.Job)
        )
        if job is not None:
            await session.commit()
            return "run", job
        status = await session.scalar(select(orm.Job.status).where(orm.Job.id == job_id))
    return ("busy" if status in UNFINISHED else "done"), None


async def renew_lease(session: AsyncSession, job_id: str, worker_id: str, counts: dict[str, int]) -> bool | None:
    """Refresh the heartbeat (and the live counts) in the caller's transaction. Returns the job's
    `cancel_requested`, or None when this worker no longer holds the lease."""
    return await session.scalar(
        update(orm.Job)
        .where(_held_by(job_id, worker_id))
        .values(heartbeat_at=orm.utcnow(), counts=counts)
        .returning(orm.Job.cancel_requested)
    )


async def end_lease(session: AsyncSession, job_id: str, worker_id: str, **values: Any) -> bool:
    """Move a held job to its final status in the caller's transaction; False if the lease is gone."""
    ended = await session.scalar(
        update(orm.Job).where(_held_by(job_id, worker_id)).values(finished_at=orm.utcnow(), **values).returning(orm.Job.id)
    )
    return ended is not None


async def release_lease(database: Database, job_id: str, worker_id: str) -> None:
    """Give a job back while it is still `running` (worker shutting down): with no heartbeat the
    next claim takes it at once and resumes it from its checkpoint. A clean stop is not a failed
    attempt, so it does not count towards `worker_max_attempts`."""
    async with database.sessions() as session:
        await session.execute(
            update(orm.Job)
            .where(_held_by(job_id, worker_id))
            .values(worker_id=None, heartbeat_at=None, attempts=orm.Job.attempts - 1)
        )
        await session.commit()


async def unfinished_job_ids(database: Database) -> Sequence[str]:
    """Every job of every tenant that still has to run or finish, oldest first (the recovery sweep)."""
    async with database.sessions() as session:
        query = select(orm.Job.id).where(orm.Job.status.in_(UNFINISHED)).order_by(orm.Job.created_at)
        return (await session.execute(query)).scalars().all()
