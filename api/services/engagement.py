"""Engagement recording: what a prospect did with one job's outreach (opened, replied, demo_booked, ...).

The rows it writes are what `api.services.analytics` counts; recording and counting are kept apart
so the write path (a tracking pixel, a mail hook, a CRM) does not pull in the analytics queries.

An `unsubscribed` event is an opt-out however it reached us (the client's own unsubscribe page, a
mail provider's feedback, a CRM): it suppresses the person in the same commit, as the one-click link
does (`forbid_contact`, reason `unsubscribe`), so no later job approves them again. A `replied`
event (an API call, `cmo inbox import`) stops the person's follow-ups of that job, as a reply that
a provider notification matches to a sent message does (`api.services.sends.record_delivery_event`).

Every recorded event is also forwarded to the tenant's analytics destinations (`destinations.forward_engagement`).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.core import orm
from api.core.orm_sends import SendRow
from api.models.analytics import EngagementCreate
from api.services.destinations import forward_engagement
from api.services.errors import InvalidInput, NotFound
from api.services.jobs import get_job
from api.services.unsubscribe import forbid_contact
from storage.keyring import tenant_scope

ENGAGEMENT_SOURCE = "engagement_event"
CLOCK_SKEW = timedelta(minutes=5)  # between the caller's clock and ours


async def record_engagement(session: AsyncSession, tenant_id: str, body: EngagementCreate) -> orm.EngagementEvent:
    """Record an event against a prospect of one of the tenant's jobs (anything else is `NotFound`);
    `occurred_at` must fall between the job's creation and now (a clock's skew allowed): analytics
    would otherwise count a reply from 1900 or 2999. An `unsubscribed` event also suppresses the
    person for every later job."""
    job = await get_job(session, tenant_id, body.job_id)
    if body.occurred_at is not None:
        now = orm.utcnow()
        if not job.created_at - CLOCK_SKEW <= body.occurred_at <= now + CLOCK_SKEW:
            raise InvalidInput(
                f"occurred_at {body.occurred_at.isoformat()} is outside the job's life "
                f"({job.created_at.isoformat(timespec='seconds')} to now)",
                field="body.occurred_at",
            )
    prospect = orm.ProspectRow
    known = await session.scalar(
        select(
            exists().where(
                prospect.job_id == body.job_id, prospect.prospect_id == body.prospect_id, prospect.tenant_id == tenant_id
            )
        )
    )
    if not known:
        raise NotFound(f"job {body.job_id!r} has no prospect {body.prospect_id!r}")
    event = orm.EngagementEvent(
        id=f"eng_{secrets.token_hex(10)}",
        tenant_id=tenant_id,
        job_id=body.job_id,
        prospect_id=body.prospect_id,
        type=body.type,
        occurred_at=body.occurred_at or orm.utcnow(),
    )
    session.add(event)
    with tenant_scope(tenant_id):  # prospect rows rewritten by an opt-out are sealed with the tenant's keys
        if body.type == "unsubscribed":
            await forbid_contact(session, tenant_id, body.prospect_id, None, reason="unsubscribe", source=ENGAGEMENT_SOURCE)
        if body.type == "replied":  # the person answered: no follow-up of this job goes to them (send_outbox.history)
            await session.execute(
                update(SendRow)
                .where(SendRow.job_id == body.job_id, SendRow.prospect_id == body.prospect_id, SendRow.replied_at.is_(None))
                .values(replied_at=event.occurred_at)
            )
        await session.commit()
    await forward_engagement(
        session, tenant_id, prospect_id=body.prospect_id, name=body.type, occurred_at=event.occurred_at, job_id=body.job_id
    )
    return event
