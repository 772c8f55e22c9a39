"""`/api/sender`: the tenant's sender profile, which new jobs put in their drafts.

Any key reads it (a reviewer needs to know who the drafts come from); only admin keys replace it,
as with the privacy settings: it decides where every recipient's opt-out goes.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.core.auth import AdminPrincipal, CurrentPrincipal, authenticate
from api.core.deps import SessionDep
from api.models.problem import problems
from api.models.sender import SenderSettings
from api.routers.auditing import audited
from api.services import sender

router = APIRouter(prefix="/api/sender", tags=["sender"], dependencies=[Depends(authenticate)], responses=problems(401))


@router.get("")
async def get_sender(principal: CurrentPrincipal, session: SessionDep) -> SenderSettings:
    """The profile (every field null until the tenant sets one: drafts then use the deployment's)."""
    return await sender.get_sender(session, principal.tenant_id)


@router.put("", responses=problems(400, 403, 415, 422), dependencies=[audited("sender.update")])
async def put_sender(body: SenderSettings, principal: AdminPrincipal, session: SessionDep) -> SenderSettings:
    """Replace the profile; jobs created from now on carry it (jobs already created keep theirs)."""
    return await sender.set_sender(session, principal.tenant_id, body)
