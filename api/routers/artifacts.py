"""Artifacts: list a job's files, download one, delete one."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Response

from api.core.auth import CurrentPrincipal, authenticate
from api.core.deps import SessionDep
from api.models.artifacts import Artifact, ArtifactList
from api.models.problem import problems
from api.routers.auditing import audited
from api.routers.jobs import JobId
from api.services import artifacts, tenant_privacy

router = APIRouter(prefix="/api", tags=["artifacts"], dependencies=[Depends(authenticate)], responses=problems(401, 404))


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback filename and the exact UTF-8 one (RFC 6266 / 8187)."""
    fallback = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/jobs/{job_id}/artifacts", dependencies=[audited("artifact.list")])
async def list_artifacts(job_id: JobId, principal: CurrentPrincipal, session: SessionDep) -> ArtifactList:
    rows = await artifacts.list_artifacts(session, principal.tenant_id, job_id)
    return ArtifactList(items=[Artifact.model_validate(row) for row in rows])


@router.get(
    "/artifacts/{artifact_id}",
    response_class=Response,
    responses={200: {"description": "The file, with its content type and filename."}},
    dependencies=[audited("artifact.download")],
)
async def download_artifact(artifact_id: str, principal: CurrentPrincipal, session: SessionDep) -> Response:
    artifact = await artifacts.get_artifact(session, principal.tenant_id, artifact_id, with_content=True)
    return Response(
        await tenant_privacy.masked_download(session, principal.tenant_id, artifact),
        media_type=artifact.content_type,
        headers={"Content-Disposition": content_disposition(artifact.name)},
    )


@router.delete("/artifacts/{artifact_id}", status_code=204, dependencies=[audited("artifact.delete")])
async def delete_artifact(artifact_id: str, principal: CurrentPrincipal, session: SessionDep) -> Response:
    await artifacts.delete_artifact(session, principal.tenant_id, artifact_id)
    return Response(status_code=204)
