"""Probes and metrics, open without an API key (load balancers and Prometheus carry none).

`/healthz` says the process answers; `/readyz` says it can serve: the database answers at the
migrated schema revision and, when configured, Redis answers too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from api.core.database import Database
from api.core.errors import Problem
from api.core.metrics import JOBS, exposition
from api.core.migrate import current_revision, head_revision
from api.models.problem import problems
from api.services.jobs import jobs_by_status
from api.services.queue import refresh_queue_gauges

router = APIRouter(tags=["health"])
log = structlog.get_logger("api.health")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check(name: str, probe: Awaitable[str | None], timeout: float, failures: list[str]) -> str:
    """Run one readiness probe; any failure (timeout included) makes the process not ready."""
    try:
        problem = await asyncio.wait_for(probe, timeout)
    except Exception as exc:  # whatever breaks a dependency, the answer is "not ready"
        problem = f"unreachable ({type(exc).__name__})"
    if problem:
        failures.append(f"{name}: {problem}")
    return problem or "ok"


@router.get("/readyz", responses=problems(503))
async def readyz(request: Request) -> dict[str, Any]:
    state = request.app.state
    database: Database = state.database
    timeout = state.config.readiness_timeout_seconds
    failures: list[str] = []

    async def schema() -> str | None:
        current, head = await current_revision(database), head_revision()
        return None if current == head else f"schema at revision {current or 'none'}, expected {head}: run `cmo db upgrade`"

    async def redis() -> None:
        await state.redis.ping()

    checks = {"database": await _check("database", schema(), timeout, failures)}
    if state.redis is not None:
        checks["redis"] = await _check("redis", redis(), timeout, failures)
    if failures:
        raise Problem(503, "not ready: " + "; ".join(failures), slug="not-ready", checks=checks)
    return {"status": "ready", "checks": checks}


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(request: Request) -> Response:
    """Prometheus exposition; job and queue gauges are refreshed on each scrape."""
    state = request.app.state
    try:
        async with state.database.sessions() as session:
            for status, count in (await jobs_by_status(session)).items():
                JOBS.labels(status).set(count)
        await refresh_queue_gauges(state.queue)  # the autoscaling signals of `cmo worker` fleets
    except (SQLAlchemyError, RedisError, OSError) as exc:
        log.warning("metrics gauges not refreshed", error=str(exc))
    body, content_type = exposition()
    return Response(body, media_type=content_type)
