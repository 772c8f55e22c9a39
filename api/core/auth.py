"""API keys: `Authorization: Bearer <key>` names a tenant; everything a route touches is scoped to it.

Keys are 256-bit random tokens, so a plain SHA-256 is a sufficient one-way hash (no slow KDF is
needed against guessing) and lets the lookup be a single indexed equality query.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from api.core.database import SessionDep
from api.core.errors import Problem
from api.core.orm import ApiKey, Tenant

KEY_PREFIX = "cmo_sk_"
bearer = HTTPBearer(auto_error=False, description="An API key from `cmo apikey create --tenant NAME`.")


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant every query of the request is scoped to."""

    tenant_id: str
    tenant_name: str
    key_id: str


async def authenticate(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    session: SessionDep,
) -> Principal:
    if credentials is None:
        raise Problem(
            401,
            "missing API key: send `Authorization: Bearer <key>` (create one with `cmo apikey create --tenant NAME`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    query = (
        select(ApiKey.id, Tenant.id, Tenant.name)
        .join(Tenant, Tenant.id == ApiKey.tenant_id)
        .where(ApiKey.key_hash == hash_api_key(credentials.credentials), ApiKey.revoked_at.is_(None))
    )
    row = (await session.execute(query)).first()
    if row is None:
        raise Problem(401, "unknown or revoked API key", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    key_id, tenant_id, tenant_name = row
    structlog.contextvars.bind_contextvars(tenant=tenant_name)
    return Principal(tenant_id=tenant_id, tenant_name=tenant_name, key_id=key_id)


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
