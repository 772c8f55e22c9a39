"""Workers: take jobs from the queue and run them, `concurrency` at a time.

`cmo worker` runs one `Worker` on the Redis Stream; `cmo serve` runs one inside the API process when
asked (`--workers-inline N`; by default one without Redis, so the embedded mode works alone). The
database is the source of truth: at start, whenever the stream turns out lost (Redis restarted
empty), and every claim-idle period, jobs that are unfinished in the database but held by no stream
entry are enqueued again; claiming is a conditional UPDATE, so an extra entry is harmless. The same
sweeps delete the consumers that dead workers left in the group.

A worker follows `cmo:cancel` (api/services/cancel.py) and stops a job it runs as soon as the API
announces its cancellation; the job's `cancel_requested` flag, read at every heartbeat, stays the
slower path that needs no Redis.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import structlog
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from api.core.config import ApiConfig
from api.core.database import Database
from api.core.logging import configure_logging
from api.core.metrics import WORKER_JOBS_RUNNING
from api.core.redis import ChannelListener, open_redis
from api.services.bus import create_event_bus
from api.services.cancel import follow_cancels, listen_locally, stop_listening_locally
from api.services.consumers import Delivery, JobSource, MemorySource, StreamLost, StreamSource
from api.services.events import bind_event_bus
from api.services.execution import JobRun
from api.services.leases import claim_job, unfinished_job_ids
from api.services.queue import InProcessJobQueue, JobQueue, RedisJobQueue
from api.services.retention import purge_periodically
from api.services.webhooks import drain_deliveries, orphan_sweeps
from api.services.worker_metrics import record_attempt, serve_metrics
from foundation.settings import Settings
from storage.encrypted_types import bind_keyring
from storage.keyring import get_keyring

log = structlog.get_logger("api.worker")

TAKE_TIMEOUT_SECONDS = 1.0  # also how fast a stopping worker notices
RETRY_SECONDS = 1.0  # after Redis or the database failed the loop


def new_worker_id() -> str:
    """Unique per process and start: the consumer name in the group and the lease owner."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def source_for(queue: JobQueue, worker_id: str, config: ApiConfig) -> JobSource:
    if isinstance(queue, RedisJobQueue):
        return StreamSource(queue, worker_id, config.worker_claim_idle_seconds, config.worker_consumer_idle_seconds)
    if isinstance(queue, InProcessJobQueue):
        return MemorySource(queue, config.worker_claim_idle_seconds)
    raise TypeError(f"no consumer for {type(queue).__name__}")


