"""`POST /api/events`: record what a prospect did with one job's outreach (opened, clicked, replied, ...).

Not to be confused with `api/routers/events.py`, the job's pipeline events streamed over SSE: these
are engagement events reported by the client, and `api/routers/analytics.py` counts them.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.core.auth import CurrentPrincipal, authenticate
from api.core.deps import SessionDep
from api.models.analytics import Engagement, EngagementCreate
from api.models.problem import problems
from api.routers.auditing import audited
from api.services.engagement import record_engagement

router = APIRouter(prefix="/api", tags=["engagement"], dependencies=[Depends(authenticate)], responses=problems(401, 422))


@router.post("/events", status_code=201, responses=problems(400, 404, 413, 415), dependencies=[audited("engagement.record")])
async def record_event(body: EngagementCreate, principal: CurrentPrincipal, session: SessionDep) -> Engagement:
    """Record what a prospect did (opened, replied, demo_booked, ...) for one job's outreach."""
    event = await record_engagement(session, principal.tenant_id, body)
    return Engagement.model_validate(event)
