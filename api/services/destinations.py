"""A tenant's destinations (issue 16): configure, test, forget a person everywhere, forward analytics.

- The config (token included) is stored sealed with the tenant's data key (`orm_destinations`) and
  never answered back. `env:` tokens are refused here: they would let a tenant read the server's
  environment. `base_url` goes through the webhook SSRF guard (no private addresses unless the
  deployment allows them, `CMO_WEBHOOK_ALLOW_PRIVATE`).
- `forget_everywhere` is erasure's Art. 17(2) step: every destination that received the person is
  asked to delete them; a delivery row leaves once its destination confirms, so a failed request is
  tried again by the next erasure of the same person.
- `forward_engagement` sends an engagement event to the tenant's analytics destinations as it is
  recorded (`AnalyticsEvent`: the prospect id, never an email), in the background.

Connectors are synchronous (vendor SDKs); their calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.orm import utcnow
from api.core.orm_destinations import DestinationDelivery, DestinationRow
from api.models.destinations import Destination, DestinationCreate, DestinationTest, DestinationUpdate
from api.services.errors import Conflict, InvalidInput, NotFound
from api.services.suppressions import SETTINGS_INFO
from api.services.webhooks import check_webhook_url
from storage.keyring import tenant_scope
from tools.destinations.base import AnalyticsEvent, ConnectionStatus, ForgetResult, RecordResult
from tools.destinations.base import Destination as Connector
from tools.destinations.config import CALLED_URL_OPTIONS, SECRET_OPTIONS, DestinationConfig, DestinationConfigError
from tools.destinations.registry import FACTORIES, build

log = structlog.get_logger("api.destinations")
_BACKGROUND: set[asyncio.Task[Any]] = set()  # strong references until done


def spawn(work: Coroutine[Any, Any, Any]) -> None:
    """Run `work` in the background of this process (a sync job, an analytics forward)."""
    task = asyncio.get_running_loop().create_task(work)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


async def drain_background(timeout_seconds: float = 5.0) -> None:
    """Let background work finish (tests, shutdown)."""
    if _BACKGROUND:
        await asyncio.wait(set(_BACKGROUND), timeout=timeout_seconds)


def config_of(row: DestinationRow) -> DestinationConfig:
    return DestinationConfig.model_validate(row.config)


def connector_of(row: DestinationRow) -> Connector:
    return build(config_of(row))


def _without_secrets(options: dict[str, str]) -> dict[str, str]:
    return {key: "" if key in SECRET_OPTIONS else value for key, value in options.items()}


def describe(row: DestinationRow) -> Destination:
    config = config_of(row)
    return Destination(
        id=row.id,
        name=row.name,
        platform=row.platform,
        kind=row.kind,
        has_token=bool(config.token),
        config=config.model_copy(update={"token": "", "options": _without_secrets(config.options)}),
        created_at=row.created_at,
        updated_at=row.updated_at,
        pulled_at=row.pulled_at,
    )


async def _checked(session: AsyncSession, body: DestinationCreate) -> tuple[DestinationConfig, str]:
    """The config to store and its connector's kind; `InvalidInput` for what cannot work."""
    if body.platform not in FACTORIES:
        raise InvalidInput(f"unknown platform {body.platform!r}; known: {', '.join(sorted(FACTORIES))}", field="body.platform")
    if body.token.startswith("env:"):
        raise InvalidInput(
            "env: tokens are for config files of the CLI; give the token itself (it is stored encrypted)", field="body.token"
        )
    if body.base_url:
        await check_webhook_url(body.base_url, session.info[SETTINGS_INFO], field="body.base_url")
    for key, value in body.options.items():
        if value.startswith("env:"):  # the service's own environment is not the tenant's to read
            raise InvalidInput("env: values are for config files of the CLI; give the value itself", field=f"body.options.{key}")
        if key in CALLED_URL_OPTIONS and value:
            await check_webhook_url(value, session.info[SETTINGS_INFO], field=f"body.options.{key}")
    config = DestinationConfig.model_validate(body.model_dump())
    try:
        kind = build(config).kind
    except (DestinationConfigError, ValueError) as exc:
        raise InvalidInput(str(exc), field="body") from exc
    return config, kind


