"""Live fan-out of committed job events to the SSE streams of every API process.

The database is the replay buffer; the bus only carries notifications, so a stream wakes up at once
instead of polling the table. Losing one costs latency, never data: a stream that sees a gap in
`seq`, overflows its buffer or hears nothing for a while re-reads the table (`api.services.events`).

Each event is encoded once, by the process that appends it: the bus carries the finished SSE frame,
and a process hands the same `bytes` object to all its local subscribers (per-client encoding is
what a large fan-out pays for, FIELD-NOTES "SSE").

- `InProcessEventBus`: the embedded mode, where the API and the inline workers share one process.
- `RedisEventBus`: one pub/sub connection per process, subscribed to `cmo:events:<job_id>` while a
  local stream follows that job, and one publisher task (pipelined, in commit order). Any API
  replica serves any job, and nothing lives only in one process's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from api.core.config import ApiConfig
from api.core.redis import follow_pubsub, pubsub_messages

CHANNEL_PREFIX = "cmo:events:"
_PUBLISH_BATCH = 256
_OUTBOX_SIZE = 10_000

log = structlog.get_logger("api.bus")


@dataclass(frozen=True, slots=True)
class BusEvent:
    """A committed event on its way to clients: its position, its name and the SSE frame itself."""

    seq: int
    name: str
    frame: bytes

    def to_wire(self) -> bytes:
        return b"%d %b\n%b" % (self.seq, self.name.encode(), self.frame)

    @classmethod
    def from_wire(cls, payload: bytes) -> BusEvent:
        head, _, frame = payload.partition(b"\n")
        seq, _, name = head.partition(b" ")
        return cls(int(seq), name.decode(), frame)


class Subscription:
    """One stream's view of one job's live events: a bounded buffer of shared `BusEvent`s.

    A full buffer never blocks the bus or the other streams: the event is dropped and the
    subscription marked stale, so its stream catches up from the table at its own pace.

    Waiting costs no timer per event: one fan-out wakes every stream of the job, and an
    `asyncio.timeout` per wait cost ~7 µs a stream, a tenth of what delivering an event to it costs
    (bench/README.md). The silence deadline moves forward with each wait and one timer per
    subscription is re-armed only when it fires early, about once per `timeout` of a busy stream.
    """

    def __init__(self, capacity: int) -> None:
        self._events: deque[BusEvent] = deque()
        self._capacity = capacity
        self._stale = False
        self._waiter: asyncio.Future[None] | None = None
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def deliver(self, event: BusEvent) -> None:
        if len(self._events) >= self._capacity:
            self._stale = True
        else:
            self._events.append(event)
        self._wake()

    def mark_stale(self) -> None:
        """Notifications may have been missed (lost connection, unconfirmed subscription)."""
        self._stale = True
        self._wake()

    async def receive(self, timeout: float) -> list[BusEvent] | None:
        """Everything buffered (at least one event), or None when the stream must read the table:
        the subscription went stale, or nothing arrived within `timeout` seconds."""
        if not self._events and not self._stale:
            loop = asyncio.get_running_loop()
            self._deadline = loop.time() + timeout
            if self._timer is not None and self._timer.when() > self._deadline:  # a shorter timeout than before
                self._timer.cancel()
                self._timer = None
            if self._timer is None:
                self._timer = loop.call_at(self._deadline, self._on_timer, loop)
            self._waiter = loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
            if not self._events and not self._stale:
                return None  # silence: the timer woke it
        if self._events:
            events = list(self._events)
            self._events.clear()
            return events
        self._stale = False
        return None

    def close(self) -> None:
        """The stream left: its timer goes."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _on_timer(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._waiter is None:  # not waiting now: the next wait arms it again
            self._timer = None
        elif loop.time() >= self._deadline:
            self._timer = None
            self._wake()
        else:  # the deadline moved on since it was armed
            self._timer = loop.call_at(self._deadline, self._on_timer, loop)