class Worker:
    """One process's consumer: up to `concurrency` jobs at once, each a `JobRun` with its own thread."""

    def __init__(self, database: Database, settings: Settings, config: ApiConfig, queue: JobQueue, concurrency: int) -> None:
        self.database, self.settings, self.config = database, settings, config
        self.concurrency = concurrency
        self.worker_id = new_worker_id()
        self.source = source_for(queue, self.worker_id, config)
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runs: dict[str, JobRun] = {}  # by job id
        self._sweep_at = 0.0

    def stop(self) -> None:
        """Take no new job; `run` returns within a second."""
        self._stopping.set()

    def cancel_running(self, job_id: str) -> None:
        """A cancel was announced: stop the job now if it runs here (its flag is already committed)."""
        run = self._runs.get(job_id)
        if run is not None:
            log.info("cancel received", job_id=job_id)
            run.request_stop("cancel")

    async def run(self) -> None:
        """Until `stop()`; then the running jobs stop at their next step and are handed back."""
        log.info("worker started", worker_id=self.worker_id, concurrency=self.concurrency, queue=type(self.source).__name__)
        listen_locally(self)
        cancels: ChannelListener | None = None
        if isinstance(self.source, StreamSource) and self.settings.redis_url:
            cancels = await follow_cancels(self.settings.redis_url, self.config, self)
        await self._recover()
        purging = asyncio.create_task(purge_periodically(self.database, self.settings, self.config.retention_purge_seconds))
        try:
            while not self._stopping.is_set():
                if len(self._tasks) >= self.concurrency:
                    await asyncio.wait(self._tasks, timeout=TAKE_TIMEOUT_SECONDS, return_when=asyncio.FIRST_COMPLETED)
                    continue
                if self.source.sweep_seconds is not None and time.monotonic() >= self._sweep_at:
                    await self._recover()
                delivery = await self._take()
                if delivery is not None:
                    task = asyncio.create_task(self._handle(delivery))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
        finally:
            for job in self._runs.values():
                job.request_stop("shutdown")
            if self._tasks:
                await asyncio.wait(self._tasks)
            purging.cancel()  # the retention purge of this worker (api/services/retention.py)
            stop_listening_locally(self)
            if cancels is not None:
                await cancels.close()
            try:
                await self.source.close()
            except (RedisError, OSError) as exc:
                log.warning("consumer not removed from the group", error=str(exc))
            log.info("worker stopped", worker_id=self.worker_id)

    async def _take(self) -> Delivery | None:
        try:
            return await self.source.take(TAKE_TIMEOUT_SECONDS)
        except StreamLost as exc:
            log.warning("job stream lost; re-enqueueing unfinished jobs from the database", error=str(exc))
            await self._recover()
        except (RedisError, OSError) as exc:
            log.warning("queue unavailable", error=str(exc))
            await asyncio.sleep(RETRY_SECONDS)
        return None

    async def _recover(self) -> None:
        """Enqueue the unfinished jobs the queue does not hold (Postgres is the source of truth)."""
        try:
            await self.source.start()
            enqueued = await self.source.enqueue_missing(await unfinished_job_ids(self.database))
        except (RedisError, SQLAlchemyError, OSError) as exc:
            log.warning("recovery sweep failed; retrying", error=str(exc))
            self._sweep_at = time.monotonic() + RETRY_SECONDS
            return
        if enqueued:
            log.info("re-enqueued unfinished jobs", count=enqueued)
        try:
            removed = await self.source.prune_consumers()
        except (RedisError, OSError) as exc:
            log.warning("dead consumers not removed", error=str(exc))
        else:
            if removed:
                log.info("removed the consumers of dead workers", consumers=removed)
        self._sweep_at = time.monotonic() + (self.source.sweep_seconds or 0.0)

    async def _handle(self, delivery: Delivery) -> None:
        """Claim the delivered job and run it; the entry is acknowledged only once the job finished."""
        structlog.contextvars.bind_contextvars(job_id=delivery.job_id, worker_id=self.worker_id)
        try:
            claim, job = await claim_job(self.database, delivery.job_id, self.worker_id, self.config.worker_claim_idle_seconds)
            if claim == "done":
                await self.source.ack(delivery)
                return
            if claim == "busy" or job is None:
                await self.source.retry_later(delivery)
                return
            run = JobRun(self.database, self.settings, self.config, job, self.worker_id, lambda: self._keepalive(delivery))
            self._runs[job.id] = run
            if self._stopping.is_set():
                run.request_stop("shutdown")
            WORKER_JOBS_RUNNING.inc()
            started = time.monotonic()
            try:
                outcome = await run.execute()
            finally:
                del self._runs[job.id]
                WORKER_JOBS_RUNNING.dec()
            if outcome == "finished":
                await self.source.ack(delivery)
            elif outcome == "released":
                await self.source.release(delivery)
            record_attempt(outcome, run.final, time.monotonic() - started)
        except (RedisError, OSError) as exc:  # the row already says what happened; a sweep re-enqueues if needed
            log.warning("queue not updated for the job", error=str(exc))
        except Exception:  # one job's trouble never stops the worker; the job is offered again
            log.exception("job handling failed; retrying the job later")
            await self.source.retry_later(delivery)

    async def _keepalive(self, delivery: Delivery) -> None:
        try:
            await self.source.keepalive(delivery)
        except (RedisError, OSError) as exc:
            log.warning("could not refresh the job's queue entry", error=str(exc))


@asynccontextmanager
async def inline_workers(
    database: Database, settings: Settings, config: ApiConfig, queue: JobQueue, redis_configured: bool
) -> AsyncIterator[Worker | None]:
    """The API process's own worker (`cmo serve --workers-inline N`), stopped with the app."""
    count = config.workers_inline if config.workers_inline is not None else (0 if redis_configured else 1)
    if count <= 0:
        yield None
        return
    worker = Worker(database, settings, config, queue, count)
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        await task


async def serve_worker(
    settings: Settings, config: ApiConfig, concurrency: int, metrics_address: tuple[str, int] | None = None
) -> None:
    """`cmo worker`: consume the Redis Stream until SIGTERM or SIGINT. The events it appends are
    published on the event bus (SSE streams of every API process) and trigger webhooks, as in the API.
    With `metrics_address` (host, port; port 0 picks a free one) it serves Prometheus metrics."""
    if not settings.redis_url:
        raise ValueError("`cmo worker` needs REDIS_URL; without Redis, `cmo serve` runs the jobs itself")
    configure_logging(logging.DEBUG if settings.cmo_debug else logging.INFO)
    bind_keyring(get_keyring(settings))  # encrypted columns; fails early without keys
    database = Database(settings, config)
    bus = create_event_bus(settings.redis_url, config)
    await bus.start()
    bind_event_bus(database, bus)
    redis = open_redis(settings.redis_url, config.redis_timeout_seconds)
    queue = RedisJobQueue(redis, config.jobs_stream, config.workers_group)
    worker = Worker(database, settings, config, queue, concurrency)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, worker.stop)
    try:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(orphan_sweeps(database))
            if metrics_address is not None:
                await stack.enter_async_context(serve_metrics(*metrics_address, queue, config.worker_metrics_refresh_seconds))
            await worker.run()
    finally:
        await drain_deliveries(database)
        await bus.close()
        await database.dispose()
        await redis.aclose()
