"""Browser sessions: what the web app's `cmo_session` cookie stands for (table `web_sessions`).

A person signs in once with an API key; the browser then holds a random 256-bit token in an httpOnly
cookie instead of the key, so no script of the page keeps a credential after the sign-in. Only the token's SHA-256
is stored (the row's id), as for API keys. Each session also has its own CSRF token, which the page
keeps in memory and sends back on every unsafe request (api/core/auth.py checks it).

A session never outlives its key: the lookup joins `api_keys`, so revoking the key (`cmo apikey
revoke`) ends its sessions at once on every API process, without a message or a cache to wait for,
and the browser is told why. Rows of ended sessions are deleted when they are met: a request that
presents one deletes it, and every sign-in deletes all expired ones (so the table holds little more
than one lifetime's sign-ins, and that scan stays small).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.api_keys import hash_token
from api.core.orm import ApiKey, Tenant
from api.core.orm_web import WebSession
from api.core.principal import Principal
from storage.tables import utcnow

SessionEnd = Literal["unknown", "expired", "revoked"]  # why a cookie no longer signs anyone in


@dataclass(frozen=True)
class ActiveSession:
    """A valid session: its id (the token's hash), who it signs in, the CSRF token its unsafe
    requests must carry, its end."""

    id: str
    principal: Principal
    csrf_token: str
    expires_at: datetime


async def open_session(session: AsyncSession, principal: Principal, lifetime: timedelta) -> tuple[str, ActiveSession]:
    """A new session for the principal's key (committed), and the cookie token that stands for it.
    Every expired session goes at the same time, including those of revoked keys never presented again."""
    token, now = secrets.token_urlsafe(32), utcnow()
    opened = ActiveSession(hash_token(token), principal, secrets.token_urlsafe(32), now + lifetime)
    await session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    session.add(
        WebSession(
            id=opened.id,
            key_id=principal.key_id,
            tenant_id=principal.tenant_id,
            csrf_token=opened.csrf_token,
            created_at=now,
            expires_at=opened.expires_at,
        )
    )
    await session.commit()
    return token, opened


async def find_session(session: AsyncSession, token: str) -> ActiveSession | SessionEnd:
    """The session a cookie token stands for (one query by primary key, joined to its key and tenant),
    or why there is none. An expired session, or one whose key was revoked, is deleted on the way."""
    token_hash = hash_token(token)
    query = (
        select(WebSession.csrf_token, WebSession.expires_at, ApiKey.revoked_at, ApiKey.id, ApiKey.role, Tenant.id, Tenant.name)
        .join(ApiKey, ApiKey.id == WebSession.key_id)
        .join(Tenant, Tenant.id == WebSession.tenant_id)
        .where(WebSession.id == token_hash)
    )
    row = (await session.execute(query)).first()
    if row is None:
        return "unknown"
    csrf_token, expires_at, revoked_at, key_id, role, tenant_id, tenant_name = row
    ended: SessionEnd | None = "revoked" if revoked_at is not None else "expired" if expires_at <= utcnow() else None
    if ended is not None:
        await close_session(session, token_hash)
        return ended
    principal = Principal(tenant_id=tenant_id, tenant_name=tenant_name, key_id=key_id, role=role)
    return ActiveSession(token_hash, principal, csrf_token, expires_at)


async def close_session(session: AsyncSession, session_id: str) -> None:
    """Delete a session by id (committed): the sign-out, or an ended session met."""
    await session.execute(delete(WebSession).where(WebSession.id == session_id))
    await session.commit()
