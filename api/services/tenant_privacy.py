"""A tenant's privacy settings (masking rules, retention) and their application to downloads.

The settings live in `tenants.privacy` as JSON, null until the tenant changes a default, so a new
tenant gets `TenantPrivacySettings()` (see `privacy.masking` for why those defaults). Next to them the
document holds `hash_key`, the tenant's HMAC key for `hash` masking: created the first time a rule
asks for it, never returned by the API, kept across updates so pseudonyms stay stable.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.core import orm
from api.models.privacy_settings import TenantPrivacySettings
from privacy.masking import MaskingRules, mask_artifact, mask_record

_HASH_KEY = "hash_key"


async def _tenant(session: AsyncSession, tenant_id: str) -> orm.Tenant:
    return await session.get_one(orm.Tenant, tenant_id)


def _settings(document: dict[str, Any] | None) -> TenantPrivacySettings:
    return TenantPrivacySettings.model_validate({k: v for k, v in (document or {}).items() if k != _HASH_KEY})


async def get_privacy(session: AsyncSession, tenant_id: str) -> TenantPrivacySettings:
    return _settings((await _tenant(session, tenant_id)).privacy)


async def set_privacy(session: AsyncSession, tenant_id: str, settings: TenantPrivacySettings) -> TenantPrivacySettings:
    """Replace the tenant's settings (commits); the hash key is kept, or created when first needed."""
    tenant = await _tenant(session, tenant_id)
    hash_key = (tenant.privacy or {}).get(_HASH_KEY)
    if hash_key is None and settings.masking.needs_key:
        hash_key = secrets.token_hex(32)
    document = settings.model_dump(mode="json")
    tenant.privacy = document | ({_HASH_KEY: hash_key} if hash_key else {})
    await session.commit()
    return settings


async def _masking(session: AsyncSession, tenant_id: str) -> tuple[MaskingRules, bytes]:
    """The tenant's masking rules and its pseudonym key."""
    document = (await _tenant(session, tenant_id)).privacy
    return _settings(document).masking, bytes.fromhex((document or {}).get(_HASH_KEY) or "")


async def masked_download(session: AsyncSession, tenant_id: str, artifact: orm.Artifact) -> bytes:
    """The artifact's content as the tenant's masking rules allow it to leave the service."""
    rules, key = await _masking(session, tenant_id)
    return mask_artifact(artifact.name, artifact.content, rules, key)


async def lead_masker(session: AsyncSession, tenant_id: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Masks one lead (a Prospect as JSON) as the tenant's leads downloads show it, for the routes
    that serve leads one by one (`/api/jobs/{id}/leads`)."""
    rules, key = await _masking(session, tenant_id)
    return lambda record: mask_record(record, rules, key)
