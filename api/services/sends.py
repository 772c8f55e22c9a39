"""Sending a finished job's approved drafts from the service, and what comes back for them.

`request_send` checks that sending can start (the job has finished, its campaign is not paused, a
From address, a postal address and, unless a dry run, `CMO_SMTP_URL` are configured) and records a
queued send run; `spawn_send_run` then runs it in the background of the process that took the
request (`run_send`), never in the request. A run is `tools.mail.dispatch.send_campaign`, the loop
`cmo send` runs, over the service's outbox (`api.services.send_outbox`): the job's leads as a person
decided them (`api.services.leads.as_decided`: a person's approval is the verdict, and lets a role
address through), in rank order, with the sender profile the job was created with (else the
tenant's, else `CMO_SENDER_*`), the caps and kill-switch thresholds of the settings, and the
operator's and the tenant's suppression lists read when the run starts (erasure tombstones
included). A process that dies mid-run leaves at most one message `pending`, reported in doubt and
never sent again; a later request sends the rest.

`record_delivery_event` is how a bounce, complaint or reply that arrives later (an SES
notification, an imported DSN) reaches the job: the message is marked, its event emitted, the
address suppressed (bounce, complaint) and the kill switch applied.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any, Literal

import dns.asyncresolver
import structlog
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core import orm
from api.core.database import Database
from api.core.orm_sends import CampaignPause, SendRow, SendRun
from api.models.sends import SendOut, SendRequest, SendStatus
from api.models.sends import SendRun as SendRunOut
from api.services.errors import Conflict, NotFound
from api.services.events import MESSAGE_BOUNCED, MESSAGE_REPLIED, append_event
from api.services.jobs import get_job
from api.services.leads import as_decided, lead_rows
from api.services.pagination import decode_cursor, encode_cursor
from api.services.send_outbox import FINISHED, ServiceOutbox, block_in_tenant, pause_if_over
from api.services.sender import with_tenant_sender
from api.services.suppressions import load_suppression_list
from api.services.webhooks import dispatch_for_event
from foundation.schemas import Campaign, Prospect
from foundation.settings import Settings
from privacy.masking import mask_text
from storage.tables import utcnow
from tools.mail.dispatch import SendConfigError, SendPlan, SendRecord, SendReport, send_campaign, sender_for
from tools.mail.message import Sender
from tools.mail.outbox import Caps
from tools.mail.signing import DkimConfigError, DkimSigner
from tools.mail.transports import TransportConfigError, describe_transport, open_transports
from tools.mail.window import SendWindow
from tools.scoring import rank_key
from tools.suppression import SuppressionFileError, SuppressionList

log = structlog.get_logger("api.sends")
_API_STATUS: dict[str, SendStatus] = {
    "pending": "queued",
    "deferred": "queued",
    "sent": "sent",
    "bounced": "bounced",
    "rejected": "failed",
    "skipped": "skipped",
}
_runs: set[asyncio.Task[None]] = set()  # running send runs of this process (a reference keeps them alive)
DeliveryKind = Literal["bounced", "complained", "replied"]


def new_run_id() -> str:
    return f"snd_{secrets.token_hex(10)}"


def _transport_checked(settings: Settings) -> None:
    """`SendConfigError` unless the configured transport (SMTP or SES) and send window are usable."""
    try:
        describe_transport(settings)
        _window(settings)
    except TransportConfigError as exc:
        raise SendConfigError(str(exc)) from None


def _window(settings: Settings) -> SendWindow | None:
    try:
        return SendWindow.parse(settings.cmo_send_window) if settings.cmo_send_window else None
    except ValueError as exc:
        raise SendConfigError(f"CMO_SEND_WINDOW: {exc}") from None


async def _sender(session: AsyncSession, job: orm.Job, settings: Settings) -> Sender:
    """The job's sender profile (its tenant's, where the job was created without one)."""
    campaign = await with_tenant_sender(session, job.tenant_id, job.campaign, settings)
    return sender_for(settings, Campaign.model_validate(campaign or {}))


async def _finished_job(session: AsyncSession, tenant_id: str, job_id: str) -> orm.Job:
    job = await get_job(session, tenant_id, job_id)
    if job.status not in orm.FINISHED_STATUSES:
        raise Conflict(f"job {job_id!r} is {job.status}: its drafts can be sent once it has finished", slug="job-not-finished")
    return job


async def _paused(session: AsyncSession, job_id: str) -> str | None:
    return await session.scalar(select(CampaignPause.reason).where(CampaignPause.job_id == job_id))


async def request_send(
    session: AsyncSession, tenant_id: str, job_id: str, request: SendRequest, by: str, settings: Settings
) -> SendRunOut:
    """Record a queued send run of the job (commits); `spawn_send_run` starts it. A paused campaign
    or sending that is not configured is a `Conflict` saying why."""
    job = await _finished_job(session, tenant_id, job_id)
    reason = await _paused(session, job_id)
    if reason is not None:
        raise Conflict(
            f"job {job_id!r}'s campaign is paused by the kill switch ({reason}): nothing more is sent", slug="campaign-paused"
        )
    try:
        await _sender(session, job, settings)
        if not request.dry_run:
            _transport_checked(settings)
    except SendConfigError as exc:
        raise Conflict(f"sending is not configured: {exc}", slug="sending-not-configured") from None
    run = SendRun(
        id=new_run_id(),
        tenant_id=tenant_id,
        job_id=job_id,
        status="queued",
        dry_run=request.dry_run,
        limit=request.limit,
        requested_by=by,
        counts={},
        created_at=utcnow(),
    )
    session.add(run)
    await session.commit()
    return await describe_run(session, run)


async def describe_run(session: AsyncSession, run: SendRun) -> SendRunOut:
    approved = await session.scalar(
        select(func.count()).where(orm.ProspectRow.job_id == run.job_id, orm.ProspectRow.verdict == "approved")
    )
    done = await session.scalar(
        select(func.count()).where(SendRow.job_id == run.job_id, SendRow.status.in_((*FINISHED, "pending")))
    )
    return SendRunOut(
        id=run.id,
        job_id=run.job_id,
        status=run.status,
        dry_run=run.dry_run,
        limit=run.limit,
        approved=int(approved or 0),
        already_sent=int(done or 0),
        counts=run.counts,
        stopped=run.stopped,
        stopped_detail=mask_text(run.stopped_detail) if run.stopped_detail else None,
        created_at=run.created_at,
        finished_at=run.finished_at,
    )


async def get_send_run(session: AsyncSession, tenant_id: str, job_id: str, run_id: str) -> SendRunOut:
    run = await session.scalar(
        select(SendRun).where(SendRun.id == run_id, SendRun.job_id == job_id, SendRun.tenant_id == tenant_id)
    )
    if run is None:
        raise NotFound(f"job {job_id!r} has no send run {run_id!r}")
    return await describe_run(session, run)


def spawn_send_run(database: Database, run_id: str) -> None:
    """Run the send run in this process's background; the request does not wait for it."""
    task = asyncio.create_task(run_send(database, run_id))
    _runs.add(task)
    task.add_done_callback(_runs.discard)


