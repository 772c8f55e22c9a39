"""The tenant's privacy settings: masking rules applied to artifact downloads, and retention.

Admin keys only: these settings decide what personal data every other key of the tenant gets to
download, so a member key must not be able to turn masking off.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.core.auth import AdminPrincipal, authenticate
from api.core.deps import SessionDep
from api.models.privacy_settings import TenantPrivacySettings
from api.models.problem import problems
from api.routers.auditing import audited
from api.services import tenant_privacy

router = APIRouter(prefix="/api/privacy", tags=["privacy"], dependencies=[Depends(authenticate)], responses=problems(401, 403))


@router.get("/settings")
async def get_privacy_settings(principal: AdminPrincipal, session: SessionDep) -> TenantPrivacySettings:
    """The tenant's masking rules and retention (the defaults until they are changed)."""
    return await tenant_privacy.get_privacy(session, principal.tenant_id)


@router.put("/settings", responses=problems(400, 415, 422), dependencies=[audited("privacy_settings.update")])
async def put_privacy_settings(
    body: TenantPrivacySettings, principal: AdminPrincipal, session: SessionDep
) -> TenantPrivacySettings:
    """Replace the settings; they apply to every download from the next request on."""
    return await tenant_privacy.set_privacy(session, principal.tenant_id, body)
