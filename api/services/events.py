"""The per-job event log (`job_events`): what the SSE stream will replay and follow.

`seq` is assigned in the INSERT itself (max + 1 of the job's events); the primary key on
(job_id, seq) turns a concurrent double-append into an error instead of a silent duplicate.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.orm import JobEvent, utcnow

JOB_CREATED = "job.created"
JOB_CANCELLED = "job.cancelled"


async def append_event(session: AsyncSession, job_id: str, event: str, data: dict[str, Any]) -> int:
    """Append one event inside the caller's transaction; returns its sequence number."""
    next_seq = select(func.coalesce(func.max(JobEvent.seq), 0) + 1).where(JobEvent.job_id == job_id).scalar_subquery()
    result = await session.execute(
        insert(JobEvent)
        .values(job_id=job_id, seq=next_seq, event=event, data=data, created_at=utcnow())
        .returning(JobEvent.seq)
    )
    return result.scalar_one()
