"""One-click unsubscribe: signed per-recipient opt-out links, and the objection they record.

The links and their tokens are `privacy.optout` (the pipeline signs them); this module checks
a token against the tenants that exist and records the objection (the address is looked up in the
tenant's stored prospects when the person objects, since the token holds no email).

An objection is permanent and effective at once: in the request's own transaction the person's
login, GitHub id and email become suppressions of the tenant (reason `objection`) and their stored
prospects get `privacy_settings.contact_allowed = false` (`forbid_contact`, which an `unsubscribed`
engagement event reported to `POST /api/events` goes through too, with the reason `unsubscribe`).
"""

from __future__ import annotations

from typing import Literal

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core import orm
from api.services.audit import Origin, record_audit
from api.services.suppressions import add_suppression
from foundation.settings import Settings
from privacy.optout import InvalidToken, Recipient, unsubscribe_key, verify_token
from storage.keyring import tenant_scope

OBJECTION_SOURCE = "unsubscribe_link"
log = structlog.get_logger("api.unsubscribe")


async def recipient_of(session: AsyncSession, settings: Settings, token: str) -> Recipient:
    """The recipient of a link of ours whose tenant still exists; `InvalidToken` otherwise."""
    recipient = verify_token(unsubscribe_key(settings), token)
    if await session.get(orm.Tenant, recipient.tenant_id) is None:
        raise InvalidToken
    return recipient


async def record_objection(session: AsyncSession, recipient: Recipient, origin: Origin | None = None) -> None:
    """Suppress the person for good, forbid contact on their stored prospects and audit it (actor
    'public'), all in one commit. Idempotent: suppressions are unique per identifier and the privacy
    flag only ever goes to false (each repeat is audited, as a request of its own)."""
    tenant_id = recipient.tenant_id
    with tenant_scope(tenant_id):  # rows written here are sealed with the tenant's keys
        identifiers, rows = await forbid_contact(
            session, tenant_id, recipient.prospect_id, recipient.github_id, reason="objection", source=OBJECTION_SOURCE
        )
        await record_audit(
            session,
            tenant_id=tenant_id,
            actor="public",
            action="prospect.objection",
            prospect_ids=[recipient.prospect_id],
            detail={"suppressed_identifiers": identifiers, "prospect_rows": rows},
            origin=origin,
            outcome=200,
        )
        await session.commit()
    log.info("objection recorded", tenant=tenant_id, prospect_rows=rows, identifiers=identifiers)


async def forbid_contact(
    session: AsyncSession,
    tenant_id: str,
    prospect_id: str,
    github_id: int | None,
    *,
    reason: Literal["unsubscribe", "objection"],
    source: str,
) -> tuple[int, int]:
    """Suppress every identifier the tenant holds for the person (login, merged logins, GitHub id,
    email) and set `contact_allowed = false` on their stored prospects, in the caller's transaction
    (inside its `tenant_scope`). Returns (identifiers suppressed, prospect rows found)."""
    rows = (
        await session.scalars(
            select(orm.ProspectRow).where(orm.ProspectRow.tenant_id == tenant_id, orm.ProspectRow.prospect_id == prospect_id)
        )
    ).all()
    wanted = {("login", prospect_id.removeprefix("gh_"))} | ({("github_id", str(github_id))} if github_id else set())
    for row in rows:
        data = row.data
        wanted.update(("login", login) for login in data.get("merged_logins") or [])
        wanted.update((kind, str(data[kind])) for kind in ("github_id", "email") if data.get(kind))  # same names
        privacy = data.get("privacy_settings") or {}
        if privacy.get("contact_allowed", True):
            row.data = {**data, "privacy_settings": {**privacy, "contact_allowed": False}}
    for kind, value in sorted(wanted):
        await add_suppression(session, tenant_id, kind, value, reason=reason, source=source)
    return len(wanted), len(rows)
