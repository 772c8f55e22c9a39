"""The analytics computed from jobs, prospects and engagement rows (recorded by `api.services.engagement`).

Counting is done by the database (GROUP BY per job); only converted prospects are fetched
individually, because each job may define its own conversion goals. Definitions are in
`api.models.analytics`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, distinct, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core import orm
from api.core.orm_sends import SendRow
from api.models.analytics import (
    CampaignStats,
    ConversionAnalytics,
    Funnel,
    ProspectAnalytics,
    ProspectStats,
)
from foundation.schemas import Campaign
from foundation.schemas.campaign import DEFAULT_CONVERSION_GOALS

P, E = orm.ProspectRow, orm.EngagementEvent


def conversion_goals(campaign: dict[str, Any] | None) -> tuple[str, ...]:
    """The campaign's explicit conversion goals that are engagement types, else the defaults."""
    chosen = ((campaign or {}).get("analytics") or {}).get("conversion_goals") or []
    return tuple(goal for goal in chosen if goal in orm.ENGAGEMENT_TYPES) or DEFAULT_CONVERSION_GOALS


def _rate(conversions: int, contacted: int) -> float | None:
    return round(conversions / contacted, 4) if contacted else None


async def campaign_stats(session: AsyncSession, tenant_id: str, jobs: Sequence[orm.Job]) -> list[CampaignStats]:
    """The funnel of each given job (all of the same tenant), in the order given."""
    ids = [job.id for job in jobs]
    goals = {job.id: conversion_goals(job.campaign) for job in jobs}
    engaged = exists().where(E.job_id == P.job_id, E.prospect_id == P.prospect_id)
    approved = P.verdict == "approved"
    prospect_rows = await session.execute(
        select(
            P.job_id,
            func.count(),
            func.sum(case((approved, 1), else_=0)),
            func.sum(case((or_(approved, engaged), 1), else_=0)),
        )
        .where(P.tenant_id == tenant_id, P.job_id.in_(ids))
        .group_by(P.job_id)
    )
    found = {job_id: (total, int(ok or 0), int(contacted or 0)) for job_id, total, ok, contacted in prospect_rows}
    engagement: dict[str, dict[str, int]] = defaultdict(dict)
    for job_id, kind, count in await session.execute(
        select(E.job_id, E.type, func.count(distinct(E.prospect_id)))
        .where(E.tenant_id == tenant_id, E.job_id.in_(ids))
        .group_by(E.job_id, E.type)
    ):
        engagement[job_id][kind] = count
    converted: dict[str, set[str]] = defaultdict(set)
    by_goal: dict[str, dict[str, int]] = defaultdict(dict)
    goal_types = sorted({goal for job_goals in goals.values() for goal in job_goals})
    for job_id, prospect_id, kind in await session.execute(
        select(E.job_id, E.prospect_id, E.type)
        .where(E.tenant_id == tenant_id, E.job_id.in_(ids), E.type.in_(goal_types))
        .distinct()
    ):
        if kind in goals[job_id]:
            converted[job_id].add(prospect_id)
            by_goal[job_id][kind] = by_goal[job_id].get(kind, 0) + 1
    mail = await send_counts(session, tenant_id, ids)
    stats = []
    for job in jobs:
        total, contactable, contacted = found.get(job.id, (0, 0, 0))
        conversions = len(converted[job.id])
        campaign = Campaign.model_validate(job.campaign) if job.campaign is not None else None
        stats.append(
            CampaignStats(
                job_id=job.id,
                campaign_id=campaign.id if campaign else None,
                campaign_name=campaign.name if campaign else None,
                goal=job.goal,
                status=job.status,
                created_at=job.created_at,
                conversion_goals=list(goals[job.id]),
                prospects_found=total,
                contactable=contactable,
                contacted=contacted,
                engagement=engagement[job.id],
                conversions=conversions,
                conversion_rate=_rate(conversions, contacted),
                by_goal=by_goal[job.id],
                **mail.get(job.id, {}),
            )
        )
    return stats


