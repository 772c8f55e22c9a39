"""The service's outbox: `tools.mail.dispatch` over the service database instead of the CLI's SQLite file.

`dispatch.send_campaign` calls its outbox synchronously between SMTP sends, so a send run runs it in
a thread of its own (`api.services.sends.run_send`), and every call here hands a coroutine to the
process's event loop and waits for it (as a job's graph thread reads the suppression list,
`api.services.suppressions.load_from_thread`). Each call is one transaction.

The rules are the CLI outbox's (`tools.mail.outbox`: its docstring explains the states, the caps,
warm-up and the kill switch), with the thresholds of the same settings; the campaign is the job.
Exactly once holds across processes by the primary key (job, prospect, step): a new claim is an
INSERT, a claim of a `deferred` or `skipped` row a conditional UPDATE, and whichever loses a race
is told so. Caps are checked under a lock of the mailbox's row in `send_mailboxes` (Postgres `FOR
UPDATE`; on SQLite the claim's first statement is a write, which takes the database's write lock),
so concurrent workers cannot overrun them together.

What comes back for a message (`finish`, the kill switch) is written with its event in the same
transaction: `message.sent`, `message.bounced` and `campaign.paused` are published when it commits.
A hard bounce or a complaint suppresses the address on the tenant's list, in the same transaction,
where every later check (this run's `blocked`, every later run's list) finds it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.database import Database
from api.core.orm_sends import CampaignPause, SendMailbox, SendRow
from api.services.events import CAMPAIGN_PAUSED, MESSAGE_BOUNCED, MESSAGE_SENT, append_event
from api.services.suppressions import add_suppression, is_suppressed
from api.services.webhooks import dispatch_for_event
from storage.tables import utcnow
from tools.mail.dispatch import SendRecord
from tools.mail.outbox import (
    BlockReason,
    Caps,
    NotClaimed,
    Outcome,
    SendKey,
    Status,
    StepRecord,
    address_digest,
    cap_checks,
    over_limits,
    warm_allowance,
)

T = TypeVar("T")
CALL_TIMEOUT_SECONDS = 120  # a stuck database must not hang the send thread for ever
FINISHED = ("sent", "bounced", "rejected")


def new_send_id() -> str:
    return f"msg_{secrets.token_hex(10)}"


def insert_new(session: AsyncSession, table: type[Any], row: dict[str, Any]) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING, in either database's dialect."""
    dialect_insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    return dialect_insert(table).values(row).on_conflict_do_nothing()


