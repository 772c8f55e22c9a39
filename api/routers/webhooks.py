"""Webhooks: a job's delivery log, and the tenant's default URL and signing secret."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from api.core.auth import CurrentPrincipal, authenticate
from api.core.deps import SessionDep
from api.models.problem import problems
from api.models.webhooks import WebhookDelivery, WebhookDeliveryPage, WebhookSettings, WebhookSettingsUpdate
from api.routers.auditing import audited
from api.routers.jobs import JobId
from api.services import jobs, webhooks

router = APIRouter(prefix="/api", tags=["webhooks"], dependencies=[Depends(authenticate)], responses=problems(401))


@router.get("/jobs/{job_id}/webhooks", responses=problems(404), dependencies=[audited("webhook.deliveries")])
async def list_deliveries(job_id: JobId, principal: CurrentPrincipal, session: SessionDep) -> WebhookDeliveryPage:
    """Every delivery attempt of the job's webhooks, oldest first."""
    await jobs.get_job(session, principal.tenant_id, job_id)  # another tenant's job is a 404
    rows = await webhooks.list_deliveries(session, principal.tenant_id, job_id)
    return WebhookDeliveryPage(items=[WebhookDelivery.model_validate(row) for row in rows])


@router.get("/webhooks")
async def get_webhook_settings(principal: CurrentPrincipal, session: SessionDep) -> WebhookSettings:
    """The default URL and the signing secret (created on first read)."""
    url, secret = await webhooks.webhook_settings(session, principal.tenant_id)
    return WebhookSettings(url=url, secret=secret)


@router.put("/webhooks", responses=problems(400, 415, 422))
async def put_webhook_settings(
    body: WebhookSettingsUpdate, principal: CurrentPrincipal, session: SessionDep, request: Request
) -> WebhookSettings:
    """Set the default URL (checked now: a private address is a 422 unless the deployment allows it)."""
    url = str(body.url) if body.url else None
    if url is not None:
        await webhooks.check_webhook_url(url, request.app.state.settings, field="body.url")
    url, secret = await webhooks.set_webhook_settings(session, principal.tenant_id, url, rotate_secret=body.rotate_secret)
    return WebhookSettings(url=url, secret=secret)
