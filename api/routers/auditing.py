"""The HTTP side of the audit trail (api/services/audit.py): the `audited` route dependency, and the
`Origin` of a request that routes hand to services which write their own record (erasure, objection).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import structlog
from fastapi import Depends, Request, Response
from fastapi.params import Depends as DependsParam
from starlette.requests import HTTPConnection

from api.core.auth import CurrentPrincipal
from api.core.deps import SessionDep
from api.core.errors import status_of
from api.core.principal import Principal
from api.services.audit import ACTION, EMAIL, Origin, append_grouped, new_record, principal_actor

log = structlog.get_logger("api.audit")
_NOTE = "audit_note"


def origin_of(connection: HTTPConnection) -> Origin:
    """The client's address and user agent, as the audit trail records them."""
    return Origin(ip=connection.client.host if connection.client else None, user_agent=connection.headers.get("user-agent"))


def note_for_audit(request: Request, *, prospect_ids: Sequence[str] = (), **detail: str | int) -> None:
    """What the route learned while it ran and its audit record should carry besides the path's ids:
    the prospects a bulk action touched, the decision it recorded. Ids, codes and counts only (a value
    that looks like an email address fails the record, and so the request)."""
    setattr(request.state, _NOTE, (list(prospect_ids), detail))


def _request_ids(request: Request, response: Response) -> dict[str, Any]:
    """The resource ids of a request: its path parameters (an email address in a path is stored
    as '<email>', so that a route addressed by one still gets its record), what the route noted
    (`note_for_audit`), or the job a POST created."""
    params: dict[str, Any] = {name: EMAIL.sub("<email>", str(value)) for name, value in request.path_params.items()}
    noted_ids, noted = getattr(request.state, _NOTE, ([], {}))
    prospect_ids = ([params.pop("prospect_id")] if "prospect_id" in params else []) + noted_ids
    params |= noted
    ids: dict[str, Any] = {
        "job_id": params.pop("job_id", None),
        "artifact_id": params.pop("artifact_id", None),
        "prospect_ids": prospect_ids or None,
        "detail": params or None,
    }
    created = (response.headers.get("location") or "").rstrip("/").rsplit("/", 1)[-1]
    if ids["job_id"] is None and created.startswith("cmo_"):
        ids["job_id"] = created
    return ids


def _outcome(request: Request, response: Response, error: BaseException | None) -> int:
    """The HTTP status the request is answered with."""
    if error is not None:
        return status_of(error)
    route = request.scope.get("route")
    return response.status_code or getattr(route, "status_code", None) or 200


async def record_request(request: Request, response: Response, principal: Principal, action: str, outcome: int) -> None:
    """Append the record of one request (ids from its path and `Location`); returns once committed.
    `audited` calls it for its routes; a route whose principal is only known inside (the sign-in)
    calls it itself."""
    entry = new_record(
        tenant_id=principal.tenant_id,
        actor=principal_actor(principal),
        action=action,
        origin=origin_of(request),
        outcome=outcome,
        **_request_ids(request, response),
    )
    await append_grouped(request.app.state.database, entry)


def audited(action: str) -> DependsParam:
    """A route dependency recording one `action` per request, with the final HTTP status:
    `@router.get(..., dependencies=[audited("artifact.download")])` (use it as is, not in `Depends`).

    It runs when the endpoint returns or raises, before the response is sent (for SSE: once, when
    the stream opens). Ids come from the path (`job_id`, `artifact_id`, `prospect_id`; others go
    to `detail`), from what the route noted (`note_for_audit`) and from a created job's `Location`.
    The route commits its own changes first; a request whose audit record cannot be written is
    answered 500, never served unaudited.
    Requests refused by authentication (401) are not recorded: they touched no tenant's data.
    """
    if not ACTION.fullmatch(action):
        raise ValueError(f"audit action must be a dotted verb, got {action!r}")

    async def record(
        request: Request, response: Response, principal: CurrentPrincipal, session: SessionDep
    ) -> AsyncIterator[None]:
        error: BaseException | None = None
        try:
            yield
        except Exception as exc:
            error = exc
        if error is not None and session.in_transaction():
            # What a failed request wrote is never committed: give its locks back before the audit
            # record is written on another connection (SQLite: a `DELETE ... RETURNING` that matched
            # nothing still holds the file's write lock, and the record would wait for it, then fail).
            await session.rollback()
        try:
            await record_request(request, response, principal, action, _outcome(request, response, error))
        except Exception:
            if error is None:
                raise
            log.exception("audit record of a failed request not written", action=action)
        if error is not None:
            raise error

    return Depends(record, scope="function")