@dataclass(frozen=True)
class _Prepared:
    run: SendRun
    leads: list[Prospect]
    plan: SendPlan


async def _prepare(database: Database, run_id: str) -> _Prepared:
    """Mark the run running and read what it sends, and with what (`SendConfigError` when it cannot)."""
    settings = database.settings
    async with database.sessions() as session:
        run = await session.get_one(SendRun, run_id)
        job = await session.get_one(orm.Job, run.job_id)
        run.status = "running"
        await session.commit()
        rows = await lead_rows(session, run.tenant_id, run.job_id)
        leads = sorted((as_decided(Prospect.model_validate(row.data), review) for row, review in rows), key=rank_key)
        sender = await _sender(session, job, settings)
        try:
            suppression = SuppressionList.load(settings.cmo_suppression_file)
            signer = DkimSigner.from_settings(settings)
        except (SuppressionFileError, DkimConfigError) as exc:
            raise SendConfigError(str(exc)) from None
        suppression = suppression.merged(await load_suppression_list(session, run.tenant_id))
    resolver = dns.asyncresolver.Resolver() if settings.cmo_send_check_mx else None
    return _Prepared(run, leads, SendPlan(run.job_id, sender, suppression, signer, resolver, window=_window(settings)))


async def run_send(database: Database, run_id: str) -> None:
    """One send run, start to end; its outcome is written to its row (a failure too)."""
    settings = database.settings
    report: SendReport | None = None
    stopped: tuple[str, str] | None = None
    try:
        prepared = await _prepare(database, run_id)
        run = prepared.run
        if not run.dry_run:
            _transport_checked(settings)
        outbox = ServiceOutbox(
            database, asyncio.get_running_loop(), run.tenant_id, run.job_id, run.id, Caps.from_settings(settings)
        )

        def record(entry: SendRecord) -> None:
            if entry.status == "skipped" and not run.dry_run:
                outbox.record_skip(entry)

        async def send() -> SendReport:
            transports = None if run.dry_run else open_transports(settings)  # CMO_SEND_CONNECTIONS in parallel
            senders = transports.senders if transports is not None else None
            try:
                return await send_campaign(prepared.leads, prepared.plan, outbox, senders, limit=run.limit, on_record=record)
            finally:
                if transports is not None:
                    await transports.aclose()

        report = await asyncio.to_thread(asyncio.run, send())
        stopped = report.stopped
    except SendConfigError as exc:
        stopped = ("not_configured", str(exc))
    except Exception as exc:  # the run's row says it failed; the log has the rest
        log.exception("send run failed", send_run_id=run_id)
        stopped = ("error", type(exc).__name__)
    async with database.sessions() as session:
        row = await session.get_one(SendRun, run_id)
        row.status = "finished" if report is not None else "failed"
        counts: dict[str, int] = dict(report.counts()) if report else {}
        if report is not None:
            counts |= {"already_sent": report.already_sent, "not_approved": report.not_approved}
        row.counts = counts
        row.stopped, row.stopped_detail = stopped if stopped else (None, None)
        row.finished_at = utcnow()
        await session.commit()