async def send_counts(session: AsyncSession, tenant_id: str, job_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per job: messages sent (a bounce is a message that went out), bounced, complained about, replied to."""
    S = SendRow
    went_out = S.status.in_(("sent", "bounced"))
    rows = await session.execute(
        select(
            S.job_id,
            func.count().filter(went_out),
            func.count().filter(S.status == "bounced"),
            func.count(S.complained_at),
            func.count(S.replied_at),
        )
        .where(S.tenant_id == tenant_id, S.job_id.in_(job_ids))
        .group_by(S.job_id)
    )
    return {
        job_id: {"sent": sent, "bounced": bounced, "complained": complained, "replied": replied}
        for job_id, sent, bounced, complained, replied in rows
    }


async def recent_campaigns(session: AsyncSession, tenant_id: str, limit: int) -> list[CampaignStats]:
    jobs = (
        (
            await session.execute(
                select(orm.Job)
                .where(orm.Job.tenant_id == tenant_id)
                .order_by(orm.Job.created_at.desc(), orm.Job.id.desc())
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    return await campaign_stats(session, tenant_id, jobs)


async def conversions(session: AsyncSession, tenant_id: str) -> ConversionAnalytics:
    """All of the tenant's jobs added up (each converted prospect counted once per job)."""
    jobs = (await session.execute(select(orm.Job).where(orm.Job.tenant_id == tenant_id))).scalars().all()
    per_job = await campaign_stats(session, tenant_id, jobs)
    total = Funnel()
    for stats in per_job:
        total.prospects_found += stats.prospects_found
        total.contactable += stats.contactable
        total.contacted += stats.contacted
        total.conversions += stats.conversions
        for name in ("sent", "bounced", "complained", "replied"):
            setattr(total, name, getattr(total, name) + getattr(stats, name))
        for totals, counts in ((total.engagement, stats.engagement), (total.by_goal, stats.by_goal)):
            for kind, count in counts.items():
                totals[kind] = totals.get(kind, 0) + count
    total.conversion_rate = _rate(total.conversions, total.contacted)
    return ConversionAnalytics(**total.model_dump(), jobs=len(per_job))


async def prospect_analytics(session: AsyncSession, tenant_id: str, top: int) -> ProspectAnalytics:
    by_verdict: dict[str, int] = {}
    score_sum = 0.0
    for verdict, count, scores in await session.execute(
        select(P.verdict, func.count(), func.sum(P.score)).where(P.tenant_id == tenant_id).group_by(P.verdict)
    ):
        by_verdict[verdict or "unreviewed"] = count
        score_sum += float(scores or 0)
    total = sum(by_verdict.values())
    engaged = await session.scalar(
        select(func.count()).select_from(select(E.job_id, E.prospect_id).where(E.tenant_id == tenant_id).distinct().subquery())
    )
    best = (
        await session.execute(
            select(P.job_id, P.prospect_id, P.score, P.verdict)
            .where(P.tenant_id == tenant_id)
            .order_by(P.score.desc(), P.job_id, P.prospect_id)
            .limit(top)
        )
    ).all()
    events: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    last: dict[tuple[str, str], Any] = {}
    if best:
        for job_id, prospect_id, kind, count, latest in await session.execute(
            select(E.job_id, E.prospect_id, E.type, func.count(), func.max(E.occurred_at))
            .where(
                E.tenant_id == tenant_id,
                E.job_id.in_({row[0] for row in best}),
                E.prospect_id.in_({row[1] for row in best}),
            )
            .group_by(E.job_id, E.prospect_id, E.type)
        ):
            events[(job_id, prospect_id)][kind] = count
            last[(job_id, prospect_id)] = max(latest, last.get((job_id, prospect_id), latest))
    return ProspectAnalytics(
        total=total,
        by_verdict=by_verdict,
        average_score=round(score_sum / total, 4) if total else None,
        engaged=engaged or 0,
        top=[
            ProspectStats(
                job_id=job_id,
                prospect_id=prospect_id,
                username=prospect_id.removeprefix("gh_"),  # `data` is encrypted; the id is gh_<login>
                score=score,
                verdict=verdict,
                events=events.get((job_id, prospect_id), {}),
                last_event_at=last.get((job_id, prospect_id)),
            )
            for job_id, prospect_id, score, verdict in best
        ],
    )