@dataclass
class ServiceOutbox:
    """`tools.mail.outbox.OutboxStore` for one send run of one job (its campaign key is the job id)."""

    database: Database
    loop: asyncio.AbstractEventLoop
    tenant_id: str
    job_id: str
    send_run_id: str
    caps: Caps
    clock: Callable[[], datetime] = utcnow
    _published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def _call(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in a session of its own on the event loop (it commits itself); wait for it."""

        async def run() -> T:
            async with self.database.sessions() as session:
                return await work(session)

        future = asyncio.run_coroutine_threadsafe(run(), self.loop)
        for _ in range(CALL_TIMEOUT_SECONDS):
            try:
                return future.result(1.0)
            except TimeoutError:
                if not self.loop.is_running():  # the process is shutting down: stop sending (a claim stays in doubt)
                    future.cancel()
                    raise RuntimeError("the event loop stopped during a send run") from None
        future.cancel()
        raise TimeoutError(f"an outbox call took more than {CALL_TIMEOUT_SECONDS} s")

    def _where(self, key: SendKey) -> tuple[Any, ...]:
        return (SendRow.job_id == key.campaign, SendRow.prospect_id == key.prospect_id, SendRow.step == key.step)

    def status(self, key: SendKey) -> Status | None:
        async def read(session: AsyncSession) -> Status | None:
            status = await session.scalar(select(SendRow.status).where(*self._where(key)))
            return None if status in (None, "skipped") else cast(Status, status)

        return self._call(read)

    def message_id(self, key: SendKey) -> str | None:
        return self._call(lambda session: session.scalar(select(SendRow.message_id).where(*self._where(key))))

    def history(self, campaign: str, prospect_id: str) -> dict[int, StepRecord]:
        """The claimed steps of one prospect's sequence in this job (skips were never claimed), for
        `tools.mail.sequence.next_step`: what is due, and whether a reply, complaint or bounce ended it."""

        def stamp(moment: datetime | None) -> float | None:
            return moment.timestamp() if moment is not None else None

        async def read(session: AsyncSession) -> dict[int, StepRecord]:
            rows = await session.execute(
                select(
                    SendRow.step,
                    SendRow.status,
                    SendRow.finished_at,
                    SendRow.claimed_at,
                    SendRow.replied_at,
                    SendRow.complained_at,
                ).where(SendRow.job_id == campaign, SendRow.prospect_id == prospect_id, SendRow.status != "skipped")
            )
            return {
                step: StepRecord(status, stamp(finished or claimed), stamp(replied), stamp(complained))
                for step, status, finished, claimed, replied, complained in rows.all()
            }

        return self._call(read)

    def paused(self, campaign: str) -> str | None:
        return self._call(lambda session: session.scalar(select(CampaignPause.reason).where(CampaignPause.job_id == campaign)))

    def claim(self, key: SendKey, *, mailbox: str, domain: str, message_id: str) -> None:
        self._call(lambda session: self._claim(session, key, mailbox, address_digest(domain), message_id))

    async def _claim(self, session: AsyncSession, key: SendKey, mailbox: str, domain: str, message_id: str) -> None:
        now = self.clock()
        await session.execute(insert_new(session, SendMailbox, {"mailbox": mailbox, "first_send_at": None}))
        box = await session.scalar(select(SendMailbox).where(SendMailbox.mailbox == mailbox).with_for_update())
        assert box is not None
        reason = await session.scalar(select(CampaignPause.reason).where(CampaignPause.job_id == key.campaign))
        if reason is not None:
            raise NotClaimed("campaign_paused", f"the campaign is paused: {reason}", stops_run=True)
        await self._check_caps(session, mailbox, domain, box.first_send_at, now)
        values = {
            "status": "pending",
            "reason": None,
            "detail": None,
            "mailbox": mailbox,
            "domain_sha256": domain,
            "message_id": message_id,
            "send_run_id": self.send_run_id,
            "claimed_at": now,
            "finished_at": None,
        }
        status = await session.scalar(select(SendRow.status).where(*self._where(key)))
        try:
            if status is None:
                await session.execute(
                    insert(SendRow).values(
                        job_id=key.campaign,
                        prospect_id=key.prospect_id,
                        step=key.step,
                        id=new_send_id(),
                        tenant_id=self.tenant_id,
                        created_at=now,
                        **values,
                    )
                )
            else:
                claimable = SendRow.status.in_(("deferred", "skipped"))
                claimed = await session.execute(update(SendRow).where(*self._where(key), claimable).values(**values))
                if cast(CursorResult[Any], claimed).rowcount != 1:
                    raise NotClaimed("in_doubt" if status == "pending" else "already_sent", f"already {status}", stops_run=False)
            if box.first_send_at is None:
                box.first_send_at = now
            await session.commit()
        except IntegrityError:  # another worker inserted the same message a moment ago
            await session.rollback()
            raise NotClaimed("already_claimed", "claimed by another send run", stops_run=False) from None

    async def _check_caps(self, session: AsyncSession, mailbox: str, domain: str, first: datetime | None, now: datetime) -> None:
        async def count(within: timedelta, *, to_domain: bool = False) -> int:
            query = select(func.count()).where(SendRow.mailbox == mailbox, SendRow.claimed_at > now - within)
            if to_domain:
                query = query.where(SendRow.domain_sha256 == domain)
            return int(await session.scalar(query) or 0)

        daily = warm_allowance(self.caps, first.timestamp() if first else None, now.timestamp())
        for check in cap_checks(self.caps, mailbox, daily):  # the domain is kept as a digest only
            if await count(timedelta(seconds=check.window), to_domain=check.to_domain) >= check.limit:
                raise check.refusal()

    def finish(self, key: SendKey, outcome: Outcome, *, detail: str | None = None, provider_id: str | None = None) -> None:
        async def write(session: AsyncSession) -> None:
            now = self.clock()
            changes: dict[str, Any] = {"status": outcome, "detail": detail, "provider_id": provider_id, "finished_at": now}
            if outcome == "bounced":
                changes |= {"bounced_at": now, "reason": "smtp_bounce"}
            elif outcome != "sent":
                changes["reason"] = f"smtp_{outcome}"
            await session.execute(update(SendRow).where(*self._where(key)).values(**changes))
            event = {"sent": MESSAGE_SENT, "bounced": MESSAGE_BOUNCED}.get(outcome)
            if event is not None:
                message_id = await session.scalar(select(SendRow.message_id).where(*self._where(key)))
                data = {
                    "prospect_id": key.prospect_id,
                    "step": key.step,
                    "message_id": message_id,
                    "send_run_id": self.send_run_id,
                }
                await self._event(session, event, data | ({"reason": "smtp"} if outcome == "bounced" else {}))
            await session.commit()
            await self._publish()

        self._call(write)

    async def _event(self, session: AsyncSession, event: str, data: dict[str, Any]) -> None:
        await append_event(session, self.job_id, event, data)
        self._published.append((event, data))

    async def _publish(self) -> None:
        """Webhooks of the events just committed."""
        for event, data in self._published:
            await dispatch_for_event(self.database, self.job_id, event, data)
        self._published.clear()

    def record_skip(self, record: SendRecord) -> None:
        """A send-time check refused the message: `skipped`, with why (a later run checks it again).
        A message another run has claimed meanwhile is left as that run has it."""

        async def write(session: AsyncSession) -> None:
            key = SendKey(self.job_id, record.prospect_id, record.step)
            values = {"reason": record.reason, "detail": record.detail, "send_run_id": self.send_run_id}
            row = {"job_id": key.campaign, "prospect_id": key.prospect_id, "step": key.step, "id": new_send_id()}
            row |= {"tenant_id": self.tenant_id, "status": "skipped", "created_at": self.clock()}
            await session.execute(insert_new(session, SendRow, row | values))
            skippable = SendRow.status.in_(("skipped", "deferred"))
            await session.execute(update(SendRow).where(*self._where(key), skippable).values(status="skipped", **values))
            await session.commit()

        self._call(write)

    def block_address(self, address: str, reason: BlockReason) -> None:
        async def write(session: AsyncSession) -> None:
            await block_in_tenant(session, self.tenant_id, address, reason)
            await session.commit()

        self._call(write)

    def blocked(self, address: str) -> BlockReason | None:
        """An address this run found bouncing is on the tenant's list by now: another lead of the run
        with the same address is not sent to (the list loaded at the start predates the bounce)."""
        hit = self._call(lambda session: is_suppressed(session, self.tenant_id, email=address))
        return "bounce" if hit else None

    def pause_if_over(self, campaign: str) -> str | None:
        async def check(session: AsyncSession) -> str | None:
            reason = await pause_if_over(session, self.tenant_id, campaign, self.caps, self._event)
            await session.commit()
            await self._publish()
            return reason

        return self._call(check)


async def block_in_tenant(session: AsyncSession, tenant_id: str, address: str, reason: BlockReason) -> None:
    """Suppress a hard-bouncing or complaining address on the tenant's list (within the caller's
    transaction): a complaint is an objection to the mail, a bounce an address not to use again."""
    if reason == "complaint":
        await add_suppression(session, tenant_id, "email", address, reason="complaint", source="complaint")
    else:
        await add_suppression(session, tenant_id, "email", address, reason="bounce", source="hard bounce")


async def campaign_rates(session: AsyncSession, job_id: str) -> tuple[int, int, int]:
    """(bounced, complained, finished sends) of the job's campaign, as the kill switch counts them."""
    finished = SendRow.job_id == job_id, SendRow.status.in_(FINISHED)
    row = (
        await session.execute(
            select(
                func.count().filter(SendRow.status == "bounced"),
                func.count(SendRow.complained_at),
                func.count(),
            ).where(*finished)
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def pause_if_over(
    session: AsyncSession,
    tenant_id: str,
    job_id: str,
    caps: Caps,
    emit: Callable[[AsyncSession, str, dict[str, Any]], Awaitable[None]],
) -> str | None:
    """The kill switch (in the caller's transaction): pause the job's campaign when its bounce or
    complaint rate is over the limit, emitting `campaign.paused` once through `emit`; the reason it
    is paused, or None."""
    existing = await session.scalar(select(CampaignPause.reason).where(CampaignPause.job_id == job_id))
    if existing is not None:
        return existing
    bounced, complained, total = await campaign_rates(session, job_id)
    reason = over_limits(caps, bounced, complained, total)
    if reason is None:
        return None
    row = {"job_id": job_id, "tenant_id": tenant_id, "reason": reason[:500], "created_at": utcnow()}
    await session.execute(insert_new(session, CampaignPause, row))
    counts = {"bounced": bounced, "complained": complained, "finished": total}
    await emit(session, CAMPAIGN_PAUSED, {"reason": reason, **counts})
    return reason
