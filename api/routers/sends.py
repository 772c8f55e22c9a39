"""`/api/jobs/{job_id}/send` and `/sends`: send a finished job's approved drafts, and list its messages.

Sending is audited (it decides who gets an email); the listing is too, since it names leads.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.core.auth import CurrentPrincipal, authenticate
from api.core.deps import SessionDep
from api.models.problem import problems
from api.models.sends import SendPage, SendRequest, SendRun, SendStatus
from api.routers.auditing import audited, note_for_audit
from api.routers.jobs import JobId
from api.services import sends

router = APIRouter(prefix="/api/jobs", tags=["sending"], dependencies=[Depends(authenticate)], responses=problems(401, 404))


@router.post(
    "/{job_id}/send",
    status_code=202,
    responses=problems(400, 409, 413, 415, 422),
    dependencies=[audited("job.send")],
)
async def send_job(
    job_id: JobId,
    principal: CurrentPrincipal,
    session: SessionDep,
    request: Request,
    response: Response,
    body: SendRequest | None = None,
) -> SendRun:
    """Send the job's `approved` drafts (a person's approval included) in the background, each at
    most once, within the mailbox's caps; suppression and erasure are checked again as it sends. A
    campaign paused by the kill switch, a job still running or sending not configured is a 409."""
    body = body or SendRequest()
    run = await sends.request_send(session, principal.tenant_id, job_id, body, principal.key_id, request.app.state.settings)
    sends.spawn_send_run(request.app.state.database, run.id)
    note_for_audit(request, send_run_id=run.id, dry_run=int(body.dry_run), limit=body.limit or 0)
    response.headers["Location"] = f"/api/jobs/{job_id}/send-runs/{run.id}"
    return run


@router.get("/{job_id}/send-runs/{run_id}", dependencies=[audited("job.send_run")])
async def get_send_run(
    job_id: JobId,
    run_id: Annotated[str, Path(max_length=32)],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> SendRun:
    """A send run: queued, running, or finished with its counts and why it stopped early."""
    return await sends.get_send_run(session, principal.tenant_id, job_id, run_id)


@router.get("/{job_id}/sends", responses=problems(422), dependencies=[audited("job.sends")])
async def list_sends(
    job_id: JobId,
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    status: Annotated[SendStatus | None, Query()] = None,
) -> SendPage:
    """The job's messages, newest first: per lead and step, its status, reason and Message-ID."""
    items, next_cursor = await sends.list_sends(session, principal.tenant_id, job_id, limit=limit, cursor=cursor, status=status)
    return SendPage(items=items, next_cursor=next_cursor)
