"""Campaign, prospect and conversion analytics over the recorded engagement (`api/routers/engagement.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.core.auth import CurrentPrincipal, authenticate
from api.core.deps import SessionDep
from api.models.analytics import CampaignAnalytics, ConversionAnalytics, ProspectAnalytics
from api.models.problem import problems
from api.routers.auditing import audited
from api.services import analytics

router = APIRouter(prefix="/api", tags=["analytics"], dependencies=[Depends(authenticate)], responses=problems(401, 422))


@router.get("/analytics/campaigns")
async def campaign_analytics(
    principal: CurrentPrincipal, session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> CampaignAnalytics:
    """The funnel of each of the tenant's most recent jobs, newest first."""
    return CampaignAnalytics(items=await analytics.recent_campaigns(session, principal.tenant_id, limit))


@router.get("/analytics/prospects", dependencies=[audited("analytics.prospects")])
async def prospect_analytics(
    principal: CurrentPrincipal, session: SessionDep, top: Annotated[int, Query(ge=0, le=200)] = 20
) -> ProspectAnalytics:
    """Prospects by verdict and score, and the engagement of the best-scored ones."""
    return await analytics.prospect_analytics(session, principal.tenant_id, top)


@router.get("/analytics/conversions")
async def conversion_analytics(principal: CurrentPrincipal, session: SessionDep) -> ConversionAnalytics:
    """The tenant's whole funnel: found, contactable, contacted, engaged, converted."""
    return await analytics.conversions(session, principal.tenant_id)