class EventBus(ABC):
    """Publish committed events of a job; subscribe to a job's live events in this process."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._local: dict[str, set[Subscription]] = {}

    @abstractmethod
    async def start(self) -> None:
        """Open connections and background tasks (in the app lifespan or a worker's start)."""

    @abstractmethod
    async def close(self) -> None:
        """Flush what is still to publish, then release connections."""

    @abstractmethod
    def publish(self, job_id: str, event: BusEvent) -> None:
        """Hand over a committed event for delivery. Synchronous and best effort: it runs in the
        session's after-commit hook, so it must neither block nor raise."""

    @contextlib.asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[Subscription]:
        """A subscription that is live on entry: every event published from then on reaches it
        (or marks it stale), which is what lets the stream read history only afterwards."""
        subscription = Subscription(self._capacity)
        local = self._local.setdefault(job_id, set())
        first = not local
        local.add(subscription)
        try:
            await self._listen(job_id, subscription, first=first)
            yield subscription
        finally:
            subscription.close()
            local.discard(subscription)
            if not local and self._local.get(job_id) is local:
                del self._local[job_id]
                self._unlisten(job_id)

    @abstractmethod
    async def _listen(self, job_id: str, subscription: Subscription, *, first: bool) -> None:
        """Make sure this process receives the job's events before the subscriber reads history."""

    @abstractmethod
    def _unlisten(self, job_id: str) -> None:
        """The last local subscriber of the job left. Synchronous: it runs during cancellation."""

    def _deliver(self, job_id: str, event: BusEvent) -> None:
        for subscription in self._local.get(job_id, ()):
            subscription.deliver(event)

    def _mark_all_stale(self) -> None:
        for subscriptions in self._local.values():
            for subscription in subscriptions:
                subscription.mark_stale()


class InProcessEventBus(EventBus):
    """Delivery by direct hand-over: right when API and workers are one process (embedded mode)."""

    async def start(self) -> None:
        """Nothing to open: publishing is a direct hand-over."""

    async def close(self) -> None:
        """Nothing to flush or release."""

    def publish(self, job_id: str, event: BusEvent) -> None:
        self._deliver(job_id, event)

    async def _listen(self, job_id: str, subscription: Subscription, *, first: bool) -> None:
        """Every event of this process reaches its local subscribers already."""

    def _unlisten(self, job_id: str) -> None:
        """No per-job listener to stop."""


class RedisEventBus(EventBus):
    """Redis pub/sub with one subscriber connection per process, however many streams it serves.

    Subscribing waits for Redis to confirm SUBSCRIBE (counted per channel, so an UNSUBSCRIBE and
    SUBSCRIBE racing for the same channel cannot confirm too early). The reader detects a dead
    connection with its own PING (a half-open socket raises nothing), reconnects with backoff,
    resubscribes, and marks every local subscription stale so each stream re-reads what it missed.
    """

    def __init__(self, redis: Redis, *, capacity: int, timeout: float, poll_seconds: float = 5.0) -> None:
        super().__init__(capacity)
        self._redis = redis
        self._timeout = timeout
        self._poll_seconds = poll_seconds
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(_OUTBOX_SIZE)
        self._pubsub: PubSub | None = None
        self._confirmed: dict[str, asyncio.Event] = {}  # by job id, while local subscribers exist
        self._unconfirmed: dict[str, int] = {}  # SUBSCRIBE commands sent but not yet answered, by channel
        self._tasks: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_url(cls, url: str, config: ApiConfig) -> RedisEventBus:
        """Its own client: raw bytes (frames are forwarded untouched), no hidden retries (the
        reader handles reconnection itself), and a name that shows in `CLIENT LIST`."""
        timeout = config.redis_timeout_seconds
        redis = Redis.from_url(
            url,
            decode_responses=False,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            client_name=f"cmo-events:{os.getpid()}",
        )
        return cls(redis, capacity=config.sse_buffer_events, timeout=timeout, poll_seconds=config.control_ping_seconds)

    async def start(self) -> None:
        self._spawn(self._read())
        self._spawn(self._publish_loop())

    async def close(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._timeout):
                await self._outbox.join()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._redis.aclose()

    def publish(self, job_id: str, event: BusEvent) -> None:
        try:
            self._outbox.put_nowait((CHANNEL_PREFIX + job_id, event.to_wire()))
        except asyncio.QueueFull:
            log.warning("event notification dropped: outbox full; streams catch up from the database", job_id=job_id)

    async def _publish_loop(self) -> None:
        """One task publishes everything, so a process's notifications keep their commit order."""
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < _PUBLISH_BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for channel, payload in batch:
                        pipe.publish(channel, payload)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                log.warning("event notifications lost; streams catch up from the database", count=len(batch), error=str(exc))
            finally:
                for _ in batch:
                    self._outbox.task_done()

    async def _listen(self, job_id: str, subscription: Subscription, *, first: bool) -> None:
        confirmed = self._confirmed.setdefault(job_id, asyncio.Event())
        if first:
            await self._send_subscribe(CHANNEL_PREFIX + job_id)
        try:
            async with asyncio.timeout(self._timeout):
                await confirmed.wait()
        except TimeoutError:  # Redis is away: the stream starts by catching up and keeps re-reading
            subscription.mark_stale()

    def _unlisten(self, job_id: str) -> None:
        self._confirmed.pop(job_id, None)
        if self._pubsub is not None:
            self._spawn(self._unsubscribe(self._pubsub, job_id))

    async def _send_subscribe(self, *channels: str) -> None:
        pubsub = self._pubsub
        if pubsub is None:  # disconnected: the reader subscribes every local job when it is back
            return
        for channel in channels:
            self._unconfirmed[channel] = self._unconfirmed.get(channel, 0) + 1
        try:
            await pubsub.subscribe(*channels)
        except (RedisError, OSError) as exc:  # the reader sees the same failure and reconnects
            log.warning("redis subscribe failed", error=str(exc))

    async def _unsubscribe(self, pubsub: PubSub, job_id: str) -> None:
        """Unless a new local subscriber came meanwhile (a reconnecting client): its SUBSCRIBE is
        already sent, and an UNSUBSCRIBE after it would silently cancel it."""
        if job_id in self._local or pubsub is not self._pubsub:
            return
        with contextlib.suppress(RedisError, OSError):
            await pubsub.unsubscribe(CHANNEL_PREFIX + job_id)

    async def _read(self) -> None:
        """Connect, (re)subscribe every locally followed job, dispatch; reconnect on failure.

        Streams are marked stale once when the connection drops and once when it is back (what
        was published in between exists only in the table); while Redis stays away they fall
        back to re-reading the table every `sse_resync_seconds`.
        """
        await follow_pubsub(self._redis, self._serve, self._lost, "redis event subscriber disconnected; reconnecting")

    async def _serve(self, pubsub: PubSub) -> None:
        await pubsub.connect()
        self._pubsub = pubsub
        self._unconfirmed.clear()
        if self._confirmed:
            await self._send_subscribe(*(CHANNEL_PREFIX + job_id for job_id in self._confirmed))
            self._mark_all_stale()
        await self._dispatch(pubsub)

    def _lost(self, pubsub: PubSub) -> bool:
        if self._pubsub is not pubsub:
            return False
        self._pubsub = None
        for confirmed in self._confirmed.values():
            confirmed.clear()
        self._mark_all_stale()
        return True

    async def _dispatch(self, pubsub: PubSub) -> None:
        async for message in pubsub_messages(pubsub, self._poll_seconds):
            kind, channel = message["type"], message["channel"]
            if kind == "message":
                job_id = channel.decode().removeprefix(CHANNEL_PREFIX)
                try:
                    self._deliver(job_id, BusEvent.from_wire(message["data"]))
                except ValueError:
                    log.warning("malformed event notification ignored", channel=channel)
            elif kind == "subscribe":
                self._on_subscribed(channel.decode())

    def _on_subscribed(self, channel: str) -> None:
        left = self._unconfirmed.get(channel, 1) - 1
        if left > 0:
            self._unconfirmed[channel] = left
            return
        self._unconfirmed.pop(channel, None)
        confirmed = self._confirmed.get(channel.removeprefix(CHANNEL_PREFIX))
        if confirmed is not None:
            confirmed.set()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def create_event_bus(redis_url: str | None, config: ApiConfig) -> EventBus:
    """Redis pub/sub when `REDIS_URL` is set, else in-process delivery (embedded mode)."""
    if redis_url:
        return RedisEventBus.from_url(redis_url, config)
    return InProcessEventBus(config.sse_buffer_events)
