"""SPEC's `job.created` data (`prospect_count`, `estimated_duration`), computed once when the job is
created so the stored event (and so its SSE stream) and the webhook carry the same numbers.

It is on the hot path of `POST /api/jobs`, so it reads no encrypted column: the estimate learns
seconds per lead from the tenant's recent succeeded jobs' `started_at`/`finished_at` and the
`leads` count the worker keeps in `jobs.counts` (plain JSON), in one query on
`ix_jobs_tenant_status_created`.
"""

from __future__ import annotations

import statistics
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.goal_parser import ParsedGoal
from api.core import orm
from foundation.schemas import Campaign
from foundation.schemas.plan import lead_count

HISTORY_JOBS = 20  # recent succeeded jobs the duration estimate learns from
LEADS = "leads"  # the `jobs.counts` key of a finished job's leads (SPEC's prospects_found)


async def job_created_data(session: AsyncSession, job: orm.Job, parsed: ParsedGoal) -> dict[str, Any]:
    """SPEC's job.created data: the goal, the prospect target as the planner will decide it (from the
    goal the caller already parsed), and a duration estimated from the tenant's recent succeeded jobs
    (whole seconds; null without history)."""
    campaign = Campaign.model_validate(job.campaign) if job.campaign is not None else None
    count = lead_count(job.max_prospects, parsed.max_prospects, campaign)
    history = await session.execute(
        select(orm.Job.started_at, orm.Job.finished_at, orm.Job.counts)
        .where(orm.Job.tenant_id == job.tenant_id, orm.Job.status == "succeeded")
        .order_by(orm.Job.created_at.desc())
        .limit(HISTORY_JOBS)
    )
    rates = [
        (finished - started).total_seconds() / counts[LEADS]
        for started, finished, counts in history
        if started is not None and finished is not None and isinstance(counts.get(LEADS), int) and counts[LEADS] > 0
    ]
    estimate = round(statistics.median(rates) * count) if rates else None
    return {"goal": job.goal, "estimated_duration": estimate, "prospect_count": count}
