"""API keys: `Authorization: Bearer <key>` names a tenant; everything a route touches is scoped to it.

Keys are minted and hashed by `api.core.api_keys`; the lookup is a single indexed equality query.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import structlog
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.api_keys import hash_api_key
from api.core.deps import SessionDep
from api.core.errors import Problem
from api.core.key_cache import KeyCache
from api.core.metrics import KEY_LOOKUPS
from api.core.orm import ApiKey, Tenant
from api.core.principal import Principal
from storage.encrypted_types import ensure_tenant_keys
from storage.keyring import tenant_scope

bearer = HTTPBearer(auto_error=False, description="An API key from `cmo apikey create --tenant NAME`.")


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


async def authenticate(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    session: SessionDep,
    request: Request,
) -> AsyncIterator[Principal]:
    """The key's principal from the process's cache, else the database (api/core/key_cache.py).
    The request runs in the tenant's scope: what it stores is encrypted with the tenant's keys."""
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
            raise Problem(401, "unknown or revoked API key", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        cache.put(key_hash, principal, generation)
    structlog.contextvars.bind_contextvars(tenant=principal.tenant_name)
    await ensure_tenant_keys(principal.tenant_id)
    with tenant_scope(principal.tenant_id):
        yield principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_admin(principal: CurrentPrincipal) -> Principal:
    if principal.role != "admin":
        raise Problem(403, "this route needs an admin key (`cmo apikey create --tenant NAME --role admin`)")
    return principal


AdminPrincipal = Annotated[Principal, Depends(require_admin)]
