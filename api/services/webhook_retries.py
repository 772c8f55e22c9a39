"""Where a webhook delivery's remaining attempts are kept between attempts (`webhook_pending`).

The process that sends the first attempt writes the row and holds a lease on it while it sleeps
between attempts; when it delivers or gives up it deletes the row. If it dies (a deploy, a crash),
the lease runs out and the next sweep of any API or worker process claims the row and carries on
from the attempt after the last one logged: the receiver sees the same `webhook-id`, so it can
deduplicate. Claims are compare-and-set on `lease_until`, so two sweeping processes never both resume
one delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.core import orm
from storage.keyring import tenant_scope


@dataclass(frozen=True)
class Pending:
    """What resuming needs: the envelope exactly as first signed, and how far the attempts got."""

    delivery_id: str
    tenant_id: str
    job_id: str
    event: str
    body: bytes
    attempts: int


async def remember(sessions: async_sessionmaker[AsyncSession], pending: Pending, now: datetime, lease: timedelta) -> None:
    async with sessions() as session:
        with tenant_scope(pending.tenant_id):
            session.add(
                orm.WebhookPending(
                    delivery_id=pending.delivery_id,
                    tenant_id=pending.tenant_id,
                    job_id=pending.job_id,
                    event=pending.event,
                    body=pending.body,
                    attempts=pending.attempts,
                    next_attempt_at=now,
                    lease_until=now + lease,
                    created_at=now,
                )
            )
            await session.commit()


async def reschedule(
    sessions: async_sessionmaker[AsyncSession], delivery_id: str, attempts: int, due: datetime, lease: timedelta
) -> None:
    """After a failed attempt: the next one is due at `due`, and this process keeps the lease until
    `lease` after it (how long a sleeping owner still counts as alive)."""
    async with sessions() as session:
        await session.execute(
            update(orm.WebhookPending)
            .where(orm.WebhookPending.delivery_id == delivery_id)
            .values(attempts=attempts, next_attempt_at=due, lease_until=due + lease)
        )
        await session.commit()


async def owed(sessions: async_sessionmaker[AsyncSession], delivery_id: str) -> bool:
    """Whether the delivery is still owed: an erasure deletes the pending rows of the person's
    deliveries, and a retry already sleeping in this process must then not send the envelope."""
    async with sessions() as session:
        return (
            await session.scalar(select(orm.WebhookPending.delivery_id).where(orm.WebhookPending.delivery_id == delivery_id))
            is not None
        )


async def forget(sessions: async_sessionmaker[AsyncSession], delivery_id: str) -> None:
    """Delivered or given up: nothing is owed any more."""
    async with sessions() as session:
        await session.execute(delete(orm.WebhookPending).where(orm.WebhookPending.delivery_id == delivery_id))
        await session.commit()


async def claim_orphans(
    sessions: async_sessionmaker[AsyncSession], now: datetime, lease: timedelta, limit: int = 100
) -> list[Pending]:
    """Rows whose owner's lease ran out, each claimed by this process (a row another sweeper claimed
    first is skipped)."""
    async with sessions() as session:
        rows: Sequence[tuple[str, str, datetime]] = (
            await session.execute(
                select(orm.WebhookPending.delivery_id, orm.WebhookPending.tenant_id, orm.WebhookPending.lease_until)
                .where(orm.WebhookPending.lease_until < now)
                .order_by(orm.WebhookPending.next_attempt_at)
                .limit(limit)
            )
        ).all()
        claimed: list[Pending] = []
        for delivery_id, tenant_id, held_until in rows:
            won = await session.execute(
                update(orm.WebhookPending)
                .where(orm.WebhookPending.delivery_id == delivery_id, orm.WebhookPending.lease_until == held_until)
                .values(lease_until=now + lease)
            )
            await session.commit()
            if won.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult of an UPDATE
                continue
            with tenant_scope(tenant_id):
                row = await session.get(orm.WebhookPending, delivery_id)
                if row is not None:
                    claimed.append(Pending(row.delivery_id, row.tenant_id, row.job_id, row.event, row.body, row.attempts))
        return claimed
