"""`GET /api/jobs/{id}/events`: the job's events as Server-Sent Events, history first, then live.

Each event's `id` is its `seq`. A client that reconnects with `Last-Event-ID: N` (what EventSource
sends by itself, and the LangGraph Agent Server convention) or `?last_event_id=N` receives exactly
the events after N. The stream ends after `campaign.completed`, `job.failed` or `job.cancelled`.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Header, Query, Request
from sse_starlette import EventSourceResponse
from sse_starlette.sse import SendTimeoutError
from starlette.types import Receive, Scope, Send

from api.core.auth import CurrentPrincipal, authenticate
from api.core.config import ApiConfig
from api.core.deps import SessionDep
from api.models.problem import problems
from api.routers.auditing import audited
from api.routers.jobs import JobId
from api.services import jobs
from api.services.events import stream_events

log = structlog.get_logger("api.events")
router = APIRouter(prefix="/api/jobs", tags=["jobs"], dependencies=[Depends(authenticate)], responses=problems(401))

# Event ids are `job_events.seq`, a 32-bit integer column: a larger id is a 422 before the stream
# starts, not a database error once its headers are sent.
MAX_EVENT_ID = 2**31 - 1
STREAM_DESCRIPTION = (
    "`text/event-stream`: `id: <seq>`, `event: <name>`, `data: {event, job_id, timestamp, data}` per event; "
    "`: ping` comments keep an idle connection open."
)


class JobEventStream(EventSourceResponse):
    """A client that stops reading is dropped after `send_timeout`: expected with many clients on
    flaky networks, so one warning line rather than the traceback of an unhandled error."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            log.warning("event stream dropped: the client stopped reading", send_timeout=self.send_timeout)


@router.get(
    "/{job_id}/events",
    response_class=JobEventStream,
    responses={200: {"content": {"text/event-stream": {}}, "description": STREAM_DESCRIPTION}, **problems(404, 422)},
    dependencies=[audited("events.stream")],
)
async def job_events(
    job_id: JobId,
    principal: CurrentPrincipal,
    session: SessionDep,
    request: Request,
    last_event_id: Annotated[int | None, Query(ge=0, le=MAX_EVENT_ID, description="Resume after this event id.")] = None,
    last_event_id_header: Annotated[
        int | None,
        Header(alias="Last-Event-ID", ge=0, le=MAX_EVENT_ID, description="Resume after this event id (wins over the query)."),
    ] = None,
) -> JobEventStream:
    """Stream the job's events: everything after the given id (all of them by default), then live."""
    await jobs.get_job(session, principal.tenant_id, job_id)  # another tenant's job is a 404
    await session.close()  # give the connection back now: the stream may last for hours
    config: ApiConfig = request.app.state.config
    after = last_event_id_header if last_event_id_header is not None else last_event_id or 0
    frames = stream_events(request.app.state.database, request.app.state.bus, job_id, after, config.sse_resync_seconds)
    return JobEventStream(frames, ping=config.sse_ping_seconds, send_timeout=config.sse_send_timeout_seconds, sep="\n")
