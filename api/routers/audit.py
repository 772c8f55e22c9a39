"""`GET /api/audit`: the tenant's audit trail, for its admin keys only (a member key gets 403).

Reading the trail is itself audited ('audit.read'): who looked at who-looked-at-what is part of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.core.auth import AdminPrincipal, authenticate
from api.core.deps import SessionDep
from api.models.audit import AuditEntry, AuditPage
from api.models.problem import problems
from api.routers.auditing import audited
from api.services.audit import AuditFilter, list_audit

router = APIRouter(prefix="/api/audit", tags=["audit"], dependencies=[Depends(authenticate)], responses=problems(401, 403, 422))


@router.get("", dependencies=[audited("audit.read")])
async def read_audit(
    principal: AdminPrincipal,
    session: SessionDep,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    action: Annotated[str | None, Query(max_length=64, description="Only this action, e.g. `artifact.download`.")] = None,
    job_id: Annotated[str | None, Query(max_length=32)] = None,
    prospect_id: Annotated[str | None, Query(max_length=255)] = None,
    since: Annotated[datetime | None, Query(description="Only records at or after this time (ISO 8601).")] = None,
) -> AuditPage:
    """Who read or changed the tenant's personal data (jobs, prospects, artifacts), newest first."""
    where = AuditFilter(action=action, job_id=job_id, prospect_id=prospect_id, since=since)
    rows, next_cursor = await list_audit(session, principal.tenant_id, where, limit=limit, cursor=cursor)
    return AuditPage(items=[AuditEntry.model_validate(row) for row in rows], next_cursor=next_cursor)
