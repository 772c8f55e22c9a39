"""`/api/destinations` (a tenant's CRMs, marketing and analytics tools) and `POST /api/jobs/{id}/sync`.

Creating, changing and testing a destination takes an admin key: a destination's token reaches
outside the service, and its mapping decides what personal data leaves. Any key lists them (never
with their tokens), deletes one and starts a sync. Every route is audited.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from api.core.auth import AdminPrincipal, CurrentPrincipal, authenticate
from api.core.deps import SessionDep
from api.models.destinations import (
    Destination,
    DestinationCreate,
    DestinationList,
    DestinationTest,
    DestinationUpdate,
    SyncAccepted,
    SyncRequest,
)
from api.models.problem import problems
from api.routers.auditing import audited
from api.services import destination_sync, destinations

router = APIRouter(tags=["destinations"], dependencies=[Depends(authenticate)], responses=problems(401))
PREFIX = "/api/destinations"


@router.post(PREFIX, status_code=201, responses=problems(403, 409, 415, 422), dependencies=[audited("destination.create")])
async def create_destination(
    body: DestinationCreate, principal: AdminPrincipal, session: SessionDep, response: Response
) -> Destination:
    """Add a destination; its token is stored encrypted with the tenant's key and never shown again."""
    row = await destinations.create_destination(session, principal.tenant_id, body)
    response.headers["Location"] = f"{PREFIX}/{row.id}"
    return destinations.describe(row)


@router.get(PREFIX, dependencies=[audited("destination.list")])
async def list_destinations(principal: CurrentPrincipal, session: SessionDep) -> DestinationList:
    """The tenant's destinations (tokens blanked)."""
    return DestinationList(
        items=[destinations.describe(r) for r in await destinations.list_destinations(session, principal.tenant_id)]
    )


@router.get(PREFIX + "/{destination_id}", responses=problems(404), dependencies=[audited("destination.read")])
async def get_destination(destination_id: str, principal: CurrentPrincipal, session: SessionDep) -> Destination:
    return destinations.describe(await destinations.get_destination(session, principal.tenant_id, destination_id))


@router.put(
    PREFIX + "/{destination_id}", responses=problems(403, 404, 409, 415, 422), dependencies=[audited("destination.update")]
)
async def put_destination(
    destination_id: str, body: DestinationUpdate, principal: AdminPrincipal, session: SessionDep
) -> Destination:
    """Replace the configuration (leave `token` out to keep the stored one)."""
    return destinations.describe(await destinations.update_destination(session, principal.tenant_id, destination_id, body))


@router.delete(
    PREFIX + "/{destination_id}", status_code=204, responses=problems(404, 409), dependencies=[audited("destination.delete")]
)
async def delete_destination(destination_id: str, principal: CurrentPrincipal, session: SessionDep) -> Response:
    """Delete it, with its stored credentials (any key of the tenant, as jobs and suppressions: it sends
    nothing anywhere); refused while it holds people this service sent (409)."""
    await destinations.delete_destination(session, principal.tenant_id, destination_id)
    return Response(status_code=204)


@router.post(PREFIX + "/{destination_id}/test", responses=problems(403, 404), dependencies=[audited("destination.test")])
async def test_destination(destination_id: str, principal: AdminPrincipal, session: SessionDep) -> DestinationTest:
    """Ask the platform whether it accepts the stored credentials (`ok: false` with its answer if not)."""
    return await destinations.test_destination(session, principal.tenant_id, destination_id)


@router.post(
    "/api/jobs/{job_id}/sync", status_code=202, responses=problems(404, 409, 415, 422), dependencies=[audited("job.sync")]
)
async def sync_job(
    job_id: str, body: SyncRequest, request: Request, principal: CurrentPrincipal, session: SessionDep
) -> SyncAccepted:
    """Push the job's approved leads (`all`: every lead with a verdict) into a destination and pull its
    changes back, in the background; watch for `sync.completed` / `sync.failed` on the job's events."""
    await destination_sync.start_sync(request.app.state.database, session, principal.tenant_id, job_id, body)
    return SyncAccepted(job_id=job_id, destination_id=body.destination_id)
