"""The per-job event log (`job_events`) and its live fan-out: what `GET /api/jobs/{id}/events` streams.

Writers call `append_event` inside their own transaction. When that transaction commits, the
session hands the new events, already encoded as SSE frames, to the process's `EventBus` (bound
once with `bind_event_bus`): an event is never announced before it can be read, nor at all if it
is rolled back. The table is the replay buffer, the bus only a wake-up call.

`seq` is max + 1 of the job's events, computed while holding the job row's lock (`FOR NO KEY
UPDATE` on Postgres; SQLite serialises writers anyway), so concurrent writers of one job get
consecutive numbers in commit order: a reader that sees event N can also see every event before it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import Row, String, func, insert, literal, select
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from api.core.database import Database
from api.core.orm import FINISHED_STATUSES, Job, JobEvent
from api.services.bus import BusEvent, EventBus
from foundation import events as graph_events
from storage.encrypted_types import EncryptedJSON
from storage.tables import UTCDateTime, utcnow

JOB_CREATED = "job.created"
JOB_STARTED = "job.started"
JOB_FAILED = "job.failed"
JOB_CANCELLED = "job.cancelled"
# Sending a finished job's approved drafts (api/services/sends.py); they follow its terminal event.
MESSAGE_SENT = "message.sent"
MESSAGE_BOUNCED = "message.bounced"
MESSAGE_REPLIED = "message.replied"
CAMPAIGN_PAUSED = "campaign.paused"
SEND_EVENTS = frozenset({MESSAGE_SENT, MESSAGE_BOUNCED, MESSAGE_REPLIED, CAMPAIGN_PAUSED})
SYNC_COMPLETED = "sync.completed"  # a destination sync of the job's leads (api/services/destination_sync.py)
SYNC_FAILED = "sync.failed"
CATALOGUE = frozenset(
    {
        JOB_CREATED,
        JOB_STARTED,
        graph_events.AGENT_STARTED,
        graph_events.AGENT_FINISHED,
        graph_events.AGENT_REASONING,
        graph_events.TOOL_CALLED,
        graph_events.TOOL_RESULT,
        graph_events.PROSPECT_FOUND,
        graph_events.PROSPECT_ENRICHED,
        graph_events.PROSPECT_DROPPED,
        graph_events.MESSAGE_DRAFTED,
        graph_events.COMPLIANCE_REVIEWED,
        graph_events.LLM_CALLED,
        graph_events.LLM_RESULT,
        graph_events.LLM_FAILED,
        graph_events.JOB_PROGRESS,
        graph_events.CAMPAIGN_COMPLETED,
        JOB_FAILED,
        JOB_CANCELLED,
        *SEND_EVENTS,
        SYNC_COMPLETED,
        SYNC_FAILED,
    }
)
TERMINAL_EVENTS = frozenset({graph_events.CAMPAIGN_COMPLETED, JOB_FAILED, JOB_CANCELLED})
HISTORY_PAGE = 500

_BUS = "cmo.event_bus"
_PENDING = "cmo.events_pending"

STREAMS = Gauge("cmo_sse_streams", "Open job event streams in this process.", multiprocess_mode="livesum")
CATCH_UPS = Counter(
    "cmo_sse_catch_ups_total",
    "Event-table reads by live streams (a lost notification, a client too slow for its buffer, a silent job).",
)


def bind_event_bus(database: Database, bus: EventBus) -> None:
    """Every session of `database` publishes the events it commits through `bus` (call once per
    process, after opening both). Unbound sessions only store events; streams find them by polling."""
    database.bind_session_info(_BUS, bus)


async def append_event(
    session: AsyncSession,
    job_id: str,
    event: str,
    data: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    new_job: bool = False,
) -> int | None:
    """Append one event inside the caller's transaction and return its `seq`; published on commit.

    `dedupe_key` (unique per job) makes the append idempotent: a node re-run after a crash repeats
    its events with the same keys, and those already stored are dropped (None is returned).
    `new_job`: the job row was inserted in this very transaction, so no other writer can see it yet
    and the job lock (one round trip on the job-creation path) is skipped.
    """
    if event not in CATALOGUE:
        raise ValueError(f"unknown event {event!r}: add it to the catalogue in api/services/events.py")
    if not new_job:
        locked = await session.scalar(select(Job.id).where(Job.id == job_id).with_for_update(key_share=True))
        if locked is None:
            raise LookupError(f"no job {job_id!r}")
    created_at = utcnow()
    next_seq = select(func.coalesce(func.max(JobEvent.seq), 0) + 1).where(JobEvent.job_id == job_id).scalar_subquery()
    row = select(
        literal(job_id, String()),
        next_seq,
        literal(event, String()),
        literal(data, EncryptedJSON()),
        literal(created_at, UTCDateTime()),
        literal(dedupe_key, String()),
    )
    if dedupe_key is not None:
        row = row.where(~select(JobEvent.seq).where(JobEvent.job_id == job_id, JobEvent.dedupe_key == dedupe_key).exists())
    statement = insert(JobEvent).from_select(["job_id", "seq", "event", "data", "created_at", "dedupe_key"], row)
    seq = await session.scalar(statement.returning(JobEvent.seq))
    if seq is not None:
        bus_event = BusEvent(seq, event, encode_frame(job_id, seq, event, created_at, data))
        session.info.setdefault(_PENDING, []).append((job_id, bus_event))
    return seq


@sa_event.listens_for(Session, "after_commit")
def _publish_committed(session: Session) -> None:
    if session.in_nested_transaction():  # a released savepoint: the events are not committed yet
        return
    pending = session.info.pop(_PENDING, None)
    bus: EventBus | None = session.info.get(_BUS)
    if pending and bus is not None:
        for job_id, bus_event in pending:
            bus.publish(job_id, bus_event)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # rolled back or closed: what it appended never happened
        session.info.pop(_PENDING, None)


def encode_frame(job_id: str, seq: int, event: str, created_at: datetime, data: dict[str, Any]) -> bytes:
    """The SSE frame of one event: `id` is the seq, `data` SPEC's envelope (as its webhooks send)."""
    timestamp = created_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = json.dumps(
        {"event": event, "job_id": job_id, "timestamp": timestamp, "data": data}, ensure_ascii=False, separators=(",", ":")
    )
    return f"id: {seq}\nevent: {event}\ndata: {body}\n\n".encode()


