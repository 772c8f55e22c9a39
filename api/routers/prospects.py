"""`/api/prospects/{id}`: the data-subject rights of one person, erasure and access (export).

`id` is the prospect id the leads carry (`gh_<login>`); the person is matched across every job of the
tenant by all their identifiers. The export is audited like any read of personal data; the erasure
writes its own audit record in the transaction that erases, naming tombstone ids instead of the
prospect id (which is the login it erased).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from api.core.auth import CurrentPrincipal, authenticate
from api.core.deps import SessionDep
from api.models.problem import problems
from api.models.prospects import SubjectExport
from api.routers.auditing import audited, origin_of
from api.services.audit import principal_actor
from api.services.erasure import Person, erase
from api.services.subject_export import export_person

router = APIRouter(
    prefix="/api/prospects", tags=["prospects"], dependencies=[Depends(authenticate)], responses=problems(401, 404, 422)
)

ProspectId = Annotated[
    str, Path(pattern=r"^gh_[A-Za-z0-9][A-Za-z0-9-]{0,38}$", description="The prospect id of the leads: `gh_<GitHub login>`.")
]


@router.delete("/{prospect_id}", status_code=204, responses=problems(409))
async def erase_prospect(prospect_id: ProspectId, principal: CurrentPrincipal, session: SessionDep, request: Request) -> Response:
    """Erase the person from every store of the tenant (GDPR Art. 17): prospect rows of every job,
    events naming them, artifacts (regenerated without them), job summaries, chat threads, webhook
    logs, the LangGraph checkpoints of the jobs that held them and the GitHub ETag cache; then a
    tombstone keeps them from being collected again. Repeating it is harmless (204 again).

    While a job of the tenant is running: 409 with `Retry-After` (the tombstone is already in force;
    the rest completes once no job runs)."""
    person = Person.of(prospect_id=prospect_id)
    await erase(session, principal.tenant_id, person, actor=principal_actor(principal), origin=origin_of(request))
    return Response(status_code=204)


@router.get("/{prospect_id}/export", dependencies=[audited("prospect.export")])
async def export_prospect(prospect_id: ProspectId, principal: CurrentPrincipal, session: SessionDep) -> SubjectExport:
    """Everything the tenant holds about the person (GDPR Art. 15): each job's record with its
    sources, collection time, lawful basis and expiry; drafted messages; engagement; pipeline events
    about them; their suppression status; and the ids of audit records naming them."""
    return await export_person(session, principal.tenant_id, Person.of(prospect_id=prospect_id))
