"""`/api/jobs`: submit a goal, follow and cancel jobs."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.core.auth import CurrentPrincipal, authenticate
from api.core.deps import SessionDep
from api.core.orm import JobStatus
from api.models.jobs import Job, JobCreate, JobPage, JobSummary
from api.models.problem import problems
from api.routers.auditing import audited
from api.services import jobs
from api.services.queue import JobQueue

router = APIRouter(prefix="/api/jobs", tags=["jobs"], dependencies=[Depends(authenticate)], responses=problems(401))


def job_id_param(job_id: Annotated[str, Path(description="A job id, `cmo_…`.")]) -> str:
    """The path's job id, also bound to every log line of the request."""
    structlog.contextvars.bind_contextvars(job_id=job_id)
    return job_id


JobId = Annotated[str, Depends(job_id_param)]


def get_queue(request: Request) -> JobQueue:
    return request.app.state.queue


@router.post("", status_code=201, responses=problems(400, 413, 415, 422), dependencies=[audited("job.create")])
async def create_job(
    body: JobCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    queue: Annotated[JobQueue, Depends(get_queue)],
    response: Response,
    request: Request,
) -> Job:
    """Store the job and enqueue it for a worker; it starts `queued`."""
    job = await jobs.create_job(session, queue, principal.tenant_id, body, database=request.app.state.database)
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return Job.model_validate(job)


@router.get("", responses=problems(422))
async def list_jobs(
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    status: Annotated[JobStatus | None, Query()] = None,
) -> JobPage:
    """The tenant's jobs, newest first, optionally of one status."""
    rows, next_cursor = await jobs.list_jobs(session, principal.tenant_id, limit=limit, cursor=cursor, status=status)
    return JobPage(items=[Job.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/{job_id}", responses=problems(404))  # metadata only (status, counts): not audited, it is the polling path
async def get_job(job_id: JobId, principal: CurrentPrincipal, session: SessionDep) -> Job:
    return Job.model_validate(await jobs.get_job(session, principal.tenant_id, job_id))


@router.get("/{job_id}/summary", responses=problems(404), dependencies=[audited("job.summary")])
async def get_summary(job_id: JobId, principal: CurrentPrincipal, session: SessionDep) -> JobSummary:
    """SPEC's campaign.completed data once finished; the live counts before."""
    return await jobs.job_summary(session, principal.tenant_id, job_id)


@router.delete(
    "/{job_id}",
    responses={202: {"model": Job, "description": "The job is running: it will stop at its next step."}, **problems(404, 409)},
    dependencies=[audited("job.cancel")],
)
async def cancel_job(job_id: JobId, principal: CurrentPrincipal, session: SessionDep, response: Response) -> Job:
    """Cancel: a queued job is cancelled at once (200); a running one is asked to stop (202)."""
    job = await jobs.cancel_job(session, principal.tenant_id, job_id)
    if job.status != "cancelled":
        response.status_code = 202
    return Job.model_validate(job)
