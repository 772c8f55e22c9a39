"""The prospects of a job as rows, which the analytics group and count.

`save_prospects` is the writer's side (the worker, once it exists): an upsert keyed by
(job, prospect id), so a job resumed after a crash rewrites its leads instead of duplicating them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from api.core import orm
from api.core.database import upsert
from foundation.schemas import Prospect

_CHUNK = 500  # rows per statement: far below SQLite's and Postgres's bound-parameter limits


async def save_prospects(session: AsyncSession, job: orm.Job, prospects: Sequence[Prospect]) -> None:
    """Store (or refresh) the job's prospects in the caller's transaction."""
    rows = [
        {
            "job_id": job.id,
            "prospect_id": p.id,
            "tenant_id": job.tenant_id,
            "data": p.model_dump(mode="json"),
            "score": p.score,
            "verdict": p.compliance.verdict if p.compliance else None,
        }
        for p in prospects
    ]
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        await session.execute(upsert(session, orm.ProspectRow, chunk, ["job_id", "prospect_id"], ["data", "score", "verdict"]))
