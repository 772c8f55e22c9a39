"""Tenants and their API keys (used by `cmo apikey`; there is no HTTP route to mint keys)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from api.core.api_keys import hash_api_key, new_api_key
from api.core.database import Database
from api.core.key_cache import announce_revocation
from api.core.orm import ApiKey, Tenant
from storage.tables import utcnow

KeyRole = Literal["admin", "member"]  # an admin key may also read the tenant's audit trail


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created key: the only moment the plain key exists outside the client."""

    tenant_id: str
    tenant_name: str
    tenant_created: bool
    key_id: str
    key: str


async def _tenant(database: Database, name: str) -> tuple[Tenant, bool]:
    """The tenant called `name`, created if needed (a concurrent creator wins the race harmlessly)."""
    async with database.sessions() as session:
        tenant = (await session.execute(select(Tenant).where(Tenant.name == name))).scalar_one_or_none()
        if tenant is not None:
            return tenant, False
        tenant = Tenant(id=f"ten_{secrets.token_hex(8)}", name=name)
        session.add(tenant)
        try:
            await session.commit()
            return tenant, True
        except IntegrityError:
            await session.rollback()
    async with database.sessions() as session:
        return (await session.execute(select(Tenant).where(Tenant.name == name))).scalar_one(), False


async def issue_api_key(database: Database, tenant_name: str, role: KeyRole = "member") -> IssuedKey:
    tenant, created = await _tenant(database, tenant_name)
    key = new_api_key()
    key_id = f"key_{secrets.token_hex(8)}"
    async with database.sessions() as session, session.begin():
        session.add(ApiKey(id=key_id, tenant_id=tenant.id, key_hash=hash_api_key(key), role=role))
    return IssuedKey(tenant.id, tenant.name, created, key_id, key)


async def revoke_api_key(database: Database, key_id: str) -> bool:
    """Revoke a key by id; False when no active key has that id."""
    async with database.sessions() as session, session.begin():
        revoked = await session.scalar(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=utcnow())
            .returning(ApiKey.id)
        )
    if revoked is not None:  # every API process stops accepting it now, not when its cache expires
        await announce_revocation(database.settings, database.config, key_id)
    return revoked is not None
