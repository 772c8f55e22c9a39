"""The process's Redis clients: the shared pool, and the subscriber of control messages.

Timeouts are short on purpose: a Redis outage must turn into a fast error or a 503 from `/readyz`,
never into requests that hang; `health_check_interval` re-checks idle pooled connections.

Control messages (a job to cancel, an API key revoked) are tiny pub/sub notifications that make
something happen now instead of at the next poll. Pub/sub delivers only to connected subscribers,
so each use keeps a slower path that does not depend on them (the job's `cancel_requested` flag,
the key cache's TTL) and `ChannelListener` tells its owner when it (re)connected: whatever was
published while it was away is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import structlog
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = structlog.get_logger("api.redis")


MAX_CONNECTIONS = 100


def open_redis(url: str, timeout_seconds: float, max_connections: int = MAX_CONNECTIONS) -> Redis:
    """A client whose pool makes a command wait (up to `timeout_seconds`) for a free connection
    once `max_connections` are busy: redis-py's default pool fails it at once ("Too many
    connections"), which under a burst of job submissions left jobs stored but not enqueued."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout_seconds,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        health_check_interval=30,
        decode_responses=True,
    )
    return Redis.from_pool(pool)


async def publish_once(url: str, channel: str, message: str, timeout_seconds: float) -> int:
    """Publish from a process that keeps no Redis client (the CLI); returns the receivers' count."""
    redis = open_redis(url, timeout_seconds)
    try:
        return await redis.publish(channel, message)
    finally:
        await redis.aclose()


async def pubsub_messages(pubsub: PubSub, ping_seconds: float) -> AsyncIterator[dict[str, Any]]:
    """The messages of a subscription, forever. A quiet connection is pinged every `ping_seconds`
    and a ping left unanswered for as long raises `ConnectionError`, so a half-open TCP connection
    (no RST after a network cut) is noticed instead of waiting silently forever."""
    awaiting_pong = False
    while True:
        message = await pubsub.get_message(timeout=ping_seconds)
        if message is None:
            if awaiting_pong:
                raise ConnectionError(f"no answer from Redis within {ping_seconds}s")
            await pubsub.ping()
            awaiting_pong = True
            continue
        awaiting_pong = False
        yield message


async def follow_pubsub(
    redis: Redis,
    serve: Callable[[PubSub], Awaitable[None]],
    lost: Callable[[PubSub], bool],
    warning: str,
    **fields: Any,
) -> None:
    """Forever: open a pub/sub connection and `serve` it until it fails, then close it and start over
    with backoff. `lost` runs after each connection ends and says whether it had been established
    (the backoff then starts again from its shortest delay)."""
    delay = 0.1
    while True:
        pubsub = redis.pubsub()
        error = "connection closed"
        try:
            await serve(pubsub)
        except (RedisError, OSError) as exc:
            error = str(exc)
        finally:
            established = lost(pubsub)
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
        if established:
            delay = 0.1
        log.warning(warning, error=error, retry_in=delay, **fields)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)


class ChannelListener:
    """One pub/sub connection following one channel, reconnecting with backoff until closed.

    `on_message` gets each message's text; `on_connected` runs each time the subscription is
    confirmed, first and after every reconnection (messages published in between are lost). A
    half-open connection raises nothing by itself, so a silent subscription is PINGed every
    `ping_seconds` and one that does not answer is reconnected.
    """

    def __init__(
        self,
        url: str,
        channel: str,
        on_message: Callable[[str], None],
        *,
        on_connected: Callable[[], None] = lambda: None,
        timeout_seconds: float,
        ping_seconds: float,
    ) -> None:
        self.channel = channel
        self._on_message, self._on_connected = on_message, on_connected
        self._timeout, self._ping_seconds = timeout_seconds, ping_seconds
        self._redis = Redis.from_url(  # no hidden retries: reconnecting and resubscribing is done here
            url,
            decode_responses=True,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 0),
            client_name=f"cmo-control:{os.getpid()}",
        )
        self._subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start following; waits (at most the Redis timeout) until the subscription is confirmed, so
        a message published once this returns is received. Redis being away does not fail the start."""
        self._task = asyncio.create_task(self._follow())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._timeout):
                await self._subscribed.wait()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._redis.aclose()

    async def _follow(self) -> None:
        await follow_pubsub(
            self._redis, self._serve, self._lost, "control channel disconnected; reconnecting", channel=self.channel
        )

    async def _serve(self, pubsub: PubSub) -> None:
        await pubsub.subscribe(self.channel)
        await self._dispatch(pubsub)

    def _lost(self, _pubsub: PubSub) -> bool:
        if not self._subscribed.is_set():
            return False
        self._subscribed.clear()
        return True

    async def _dispatch(self, pubsub: PubSub) -> None:
        async for message in pubsub_messages(pubsub, self._ping_seconds):
            if message["type"] == "subscribe":
                self._subscribed.set()
                self._on_connected()
            elif message["type"] == "message":
                try:
                    self._on_message(message["data"])
                except Exception:  # one bad message never stops the listener
                    log.exception("control message not handled", channel=self.channel)
