"""The job queue: how a created job reaches a worker.

The database row is the source of truth; the queue only carries job ids. With `REDIS_URL` the
queue is a Redis Stream read by a consumer group, so any number of worker processes can share it
and entries of a dead worker can be reclaimed; without Redis (the embedded laptop mode) it is an
in-process asyncio queue. Consuming either queue belongs to the workers (`services/consumers.py`).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from api.core.metrics import QUEUE_DEPTH, QUEUE_OLDEST_AGE


class JobQueue(Protocol):
    async def enqueue(self, job_id: str) -> None:
        """Hand a committed job to the workers."""

    async def depth(self) -> int:
        """Entries not yet acknowledged by a worker (the autoscaling signal)."""


class InProcessJobQueue:
    """For the embedded mode, where API and workers share one process."""

    def __init__(self) -> None:
        self.jobs: asyncio.Queue[str] = asyncio.Queue()

    async def enqueue(self, job_id: str) -> None:
        self.jobs.put_nowait(job_id)

    async def depth(self) -> int:
        return self.jobs.qsize()


class RedisJobQueue:
    """`XADD` to a stream that a consumer group reads with `XREADGROUP` (workers, later)."""

    def __init__(self, redis: Redis, stream: str, group: str) -> None:
        self.redis = redis
        self.stream = stream
        self.group = group

    async def ensure_group(self) -> None:
        """Create the stream and its consumer group once; a group that exists is left untouched."""
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def enqueue(self, job_id: str) -> None:
        await self.redis.xadd(self.stream, {"job_id": job_id})

    async def depth(self) -> int:
        """Entries never delivered to the group (its lag) plus those delivered but not acknowledged.
        Redis cannot compute the lag after some deletions; the stream length bounds it then."""
        group = await self._group_info()
        if group is None or group.get("lag") is None:
            return await self.redis.xlen(self.stream)
        return int(group["lag"]) + int(group.get("pending", 0))

    async def _group_info(self) -> dict[str, Any] | None:
        """This queue's group as `XINFO GROUPS` describes it (None: the group does not exist)."""
        groups = await self.redis.xinfo_groups(self.stream)
        return next((g for g in groups if g["name"] == self.group), None)

    async def oldest_pending_age(self) -> float:
        """Seconds since the oldest entry not yet acknowledged was added (0 when there is none): the
        first pending one (`XPENDING`) or the first never delivered, whichever is older. Entry ids
        are Redis timestamps, so the age is measured on Redis's clock."""
        oldest: list[str] = []
        pending = await self.redis.xpending(self.stream, self.group)
        if pending["pending"]:
            oldest.append(pending["min"])
        group = await self._group_info()
        after = f"({group['last-delivered-id']}" if group else "-"
        oldest += [str(entry_id) for entry_id, _ in await self.redis.xrange(self.stream, min=after, count=1) or []]
        if not oldest:
            return 0.0
        seconds, microseconds = await self.redis.time()
        oldest_ms = min(int(entry_id.split("-")[0]) for entry_id in oldest)
        return max(0.0, seconds + microseconds / 1e6 - oldest_ms / 1000)


async def refresh_queue_gauges(queue: JobQueue) -> None:
    """Set `cmo_queue_depth` and, on Redis, `cmo_queue_oldest_pending_age_seconds` (the autoscaling signals)."""
    QUEUE_DEPTH.set(await queue.depth())
    if isinstance(queue, RedisJobQueue):
        QUEUE_OLDEST_AGE.set(await queue.oldest_pending_age())
