"""Jobs driven through the HTTP API: wait for one to finish, download its artifacts."""

from __future__ import annotations

import time
from typing import Any

from starlette.testclient import TestClient

from api.core.orm import FINISHED_STATUSES


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