def describe_send(row: SendRow) -> SendOut:
    return SendOut(
        id=row.id,
        prospect_id=row.prospect_id,
        step=row.step,
        status=_API_STATUS[row.status],
        reason=row.reason if row.status != "pending" else "in_flight_or_in_doubt",
        detail=mask_text(row.detail) if row.detail else None,
        message_id=row.message_id,
        send_run_id=row.send_run_id,
        created_at=row.created_at,
        claimed_at=row.claimed_at,
        finished_at=row.finished_at,
        bounced_at=row.bounced_at,
        complained_at=row.complained_at,
        replied_at=row.replied_at,
    )


async def list_sends(
    session: AsyncSession, tenant_id: str, job_id: str, *, limit: int, cursor: str | None, status: SendStatus | None
) -> tuple[list[SendOut], str | None]:
    """One page of the job's messages, newest first, and the cursor of the next page (or None)."""
    await get_job(session, tenant_id, job_id)
    query = select(SendRow).where(SendRow.job_id == job_id, SendRow.tenant_id == tenant_id)
    if status is not None:
        query = query.where(SendRow.status.in_([raw for raw, api in _API_STATUS.items() if api == status]))
    if cursor is not None:
        created_at, row_id = decode_cursor(cursor)
        query = query.where(or_(SendRow.created_at < created_at, (SendRow.created_at == created_at) & (SendRow.id < row_id)))
    rows = (await session.execute(query.order_by(SendRow.created_at.desc(), SendRow.id.desc()).limit(limit + 1))).scalars().all()
    page = [describe_send(row) for row in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return page, next_cursor


async def record_delivery_event(
    database: Database, tenant_id: str, message_id: str, kind: DeliveryKind, *, address: str | None = None
) -> SendOut | None:
    """Record what came back for one of the tenant's sent messages, found by its Message-ID (None:
    not one of ours): a hard bounce after the relay had accepted it, a complaint, or a reply. Emits
    `message.bounced` / `message.replied` (a complaint has no event of its own: it pauses the
    campaign when there are too many), suppresses `address` on a bounce or complaint, applies the
    kill switch, and commits. Recording the same thing twice changes nothing."""
    settings = database.settings
    published: list[tuple[str, dict[str, Any]]] = []
    async with database.sessions() as session:
        row = await session.scalar(
            select(SendRow).where(SendRow.tenant_id == tenant_id, SendRow.message_id == message_id.strip())
        )
        if row is None:
            return None

        async def emit(session: AsyncSession, event: str, data: dict[str, Any]) -> None:
            await append_event(session, row.job_id, event, data)
            published.append((event, data))

        now = utcnow()
        base = {"prospect_id": row.prospect_id, "step": row.step, "message_id": row.message_id}
        if kind == "bounced" and row.status == "sent":
            row.status, row.bounced_at, row.reason = "bounced", now, "dsn"
            await emit(session, MESSAGE_BOUNCED, base | {"reason": "dsn"})
        elif kind == "complained" and row.complained_at is None:
            row.complained_at = now
        elif kind == "replied" and row.replied_at is None:
            row.replied_at = now
            await emit(session, MESSAGE_REPLIED, base)
        if address and kind != "replied":
            await block_in_tenant(session, tenant_id, address, "bounce" if kind == "bounced" else "complaint")
        await session.flush()
        await pause_if_over(session, tenant_id, row.job_id, Caps.from_settings(settings), emit)
        await session.commit()
        for event, data in published:
            await dispatch_for_event(database, row.job_id, event, data)
        return describe_send(row)
