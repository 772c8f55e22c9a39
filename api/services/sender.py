"""A tenant's sender profile, and how it reaches the drafts of its jobs.

The profile lives in `tenants.sender` (encrypted JSON; null until the tenant sets one). It is not
read by the pipeline: `create_job` copies it into the job's stored campaign
(`messaging.sender_profiles`, `messaging.unsubscribe_url`) wherever the submitted campaign leaves
those empty, so a job keeps the sender it was created with, and the copywriter and the compliance
rules read it where they read a campaign's own (`agents.copy_templates.sender_identity`).

Only `messaging` is added, and the campaign is stored with its unset fields left out as before: the
planner lets a campaign's *explicitly set* audience and lead count win over the goal
(`agents.planner._merge`, `lead_count`), and a campaign holding only `messaging` sets neither, so a
job plans exactly as it would without it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.core import orm
from api.models.sender import SenderSettings
from foundation.schemas import SenderProfile
from foundation.settings import Settings


async def get_sender(session: AsyncSession, tenant_id: str) -> SenderSettings:
    """The tenant's profile (every field null until it sets one); reads that one column only, since
    every job creation asks."""
    document = await session.scalar(select(orm.Tenant.sender).where(orm.Tenant.id == tenant_id))
    return SenderSettings.model_validate(document or {})


async def set_sender(session: AsyncSession, tenant_id: str, sender: SenderSettings) -> SenderSettings:
    """Replace the tenant's profile (commits); jobs created from now on use it."""
    document = sender.model_dump(mode="json", exclude_none=True) or None
    await session.execute(update(orm.Tenant).where(orm.Tenant.id == tenant_id).values(sender=document))
    await session.commit()
    return sender


async def with_tenant_sender(
    session: AsyncSession, tenant_id: str, campaign: dict[str, Any] | None, settings: Settings
) -> dict[str, Any] | None:
    """The campaign to store for a new job (as JSON, unset fields left out): the submitted one, with
    the tenant's sender profile and opt-out URL where it names none (no campaign: one holding only
    them). A profile without a name signs with the deployment's `CMO_SENDER_NAME`."""
    return campaign_with_sender(campaign, await get_sender(session, tenant_id), settings)


def campaign_with_sender(campaign: dict[str, Any] | None, sender: SenderSettings, settings: Settings) -> dict[str, Any] | None:
    """`with_tenant_sender` for a caller that has read the profile already (job creation reads it
    with the tenant's webhook URL, in one query)."""
    messaging = dict((campaign or {}).get("messaging") or {})
    identity = sender.model_dump(include={"name", "company", "email", "postal_address"}, exclude_none=True)
    if identity and not messaging.get("sender_profiles"):
        profile = SenderProfile.model_validate({"name": settings.cmo_sender_name} | identity)
        messaging["sender_profiles"] = [profile.model_dump(mode="json", exclude_none=True)]
    if sender.unsubscribe_url and not messaging.get("unsubscribe_url"):
        messaging["unsubscribe_url"] = sender.unsubscribe_url
    if messaging == ((campaign or {}).get("messaging") or {}):
        return campaign
    return (campaign or {}) | {"messaging": messaging}