async def read_events(
    session: AsyncSession, job_id: str, after: int, limit: int
) -> Sequence[Row[int, str, dict[str, Any], datetime]]:
    """The job's events with `seq` > `after`, oldest first, at most `limit` of them."""
    query = (
        select(JobEvent.seq, JobEvent.event, JobEvent.data, JobEvent.created_at)
        .where(JobEvent.job_id == job_id, JobEvent.seq > after)
        .order_by(JobEvent.seq)
        .limit(limit)
    )
    return (await session.execute(query)).all()


class _Position:
    """What one stream has sent: the last `seq`, and whether it is over."""

    def __init__(self, job_id: str, last: int) -> None:
        self.job_id = job_id
        self.last = last
        self.ended = False

    def take(self, events: Sequence[BusEvent]) -> bytes | None:
        """The frames of live events that follow on exactly (replayed ones skipped); None when
        something is missing in between, so the caller reads the table instead."""
        fresh = [e for e in events if e.seq > self.last]
        if any(e.name in TERMINAL_EVENTS for e in events if e.seq <= self.last):
            self.ended = True  # the job ended before the client's Last-Event-ID: nothing can follow
            return b""
        if any(e.seq != self.last + i for i, e in enumerate(fresh, 1)):
            return None
        frames = []
        for bus_event in fresh:
            frames.append(bus_event.frame)
            self.last = bus_event.seq
            if bus_event.name in TERMINAL_EVENTS:
                self.ended = True
                break
        return frames[0] if len(frames) == 1 else b"".join(frames)

    async def catch_up(self, database: Database) -> AsyncIterator[bytes]:
        """Replay the table after `last`, a page per chunk, without holding a connection while a
        chunk is being sent. The job's status is read first: a job that had finished by then has
        all its events in what follows, so the stream ends after them. A replay reads on past the
        terminal event, to the end of the table: sending a finished job's drafts appends its
        `message.*` and `campaign.paused` events after it (`api.services.sends`)."""
        finished: bool | None = None
        terminal = False
        while not self.ended:
            async with database.sessions() as session:
                if finished is None:
                    status = await session.scalar(select(Job.status).where(Job.id == self.job_id))
                    finished = status is None or status in FINISHED_STATUSES
                rows = await read_events(session, self.job_id, self.last, HISTORY_PAGE)
            frames = []
            for seq, name, data, created_at in rows:
                frames.append(encode_frame(self.job_id, seq, name, created_at, data))
                self.last = seq
                terminal = terminal or name in TERMINAL_EVENTS
            if frames:
                yield b"".join(frames)
            if len(rows) < HISTORY_PAGE:
                break
        self.ended = self.ended or terminal or bool(finished)


async def stream_events(
    database: Database, bus: EventBus, job_id: str, after: int, resync_seconds: float
) -> AsyncIterator[bytes]:
    """SSE chunks of one job from `seq` > `after`: every event once, in order, until a terminal one.

    The live subscription is open before the table is read, so an event committed meanwhile is in
    one or the other, and live copies of replayed events are skipped by `seq`. A gap in the live
    sequence, a stale subscription or `resync_seconds` of silence sends the stream back to the table.
    """
    position = _Position(job_id, after)
    STREAMS.inc()
    try:
        async with bus.subscribe(job_id) as live:
            async for chunk in position.catch_up(database):
                yield chunk
            while not position.ended:
                events = await live.receive(resync_seconds)
                frames = position.take(events) if events is not None else None
                if frames is None:
                    CATCH_UPS.inc()
                    async for chunk in position.catch_up(database):
                        yield chunk
                elif frames:
                    yield frames
    finally:
        STREAMS.dec()
