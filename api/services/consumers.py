"""The consuming side of the job queue, as the workers see it: take, acknowledge, keep alive, hand back.

With Redis, entries of the stream are read through the consumer group (`XREADGROUP`); an entry
stays pending until its job reaches a final status, then it is acknowledged and deleted (`XACK` +
`XDEL`, so the stream only ever holds unfinished work and stays small). A worker refreshes the
idle time of the entries it runs (`XCLAIM ... JUSTID`), so only the entries of a worker that stopped
refreshing — a dead one — grow idle, and `XAUTOCLAIM` hands those to another worker.

A worker killed with SIGKILL leaves its consumer in the group. Once `XAUTOCLAIM` has moved its
pending entries to live workers it is only a name, but it stays in `XINFO CONSUMERS` forever, so
each sweep deletes the consumers that have no pending entry and have been idle for
`worker_consumer_idle_seconds` (a live worker's blocking reads keep its idle time near zero). The
check and the deletion are one Lua script: `XGROUP DELCONSUMER` drops the consumer's pending
entries with it, so a consumer that got an entry between a separate check and the deletion would
lose that entry for good.

Without Redis (the embedded mode) the in-process queue has nothing to acknowledge or reclaim.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from redis.exceptions import ResponseError

from api.services.queue import InProcessJobQueue, RedisJobQueue


@dataclass(frozen=True)
class Delivery:
    job_id: str
    entry_id: str | None = None  # the stream entry; None for the in-process queue


class StreamLost(Exception):
    """The stream or its group is gone (Redis restarted empty, or the key was deleted)."""


class JobSource(Protocol):
    sweep_seconds: float | None  # how often jobs the queue may have lost are looked for (None: at start only)

    async def start(self) -> None:
        """Make sure the queue can be consumed (idempotent)."""

    async def take(self, timeout: float) -> Delivery | None:
        """The next job to run, waiting at most `timeout` seconds."""

    async def ack(self, delivery: Delivery) -> None:
        """The job reached a final status: forget the entry."""

    async def keepalive(self, delivery: Delivery) -> None:
        """The job is still running here: keep the entry from looking abandoned."""

    async def retry_later(self, delivery: Delivery) -> None:
        """A live worker holds the job: look at it again once a dead one would have been noticed."""

    async def release(self, delivery: Delivery) -> None:
        """This worker stops before the job finished: hand it to another worker now."""

    async def enqueue_missing(self, job_ids: Iterable[str]) -> int:
        """Enqueue the jobs the queue does not hold; returns how many."""

    async def close(self) -> None:
        """This worker stops for good (all its jobs were acknowledged or handed back)."""

    async def prune_consumers(self) -> list[str]:
        """Forget the consumers of dead workers that hold nothing any more; returns their names."""


# KEYS[1] stream; ARGV: group, minimum idle ms, the caller's own consumer (never removed).
PRUNE_CONSUMERS = """
local removed = {}
for _, fields in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local consumer = {}
  for i = 1, #fields, 2 do consumer[fields[i]] = fields[i + 1] end
  if consumer['pending'] == 0 and consumer['idle'] >= tonumber(ARGV[2]) and consumer['name'] ~= ARGV[3] then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], consumer['name'])
    removed[#removed + 1] = consumer['name']
  end
end
return removed
"""


class StreamSource:
    """A consumer of the Redis Stream's group."""

    def __init__(self, queue: RedisJobQueue, consumer: str, claim_idle_seconds: float, consumer_idle_seconds: float) -> None:
        self.queue, self.redis, self.stream, self.group = queue, queue.redis, queue.stream, queue.group
        self.consumer = consumer
        self.claim_idle_ms = int(claim_idle_seconds * 1000)
        self.consumer_idle_ms = int(consumer_idle_seconds * 1000)
        self._prune = self.redis.register_script(PRUNE_CONSUMERS)
        self.sweep_seconds: float | None = claim_idle_seconds
        self._scan_from = "0-0"  # XAUTOCLAIM's cursor: a scan looks at a few entries per call

    async def start(self) -> None:
        await self.queue.ensure_group()

    async def close(self) -> None:
        """Remove this worker's consumer from the group unless entries are still pending under it
        (a dead worker's consumer is deleted by a live worker's sweep once its entries were claimed)."""
        pending = await self.redis.xpending_range(self.stream, self.group, "-", "+", 1, consumername=self.consumer)
        if not pending:
            await self.redis.xgroup_delconsumer(self.stream, self.group, self.consumer)

    async def prune_consumers(self) -> list[str]:
        return await self._prune(keys=[self.stream], args=[self.group, self.consumer_idle_ms, self.consumer])

    async def take(self, timeout: float) -> Delivery | None:
        """A dead worker's entry first (`XAUTOCLAIM`), else a new one (`XREADGROUP`, blocking)."""
        try:
            self._scan_from, claimed, *_ = await self.redis.xautoclaim(
                self.stream, self.group, self.consumer, self.claim_idle_ms, start_id=self._scan_from, count=1
            )
            if not claimed:
                read = await self.redis.xreadgroup(
                    self.group, self.consumer, {self.stream: ">"}, count=1, block=max(1, int(timeout * 1000))
                )
                claimed = _stream_entries(read)
        except ResponseError as exc:
            if "NOGROUP" in str(exc) or "no longer exists" in str(exc):
                raise StreamLost(str(exc)) from exc
            raise
        if not claimed:
            return None
        entry_id, fields = claimed[0]
        return Delivery(fields["job_id"], entry_id)

    async def ack(self, delivery: Delivery) -> None:
        entry_id = _entry_id(delivery)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, entry_id)
            pipe.xdel(self.stream, entry_id)
            await pipe.execute()

    async def keepalive(self, delivery: Delivery) -> None:
        await self.redis.xclaim(self.stream, self.group, self.consumer, 0, [_entry_id(delivery)], justid=True)

    async def retry_later(self, delivery: Delivery) -> None:
        """Nothing to do: the entry stays pending and `XAUTOCLAIM` offers it again when idle."""

    async def release(self, delivery: Delivery) -> None:
        entry_id = _entry_id(delivery)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self.stream, {"job_id": delivery.job_id})
            pipe.xack(self.stream, self.group, entry_id)
            pipe.xdel(self.stream, entry_id)
            await pipe.execute()

    async def enqueue_missing(self, job_ids: Iterable[str]) -> int:
        held = {fields["job_id"] for _, fields in await self.redis.xrange(self.stream) or [] if fields}
        missing = [job_id for job_id in job_ids if job_id not in held]
        for job_id in missing:
            await self.queue.enqueue(job_id)
        return len(missing)


