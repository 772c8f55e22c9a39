"""`/api/session`: browser sign-in for the web app (api/services/web_sessions.py holds the rows).

The page posts an API key once and gets an httpOnly `cmo_session` cookie, which authenticates its
later `/api` requests instead of a bearer header (api/core/auth.py), and a CSRF token, which it
keeps in memory and sends as `X-CSRF-Token` on unsafe requests. After a reload it reads the token
again with `GET /api/session`. Sign-in and sign-out are audited (`session.create`, `session.delete`).

The sign-in itself needs no cookie and no CSRF token: a cross-site page cannot make a browser post it,
since the body must be `application/json` (a form cannot send that, and a cross-origin `fetch` that
does is preflighted and refused: the API sends no CORS headers).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from api.core.api_keys import hash_api_key
from api.core.auth import CurrentWebSession, invalid_key, lookup_principal, session_cookie_header
from api.core.config import ApiConfig
from api.core.deps import SessionDep
from api.models.problem import problems
from api.models.session import SessionCreate, SessionState
from api.routers.auditing import record_request
from api.services import web_sessions

router = APIRouter(prefix="/api/session", tags=["session"])


def _state(active: web_sessions.ActiveSession) -> SessionState:
    principal = active.principal
    return SessionState(
        tenant=principal.tenant_name, role=principal.role, csrf_token=active.csrf_token, expires_at=active.expires_at
    )


@router.post("", status_code=201, responses=problems(400, 401, 413, 415, 422))
async def sign_in(body: SessionCreate, session: SessionDep, request: Request, response: Response) -> SessionState:
    """Open a browser session with an API key: sets the `cmo_session` cookie (HttpOnly,
    SameSite=Strict, Secure over https) for `ApiConfig.web_session_hours`."""
    principal = await lookup_principal(session, hash_api_key(body.api_key))
    if principal is None:
        raise invalid_key()
    config: ApiConfig = request.app.state.config
    max_age = round(config.web_session_hours * 3600)
    token, opened = await web_sessions.open_session(session, principal, timedelta(seconds=max_age))
    response.headers.append("Set-Cookie", session_cookie_header(request, token, max_age))
    await record_request(request, response, principal, "session.create", 201)
    return _state(opened)


@router.get("", responses=problems(401))
async def read_session(active: CurrentWebSession) -> SessionState:
    """The signed-in session and its CSRF token (a reloaded page has lost it); 401 saying why
    there is none: not signed in, expired, or its key revoked."""
    return _state(active)


@router.delete("", status_code=204, responses=problems(401, 403))
async def sign_out(active: CurrentWebSession, session: SessionDep, request: Request, response: Response) -> None:
    """End the session and clear its cookie (needs `X-CSRF-Token`, like every unsafe request)."""
    await web_sessions.close_session(session, active.id)
    response.headers.append("Set-Cookie", session_cookie_header(request, "", 0))
    await record_request(request, response, active.principal, "session.delete", 204)