async def get_destination(session: AsyncSession, tenant_id: str, destination_id: str) -> DestinationRow:
    row = (
        await session.execute(
            select(DestinationRow).where(DestinationRow.id == destination_id, DestinationRow.tenant_id == tenant_id)
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no destination {destination_id!r}")
    return row


async def list_destinations(session: AsyncSession, tenant_id: str) -> list[DestinationRow]:
    query = (
        select(DestinationRow).where(DestinationRow.tenant_id == tenant_id).order_by(DestinationRow.created_at, DestinationRow.id)
    )
    return list((await session.execute(query)).scalars().all())


async def _name_taken(session: AsyncSession, tenant_id: str, name: str, other_than: str | None = None) -> bool:
    query = select(DestinationRow.id).where(DestinationRow.tenant_id == tenant_id, DestinationRow.name == name)
    found = (await session.execute(query)).scalar_one_or_none()
    return found is not None and found != other_than


async def create_destination(session: AsyncSession, tenant_id: str, body: DestinationCreate) -> DestinationRow:
    config, kind = await _checked(session, body)
    if await _name_taken(session, tenant_id, body.name):
        raise Conflict(f"a destination named {body.name!r} exists; choose another name or update it", slug="destination-exists")
    row = DestinationRow(
        id=f"dst_{secrets.token_hex(8)}",
        tenant_id=tenant_id,
        name=body.name,
        platform=body.platform,
        kind=kind,
        config=config.model_dump(mode="json"),
    )
    with tenant_scope(tenant_id):
        session.add(row)
        await session.commit()
    return row


async def update_destination(
    session: AsyncSession, tenant_id: str, destination_id: str, body: DestinationUpdate
) -> DestinationRow:
    row = await get_destination(session, tenant_id, destination_id)
    stored = config_of(row)
    if not body.token:
        body = body.model_copy(update={"token": stored.token})
    kept = {key: stored.options[key] for key in SECRET_OPTIONS if not body.options.get(key) and key in stored.options}
    if kept:  # a secret option left empty (as `describe` shows it) keeps the stored value, as the token does
        body = body.model_copy(update={"options": body.options | kept})
    config, kind = await _checked(session, body)
    if await _name_taken(session, tenant_id, body.name, other_than=row.id):
        raise Conflict(f"a destination named {body.name!r} exists", slug="destination-exists")
    row.name, row.platform, row.kind, row.config, row.updated_at = (
        body.name,
        body.platform,
        kind,
        config.model_dump(mode="json"),
        utcnow(),
    )
    with tenant_scope(tenant_id):
        await session.commit()
    return row


async def delete_destination(session: AsyncSession, tenant_id: str, destination_id: str) -> None:
    """Refused while the destination holds people: their erasure would no longer reach it."""
    row = await get_destination(session, tenant_id, destination_id)
    held = await session.scalar(select(func.count()).where(DestinationDelivery.destination_id == row.id))
    if held:
        raise Conflict(
            f"destination {row.name!r} holds {held} person(s) this service sent; erase them (or delete them in the "
            "platform and then here) first, so an erasure request can still reach them",
            slug="destination-holds-people",
        )
    await session.delete(row)
    await session.commit()


async def test_destination(session: AsyncSession, tenant_id: str, destination_id: str) -> DestinationTest:
    row = await get_destination(session, tenant_id, destination_id)
    try:
        status: ConnectionStatus = await asyncio.to_thread(lambda: connector_of(row).test_connection())
    except Exception as exc:  # whatever the SDK raised: the answer is "not ok", and why
        status = ConnectionStatus(ok=False, detail=f"{type(exc).__name__}: {str(exc)[:200]}")
    return DestinationTest(ok=status.ok, detail=status.detail)


async def record_deliveries(
    session: AsyncSession, tenant_id: str, destination_id: str, job_id: str, delivered: dict[str, str]
) -> None:
    """prospect id -> remote id of what the destination now holds (in the caller's transaction)."""
    if not delivered:
        return
    await session.execute(
        delete(DestinationDelivery).where(
            DestinationDelivery.destination_id == destination_id, DestinationDelivery.prospect_id.in_(list(delivered))
        )
    )
    for prospect_id, remote_id in delivered.items():
        session.add(
            DestinationDelivery(
                destination_id=destination_id, prospect_id=prospect_id, tenant_id=tenant_id, job_id=job_id, remote_id=remote_id
            )
        )


async def forget_everywhere(
    session: AsyncSession, tenant_id: str, prospect_ids: set[str], emails: set[str]
) -> list[dict[str, Any]]:
    """Ask every destination that received one of `prospect_ids` to delete the person; the outcome per
    destination (name, platform, outcome, number of records; never the person). Not committed."""
    if not prospect_ids:
        return []
    query = select(DestinationDelivery, DestinationRow).join(
        DestinationRow, DestinationRow.id == DestinationDelivery.destination_id
    )
    query = query.where(
        DestinationDelivery.tenant_id == tenant_id,
        func.lower(DestinationDelivery.prospect_id).in_([p.lower() for p in prospect_ids]),
    )
    outcomes = []
    email = min(emails) if emails else None
    for delivery, row in (await session.execute(query)).all():
        login = delivery.prospect_id.removeprefix("gh_")

        def forget(row: DestinationRow = row, prospect_id: str = delivery.prospect_id, login: str = login) -> ForgetResult:
            return connector_of(row).forget(email=email, github_url=f"https://github.com/{login}", prospect_id=prospect_id)

        try:
            result = await asyncio.to_thread(forget)
        except Exception as exc:  # a connector that cannot even be built: recorded, retried by the next erasure
            result = ForgetResult(destination=row.name, outcome="failed", detail=type(exc).__name__)
        if result.outcome != "failed":
            await session.delete(delivery)
        outcomes.append(
            {"destination": row.name, "platform": row.platform, "outcome": result.outcome, "records": len(result.remote_ids)}
        )
        log.info("erasure propagated", destination=row.name, platform=row.platform, outcome=result.outcome)
    return outcomes


async def forward_engagement(
    session: AsyncSession, tenant_id: str, *, prospect_id: str, name: str, occurred_at: datetime, job_id: str
) -> None:
    """Send one engagement event to every analytics destination of the tenant: their configs are read
    now, the vendor calls happen in the background (engagement recording never waits for them). Each
    such destination is recorded as holding the person (committed), so an erasure
    asks it to delete them too (Art. 17(2)), even when no sync ever pushed them there."""
    rows = [row for row in await list_destinations(session, tenant_id) if row.kind == "analytics"]
    new = [row for row in rows if await session.get(DestinationDelivery, (row.id, prospect_id)) is None]
    for row in new:
        await record_deliveries(session, tenant_id, row.id, job_id, {prospect_id: prospect_id})
    if new:
        await session.commit()
    configs = [config_of(row) for row in rows]
    if configs:
        event = AnalyticsEvent(user_id=prospect_id, name=name, occurred_at=occurred_at, properties={"job_id": job_id})
        spawn(_forward(configs, event))


def _track(config: DestinationConfig, event: AnalyticsEvent) -> list[RecordResult]:
    return build(config).track([event])


async def _forward(configs: list[DestinationConfig], event: AnalyticsEvent) -> None:
    for config in configs:
        try:
            results = await asyncio.to_thread(_track, config, event)
            failed = [r.detail for r in results if r.outcome == "failed"]
            if failed:
                log.warning("analytics event refused", destination=config.label, detail=failed[0])
        except Exception as exc:  # analytics never blocks or breaks engagement recording
            log.warning("analytics forward failed", destination=config.label, error=type(exc).__name__)
