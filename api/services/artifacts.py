"""Artifacts of a job (leads JSON, contactable CSV, summary, trace), stored in the database.

`save_artifact` is the writer's side (the worker, once it exists): keyed by (job, name), so a
resumed job rewrites its files instead of duplicating them. Reads never load file contents except
for a download.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from api.core import orm
from api.core.database import upsert
from api.services.errors import NotFound
from api.services.jobs import get_job


async def save_artifact(session: AsyncSession, job: orm.Job, name: str, content_type: str, content: bytes) -> str:
    """Store (or replace) one artifact of `job` in the caller's transaction; returns its id."""
    row = {
        "id": f"art_{secrets.token_hex(10)}",
        "job_id": job.id,
        "tenant_id": job.tenant_id,
        "name": name,
        "content_type": content_type,
        "size": len(content),
        "content": content,
        "created_at": orm.utcnow(),
    }
    statement = upsert(session, orm.Artifact, [row], ["job_id", "name"], ["content_type", "size", "content", "created_at"])
    return (await session.execute(statement.returning(orm.Artifact.id))).scalar_one()


async def list_artifacts(session: AsyncSession, tenant_id: str, job_id: str) -> Sequence[orm.Artifact]:
    await get_job(session, tenant_id, job_id)
    query = select(orm.Artifact).where(orm.Artifact.job_id == job_id, orm.Artifact.tenant_id == tenant_id)
    return (await session.execute(query.order_by(orm.Artifact.name))).scalars().all()


async def get_artifact(session: AsyncSession, tenant_id: str, artifact_id: str, *, with_content: bool = False) -> orm.Artifact:
    query = select(orm.Artifact).where(orm.Artifact.id == artifact_id, orm.Artifact.tenant_id == tenant_id)
    if with_content:
        query = query.options(undefer(orm.Artifact.content))
    artifact = (await session.execute(query)).scalar_one_or_none()
    if artifact is None:
        raise NotFound(f"no artifact {artifact_id!r}")
    return artifact


async def delete_artifact(session: AsyncSession, tenant_id: str, artifact_id: str) -> None:
    deleted = await session.scalar(
        delete(orm.Artifact).where(orm.Artifact.id == artifact_id, orm.Artifact.tenant_id == tenant_id).returning(orm.Artifact.id)
    )
    if deleted is None:
        raise NotFound(f"no artifact {artifact_id!r}")
    await session.commit()
