"""API keys: `Authorization: Bearer <key>` names a tenant; everything a route touches is scoped to it.

Keys are minted and hashed by `api.core.api_keys`; the lookup is a single indexed equality query.

Browsers sign in instead (api/routers/session.py): a request with no `Authorization` header but a
`cmo_session` cookie is authenticated by its session (api/services/web_sessions.py), which yields
the principal of the key it was opened with. A cookie is sent by the browser on its own, so an
unsafe request (POST, PUT, PATCH, DELETE) authenticated by one must also carry the session's CSRF
token in `X-CSRF-Token`, which only a page that read it from `/api/session` can know. A bearer
header is never sent implicitly: it needs no CSRF token, and it wins when both are present.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

import structlog
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.api_keys import hash_api_key
from api.core.deps import SessionDep
from api.core.errors import Problem
from api.core.key_cache import KeyCache
from api.core.metrics import KEY_LOOKUPS
from api.core.orm import ApiKey, Tenant
from api.core.principal import Principal
from api.services.web_sessions import ActiveSession, SessionEnd, find_session
from storage.encrypted_types import ensure_tenant_keys
from storage.keyring import tenant_scope

bearer = HTTPBearer(auto_error=False, description="An API key from `cmo apikey create --tenant NAME`.")
SESSION_COOKIE = "cmo_session"
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="SessionCookie",
    auto_error=False,
    description="A browser session from `POST /api/session`; unsafe requests also need its `X-CSRF-Token` header.",
)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_SIGNED_IN = "not signed in"
SESSION_ENDED: dict[SessionEnd, str] = {
    "unknown": NOT_SIGNED_IN,
    "expired": "your session expired: sign in again",
    "revoked": "the API key of this session was revoked: sign in with another key",
}
# Not "token: send": error details go through `redact_secrets`, which would take that for a secret.
CSRF_REFUSED = "missing or wrong CSRF token; send the X-CSRF-Token the session gave you"


async def lookup_principal(session: AsyncSession, key_hash: str) -> Principal | None:
    """The principal of an active key, from the database (None: unknown or revoked)."""
    query = (
        select(ApiKey.id, Tenant.id, Tenant.name, ApiKey.role)
        .join(Tenant, Tenant.id == ApiKey.tenant_id)
        .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    )
    row = (await session.execute(query)).first()
    if row is None:
        return None
    key_id, tenant_id, tenant_name, role = row
    return Principal(tenant_id=tenant_id, tenant_name=tenant_name, key_id=key_id, role=role)


def invalid_key() -> Problem:
    """The 401 for a key that is not (or no longer) valid, bearer or sign-in."""
    return Problem(401, "unknown or revoked API key", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def session_cookie_header(request: Request, token: str, max_age: int) -> str:
    """The `Set-Cookie` value of a session token (an empty token and 0 s clear the cookie). HttpOnly
    keeps it from the page's scripts, SameSite=Strict out of requests other sites start, and Secure
    (over https) off plain http."""
    attributes = [f"{SESSION_COOKIE}={token}", "HttpOnly", "SameSite=Strict", "Path=/", f"Max-Age={max_age}"]
    return "; ".join([*attributes, "Secure"] if request.url.scheme == "https" else attributes)


async def signed_in(token: str | None, session: AsyncSession, request: Request) -> ActiveSession:
    """The valid session of a cookie token, else a 401 saying why (a dead cookie is also cleared);
    for an unsafe request, a 403 unless it carries the session's CSRF token."""
    if token is None:
        raise Problem(401, NOT_SIGNED_IN, headers={"WWW-Authenticate": "Bearer"})
    found = await find_session(session, token)
    if isinstance(found, str):
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"', "Set-Cookie": session_cookie_header(request, "", 0)}
        raise Problem(401, SESSION_ENDED[found], headers=headers)
    sent = request.headers.get("x-csrf-token", "")
    if request.method in UNSAFE_METHODS and not hmac.compare_digest(sent.encode(), found.csrf_token.encode()):
        raise Problem(403, CSRF_REFUSED)
    return found


async def web_session(
    token: Annotated[str | None, Security(session_cookie)], session: SessionDep, request: Request
) -> ActiveSession:
    """The request's browser session, from its cookie alone (the session routes)."""
    active = await signed_in(token, session, request)
    structlog.contextvars.bind_contextvars(tenant=active.principal.tenant_name)
    return active


CurrentWebSession = Annotated[ActiveSession, Depends(web_session)]


async def authenticate(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    cookie: Annotated[str | None, Security(session_cookie)],
    session: SessionDep,
    request: Request,
) -> AsyncIterator[Principal]:
    """The key's principal from the process's cache, else the database (api/core/key_cache.py); with
    no `Authorization` header at all, the principal of the browser session the cookie names.
    The request runs in the tenant's scope: what it stores is encrypted with the tenant's keys."""
    if cookie is not None and "authorization" not in request.headers:
        principal = (await signed_in(cookie, session, request)).principal
    else:
        principal = await _bearer_principal(credentials, session, request)
    structlog.contextvars.bind_contextvars(tenant=principal.tenant_name)
    await ensure_tenant_keys(principal.tenant_id)
    with tenant_scope(principal.tenant_id):
        yield principal


async def _bearer_principal(
    credentials: HTTPAuthorizationCredentials | None, session: AsyncSession, request: Request
) -> Principal:
    if credentials is None:
        raise Problem(
            401,
            "missing API key: send `Authorization: Bearer <key>` (create one with `cmo apikey create --tenant NAME`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    key_hash = hash_api_key(credentials.credentials)
    cache: KeyCache = request.app.state.key_cache
    principal = cache.get(key_hash)
    KEY_LOOKUPS.labels("cache" if principal else "database").inc()
    if principal is None:
        generation = cache.generation
        principal = await lookup_principal(session, key_hash)
        if principal is None:
            raise invalid_key()
        cache.put(key_hash, principal, generation)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_admin(principal: CurrentPrincipal) -> Principal:
    if principal.role != "admin":
        raise Problem(403, "this route needs an admin key (`cmo apikey create --tenant NAME --role admin`)")
    return principal


AdminPrincipal = Annotated[Principal, Depends(require_admin)]
