"""A finished job's leads as a person reviews them: the list, one lead, and how files show a decision.

Where each part of a lead lives: `prospects.data` is the lead as the pipeline stored it, with its
draft and the compliance review of the rules (a person's edit replaces both: the draft, and the
review re-run on it; `api.services.lead_reviews`); `lead_reviews` holds a person's latest decision;
`prospects.verdict` is the lead's verdict now, the decision when there is one, else the review's
(what analytics count as contactable). Leads leave the service masked by the tenant's rules, as its
leads downloads are (`api.services.tenant_privacy.lead_masker`).
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.compliance import with_person_decision
from api.core import orm
from api.core.orm_web import LeadReview, ReviewDecision
from api.models.leads import LeadDecision, LeadDetail, LeadList, LeadSummary
from api.services.errors import NotFound
from api.services.jobs import get_job
from api.services.tenant_privacy import lead_masker
from foundation.schemas import Prospect
from tools.scoring import rank_key

Lead = tuple[orm.ProspectRow, LeadReview | None]


async def lead_rows(session: AsyncSession, tenant_id: str, job_id: str, prospect_id: str | None = None) -> list[Lead]:
    """The job's stored leads (or the one of `prospect_id`) with a person's decision on each, as
    the database has them now (also where this session already loaded them)."""
    query = (
        select(orm.ProspectRow, LeadReview)
        .outerjoin(
            LeadReview, and_(LeadReview.job_id == orm.ProspectRow.job_id, LeadReview.prospect_id == orm.ProspectRow.prospect_id)
        )
        .where(orm.ProspectRow.job_id == job_id, orm.ProspectRow.tenant_id == tenant_id)
        .execution_options(populate_existing=True)
    )
    if prospect_id is not None:
        query = query.where(orm.ProspectRow.prospect_id == prospect_id)
    return [(row, review) for row, review in (await session.execute(query)).all()]


async def one_lead(session: AsyncSession, tenant_id: str, job_id: str, prospect_id: str) -> Lead:
    found = await lead_rows(session, tenant_id, job_id, prospect_id)
    if not found:
        raise NotFound(f"job {job_id!r} has no lead {prospect_id!r}")
    return found[0]


def _summary(record: dict[str, Any], row: orm.ProspectRow, review: LeadReview | None) -> LeadSummary:
    """One list entry from a lead's stored JSON (already masked)."""
    message = record.get("message") or {}
    return LeadSummary(
        prospect_id=row.prospect_id,
        username=record["username"],
        name=record.get("name"),
        company=record.get("company"),
        location=record.get("location"),
        country=record.get("country"),
        region=record.get("region"),
        email=record.get("email"),
        email_source=record.get("email_source"),
        score=row.score,
        verdict=row.verdict,
        signals=[signal["name"] for signal in record.get("signals") or []],
        subject=message.get("subject"),
        follow_ups=len(record.get("follow_ups") or []),
        flags=(record.get("compliance") or {}).get("reasons") or [],
        decision=review.decision if review else None,
        decided_at=review.decided_at if review else None,
    )


async def list_leads(session: AsyncSession, tenant_id: str, job_id: str) -> LeadList:
    """Every stored lead of the job, ranked as the run ranked them (score, then login)."""
    await get_job(session, tenant_id, job_id)
    mask = await lead_masker(session, tenant_id)
    items = sorted(
        (_summary(mask(row.data), row, review) for row, review in await lead_rows(session, tenant_id, job_id)), key=rank_key
    )
    return LeadList(items=items, total=len(items))


async def get_lead(session: AsyncSession, tenant_id: str, job_id: str, prospect_id: str) -> LeadDetail:
    await get_job(session, tenant_id, job_id)
    row, review = await one_lead(session, tenant_id, job_id, prospect_id)
    mask = await lead_masker(session, tenant_id)
    return LeadDetail(
        prospect=Prospect.model_validate(mask(row.data)),
        review=LeadDecision.model_validate(review) if review else None,
    )


def as_decided(prospect: Prospect, review: LeadReview | None) -> Prospect:
    """The lead as the job's files show it: a person's decision is its verdict (contactable exactly
    when approved), and a reason says a person decided, next to the rules' reasons it overrode."""
    if review is None:
        return prospect
    return with_person_decision(prospect, cast(ReviewDecision, review.decision), f"key {review.decided_by}")
