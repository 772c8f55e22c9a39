"""What a worker reports to Prometheus: the jobs it runs and how they end, and the queue it serves.

A `cmo worker` answers no HTTP otherwise, so `--metrics-port` makes it serve the process registry
itself (prometheus-client's own server, in a daemon thread, so a scrape never waits on the event
loop). The queue gauges the API refreshes at each scrape are refreshed here by the worker's loop
every `worker_metrics_refresh_seconds` instead: a scrape thread cannot use the loop's Redis client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from prometheus_client import start_http_server
from redis.exceptions import RedisError

from api.core.metrics import WORKER_GITHUB_REQUESTS, WORKER_JOB_DURATION, WORKER_JOBS_ENDED
from api.services.queue import JobQueue, refresh_queue_gauges
from foundation.schemas.run import RunSummary

log = structlog.get_logger("api.worker")


class MetricsUnavailable(Exception):
    """The metrics port cannot be bound (in use, not permitted)."""


def record_attempt(outcome: str, final: tuple[str, RunSummary] | None, seconds: float) -> None:
    """Count one ended attempt; a finished one (`final`: the status and summary it wrote) under the
    job's final status, with its GitHub requests."""
    status, summary = final if outcome == "finished" and final is not None else (outcome, None)
    WORKER_JOBS_ENDED.labels(status).inc()
    WORKER_JOB_DURATION.labels(status).observe(seconds)
    if summary is not None:
        WORKER_GITHUB_REQUESTS.labels("github").inc(summary.api_requests or 0)  # None: stopped before finalize
        WORKER_GITHUB_REQUESTS.labels("cache").inc(summary.api_requests_saved_by_cache or 0)


@contextlib.asynccontextmanager
async def serve_metrics(host: str, port: int, queue: JobQueue, refresh_seconds: float) -> AsyncIterator[int]:
    """Serve `/metrics` on host:port (0: a free port) while inside; yields the port."""
    try:
        server, _ = start_http_server(port, addr=host)
    except OSError as exc:
        raise MetricsUnavailable(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from exc
    bound = server.server_port
    log.info("worker metrics served", url=f"http://{host}:{bound}/metrics", metrics_port=bound)
    refresher = asyncio.create_task(_refresh(queue, refresh_seconds))
    try:
        yield bound
    finally:
        refresher.cancel()
        await asyncio.gather(refresher, return_exceptions=True)
        await asyncio.to_thread(server.shutdown)
        server.server_close()


async def _refresh(queue: JobQueue, every_seconds: float) -> None:
    """First after one period: by then the worker has created the stream and its group."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await refresh_queue_gauges(queue)
        except (RedisError, OSError) as exc:
            log.warning("queue metrics not refreshed", error=str(exc))