class MemorySource:
    """The in-process queue of the embedded mode, shared with the API in the same process."""

    def __init__(self, queue: InProcessJobQueue, claim_idle_seconds: float) -> None:
        self.queue = queue
        self.claim_idle_seconds = claim_idle_seconds
        self.sweep_seconds: float | None = None  # nothing is lost while the process lives

    async def start(self) -> None:
        """Nothing to set up."""

    async def close(self) -> None:
        """Nothing to tear down."""

    async def prune_consumers(self) -> list[str]:
        """There are no consumers to forget."""
        return []

    async def take(self, timeout: float) -> Delivery | None:
        try:
            return Delivery(await asyncio.wait_for(self.queue.jobs.get(), timeout))
        except TimeoutError:
            return None

    async def ack(self, delivery: Delivery) -> None:
        """Nothing to forget: taking the id removed it."""

    async def keepalive(self, delivery: Delivery) -> None:
        """Nothing can reclaim an in-process entry."""

    async def retry_later(self, delivery: Delivery) -> None:
        asyncio.get_running_loop().call_later(self.claim_idle_seconds, self.queue.jobs.put_nowait, delivery.job_id)

    async def release(self, delivery: Delivery) -> None:
        """The process is stopping: its next start finds the job by its released lease."""

    async def enqueue_missing(self, job_ids: Iterable[str]) -> int:
        """Called once, at start, when the in-process queue is still empty: everything is missing."""
        count = 0
        for job_id in job_ids:
            self.queue.jobs.put_nowait(job_id)
            count += 1
        return count


def _entry_id(delivery: Delivery) -> str:
    """The stream entry of a delivery from the Redis stream (every one has it)."""
    if delivery.entry_id is None:
        raise ValueError(f"job {delivery.job_id}: a Redis delivery without a stream entry")
    return delivery.entry_id


def _stream_entries(reply: Any) -> list[tuple[str, dict[str, str]]]:
    """The entries of `XREADGROUP`'s reply for one stream: `[[stream, [(id, fields), ...]]]` (RESP2,
    which our clients speak; redis-py types the reply loosely)."""
    return list(reply[0][1]) if reply else []
