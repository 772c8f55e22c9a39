"""Jobs driven through the HTTP API: wait for one to finish, run one here, download its artifacts."""

from __future__ import annotations

import time
import uuid
from typing import Any

from starlette.testclient import TestClient

from api.core.config import ApiConfig
from api.core.database import Database, run_with_database
from api.core.orm import FINISHED_STATUSES
from api.services.execution import JobRun
from api.services.leases import claim_job
from foundation.settings import Settings
from sandbox import open_sandbox


def wait_finished(client: TestClient, headers: dict[str, str], job_id: str, timeout: float = 90) -> dict[str, Any]:
    """The job as `GET /api/jobs/{id}` shows it once it has finished, whatever its status."""
    deadline = time.monotonic() + timeout
    while (job := client.get(f"/api/jobs/{job_id}", headers=headers).json())["status"] not in FINISHED_STATUSES:
        assert time.monotonic() < deadline, f"job {job_id} did not finish within {timeout} s"
        time.sleep(0.2)
    return job


def wait_succeeded(client: TestClient, headers: dict[str, str], job_id: str, timeout: float = 90) -> dict[str, Any]:
    job = wait_finished(client, headers, job_id, timeout)
    assert job["status"] == "succeeded", job["error"]
    return job


def download_artifacts(client: TestClient, headers: dict[str, str], job_id: str) -> dict[str, bytes]:
    """The job's artifacts by name, as downloaded."""
    items = client.get(f"/api/jobs/{job_id}/artifacts", headers=headers).json()["items"]
    return {item["name"]: client.get(item["download_url"], headers=headers).content for item in items}


def run_here(settings: Settings, job_id: str) -> None:
    """Run one queued job to its end in this process, as a worker does (claim it, run the graph on
    the sandbox, store its leads and artifacts), for tests on the shared Postgres schema, where an
    inline worker would also take the jobs other tests leave queued there."""

    async def keepalive() -> None:
        """No queue entry to keep alive: the job was claimed directly."""

    async def act(database: Database) -> None:
        worker_id = f"test-{uuid.uuid4().hex[:8]}"
        claim, job = await claim_job(database, job_id, worker_id, lapse_seconds=60)
        assert claim == "run" and job is not None, f"job {job_id} could not be claimed ({claim})"
        run = JobRun(database, settings, ApiConfig(github_sandbox=open_sandbox), job, worker_id, keepalive)
        assert await run.execute() == "finished"

    run_with_database(settings, act)
