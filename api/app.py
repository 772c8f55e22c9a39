"""The FastAPI application factory (`uvicorn --factory api.app:create_app`, or `cmo serve`).

Pools are opened once per process in the lifespan: the SQLAlchemy engine, the Redis client (when
`REDIS_URL` is set) and the job queue on top of it. In the embedded mode (no `DATABASE_URL`) the
SQLite schema is migrated at start, so `cmo serve` alone works on a laptop; Postgres deployments
migrate explicitly with `cmo db upgrade` (readiness reports a schema that is behind).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

import httpx
import structlog
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from redis.exceptions import RedisError

from api.core.config import ApiConfig
from api.core.database import Database
from api.core.errors import install_error_handlers
from api.core.key_cache import open_key_cache
from api.core.logging import configure_logging
from api.core.middleware import BodyGuardMiddleware, RequestContextMiddleware, SecurityHeadersMiddleware
from api.core.migrate import ensure_embedded_schema
from api.core.openapi import use_problem_json
from api.core.redis import open_redis
from api.routers import (
    analytics,
    artifacts,
    audit,
    chat,
    destinations,
    docs,
    engagement,
    events,
    health,
    inbound,
    jobs,
    leads,
    privacy_settings,
    prospects,
    sender,
    sends,
    session,
    suppressions,
    unsubscribe,
    web,
    webhooks,
)
from api.services.bus import create_event_bus
from api.services.cancel import bind_cancel_publisher
from api.services.events import bind_event_bus
from api.services.queue import InProcessJobQueue, JobQueue, RedisJobQueue
from api.services.webhooks import drain_deliveries, orphan_sweeps
from api.services.worker import inline_workers
from foundation.settings import Settings, get_settings
from storage.encrypted_types import bind_keyring
from storage.keyring import get_keyring
from storage.urls import describe

log = structlog.get_logger("api")

DESCRIPTION = """Submit a marketing goal, get evidence-backed developer leads and reviewed outreach drafts.

Every `/api` route but the sign-in needs `Authorization: Bearer <key>` (`cmo apikey create --tenant
NAME`), or the `cmo_session` cookie of a browser signed in with `POST /api/session` (whose unsafe
requests also send `X-CSRF-Token`).
Errors are RFC 9457 `application/problem+json`. Jobs are queued and run by workers (`cmo worker`,
or inside the API process with `cmo serve --workers-inline N`).
"""


def operation_id(route: APIRoute) -> str:
    """The handler's name (`create_job`, `list_leads`): what generated clients call their methods.
    FastAPI's default appends path and method (`create_job_api_jobs_post`); handler names are unique
    (a test keeps them so)."""
    return route.name


def create_app(settings: Settings | None = None, config: ApiConfig | None = None) -> FastAPI:
    settings = settings or get_settings()
    config = config or ApiConfig()
    configure_logging(logging.DEBUG if settings.cmo_debug else logging.INFO)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(ensure_embedded_schema, settings)
        bind_keyring(await asyncio.to_thread(get_keyring, settings))  # encrypted columns; fails early without keys
        database = Database(settings, config)
        bus = create_event_bus(settings.redis_url, config)  # bound before anything appends events
        await bus.start()
        bind_event_bus(database, bus)
        redis = open_redis(settings.redis_url, config.redis_timeout_seconds) if settings.redis_url else None
        queue: JobQueue = InProcessJobQueue()
        if redis is not None:
            queue = RedisJobQueue(redis, config.jobs_stream, config.workers_group)
            try:
                await queue.ensure_group()
            except RedisError as exc:  # start anyway: /readyz reports Redis until it is back
                log.warning("redis unavailable at start", error=str(exc))
        app.state.settings, app.state.config = settings, config
        app.state.database, app.state.redis, app.state.queue = database, redis, queue
        app.state.bus = bus
        app.state.key_cache = await open_key_cache(settings, config)  # API keys, invalidated on revocation
        # outgoing calls of request handlers (SNS certificates and subscription confirmations): one
        # client per process, not one per request
        app.state.http = httpx.AsyncClient(timeout=10.0)
        bind_cancel_publisher(database, redis)  # DELETE on a running job tells its worker at once
        if config.tune_gc:
            # Everything alive now (the imported pipeline, libraries, pools) lives as long as the
            # process: frozen, it is never traversed again by the cyclic GC, whose full passes over it
            # otherwise stall every stream of the process for ~300 ms at 1,000 connections.
            gc.collect()
            gc.freeze()
            gc.set_threshold(10_000, 50, 100)  # and what streams allocate is collected in rarer passes
        log.info("api started", database=describe(settings), queue=type(queue).__name__)
        try:
            async with (
                orphan_sweeps(database),
                inline_workers(database, settings, config, queue, redis_configured=redis is not None),
            ):
                yield
        finally:
            await drain_deliveries(database)  # in-flight webhooks get a moment before the pool closes
            await bus.close()  # publishes what the last commits announced
            await app.state.key_cache.close()
            await app.state.http.aclose()
            await database.dispose()
            if redis is not None:
                await redis.aclose()

    # `/docs` is served by `api.routers.docs` from packaged assets (works offline); no ReDoc.
    app = FastAPI(
        title="cmo-agent",
        version=version("cmo-agent"),
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    install_error_handlers(app)
    use_problem_json(app)
    app.add_middleware(BodyGuardMiddleware, max_body_bytes=config.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: refusals of the others get the headers too
    app.mount(docs.STATIC_URL, StaticFiles(directory=docs.STATIC), name="static")
    app.mount(web.ASSETS_URL, web.WebAssets(), name="web-assets")
    for module in (
        docs,
        health,
        jobs,
        leads,
        sends,
        artifacts,
        analytics,
        webhooks,
        chat,
        engagement,
        events,
        suppressions,
        unsubscribe,
        inbound,
        prospects,
        audit,
        privacy_settings,
        sender,
        destinations,
        session,
        web,
    ):
        app.include_router(module.router)
    return app
