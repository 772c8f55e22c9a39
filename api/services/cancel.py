"""Cancel over pub/sub: a running job is told to stop at once, not at its worker's next heartbeat.

`DELETE /api/jobs/{id}` on a running job commits `cancel_requested` (the source of truth), then
`announce_cancel` publishes the job id on `cmo:cancel`. Every worker process with Redis follows the
channel, and the one running the job calls `JobRun.request_stop("cancel")`; the others ignore it.
The message is only sent after the flag is committed, so acting on it never disagrees with the
database. A worker that misses it (Redis away, reconnecting) still reads the flag with its next
heartbeat, as before. In one process (embedded mode, or an API process with inline workers) the
workers are told directly as well, so the cancel needs no Redis there.
"""

from __future__ import annotations

import weakref
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.config import ApiConfig
from api.core.database import Database
from api.core.redis import ChannelListener

CHANNEL = "cmo:cancel"
_PUBLISHER = "cmo.cancel_publisher"  # the Redis client, in the `info` of the database's sessions

log = structlog.get_logger("api.cancel")


class CancelTarget(Protocol):
    def cancel_running(self, job_id: str) -> None:
        """Stop the job if this worker runs it; nothing otherwise."""


_local: weakref.WeakSet[CancelTarget] = weakref.WeakSet()  # the workers of this process


def bind_cancel_publisher(database: Database, redis: Redis | None) -> None:
    """Sessions of `database` publish the cancels they commit with `redis` (the app lifespan does it)."""
    database.bind_session_info(_PUBLISHER, redis)


async def announce_cancel(session: AsyncSession, job_id: str) -> None:
    """After `cancel_requested` was committed: tell this process's workers and, with Redis, all others.
    Best effort: a lost message only delays the stop until the worker's next heartbeat."""
    for target in list(_local):
        target.cancel_running(job_id)
    redis: Redis | None = session.info.get(_PUBLISHER)
    if redis is None:
        return
    try:
        await redis.publish(CHANNEL, job_id)
    except (RedisError, OSError) as exc:
        log.warning("cancel not published; the worker sees it at its next heartbeat", job_id=job_id, error=str(exc))


def listen_locally(target: CancelTarget) -> None:
    _local.add(target)


def stop_listening_locally(target: CancelTarget) -> None:
    _local.discard(target)


async def follow_cancels(redis_url: str, config: ApiConfig, target: CancelTarget) -> ChannelListener:
    """Hand every cancel published on `cmo:cancel` to `target` (started; close it when done)."""
    listener = ChannelListener(
        redis_url,
        CHANNEL,
        target.cancel_running,
        timeout_seconds=config.redis_timeout_seconds,
        ping_seconds=config.control_ping_seconds,
    )
    await listener.start()
    return listener
