"""`/api/suppressions`: the tenant's do-not-contact list (add, list, lift, CSV import and export).

Every route is audited: the list is personal data, and lifting a suppression decides whether
someone may be contacted again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from api.core.auth import CurrentPrincipal, authenticate
from api.core.deps import SessionDep
from api.core.errors import Problem
from api.models.problem import problems
from api.models.suppressions import Suppression, SuppressionCreate, SuppressionImport, SuppressionPage
from api.routers.artifacts import content_disposition
from api.routers.auditing import audited
from api.services import suppressions
from tools.suppression import SuppressionKind

router = APIRouter(
    prefix="/api/suppressions", tags=["suppressions"], dependencies=[Depends(authenticate)], responses=problems(401)
)

EXPORT_NAME = "suppressions.csv"
_CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}, "example": "kind,value\nlogin,octocat\ndomain,example.org\n"}},
    }
}


@router.post("", status_code=201, responses=problems(400, 413, 415, 422), dependencies=[audited("suppression.create")])
async def create_suppression(
    body: SuppressionCreate, principal: CurrentPrincipal, session: SessionDep, response: Response
) -> Suppression:
    """Suppress one identifier at once (idempotent: adding it again returns the existing entry, with
    the stronger of the two reasons)."""
    row = await suppressions.add_suppression(
        session, principal.tenant_id, body.kind, body.value, reason=body.reason, source="api"
    )
    await session.commit()
    response.headers["Location"] = f"/api/suppressions/{row.id}"
    return suppressions.describe(session, row)


@router.get("", responses=problems(422), dependencies=[audited("suppression.list")])
async def list_suppressions(
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    kind: Annotated[SuppressionKind | None, Query()] = None,
) -> SuppressionPage:
    """The tenant's list, newest first, values decrypted (an erasure tombstone has none)."""
    rows, next_cursor = await suppressions.list_suppressions(session, principal.tenant_id, limit=limit, cursor=cursor, kind=kind)
    return SuppressionPage(items=[suppressions.describe(session, row) for row in rows], next_cursor=next_cursor)


@router.post(
    "/import",
    responses=problems(400, 413, 415, 422),
    openapi_extra=_CSV_BODY,
    dependencies=[audited("suppression.import")],
)
async def import_suppressions(request: Request, principal: CurrentPrincipal, session: SessionDep) -> SuppressionImport:
    """A `text/csv` body with the header `kind,value`: every row is added, or none is (a 422 names
    every bad line). At most 10,000 rows and the service's body size limit."""
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, f"the CSV is not UTF-8 text (byte {exc.start})", slug="invalid-csv") from exc
    rows, created = await suppressions.import_csv(session, principal.tenant_id, text, source="api-import")
    await session.commit()
    return SuppressionImport(rows=rows, created=created)


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"description": "`kind,value` CSV (what the import reads).", "content": {"text/csv": {}}}},
    dependencies=[audited("suppression.export")],
)
async def export_suppressions(principal: CurrentPrincipal, session: SessionDep) -> Response:
    """The list as a CSV attachment; erasure tombstones hold no value and are left out."""
    text = await suppressions.export_csv(session, principal.tenant_id)
    return Response(text, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": content_disposition(EXPORT_NAME)})


@router.delete("/{suppression_id}", status_code=204, responses=problems(404, 409), dependencies=[audited("suppression.delete")])
async def delete_suppression(suppression_id: str, principal: CurrentPrincipal, session: SessionDep) -> Response:
    """Lift a manual or imported suppression; objections, unsubscribes and erasures are permanent (409)."""
    await suppressions.delete_suppression(session, principal.tenant_id, suppression_id)
    await session.commit()
    return Response(status_code=204)
