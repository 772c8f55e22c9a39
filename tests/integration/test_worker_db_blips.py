"""A database blip mid-job costs seconds, not the attempt: every connection of the job's worker is
killed on the real Postgres (`pg_terminate_backend`, which raises the same disconnect errors as a
restart, without stopping the server other tests share) while the graph runs, and the same attempt
resumes from its checkpoint and finishes, with no event stored twice."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg
from starlette.testclient import TestClient

from api.app import create_app
from api.core.config import ApiConfig
from api.core.migrate import upgrade
from foundation.settings import Settings
from sandbox import open_sandbox
from tests.conftest import POSTGRES_URL
from tests.integration.test_api_jobs import auth
from tests.integration.test_api_worker import GOAL, SENDER, events_of, finished, job_row, wait_until


def _kill(application_name: str) -> int:
    """Terminate every backend of `application_name` (this test's alone); how many there were."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        found = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s", (application_name,)
        ).fetchone()
    return int(found[0]) if found else 0


def test_killed_connections_mid_job_are_waited_out_within_the_attempt(
    tmp_path: Path, private_postgres_url: str, redis_url: str, stream: str
) -> None:
    name = f"cmo_blip_{uuid.uuid4().hex[:10]}"
    url = f"{private_postgres_url}&application_name={name}"
    settings = Settings(cmo_home=tmp_path / "home", database_url=url, redis_url=redis_url, sandbox_latency_ms=20, **SENDER)
    upgrade(settings)
    config = ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream, workers_inline=1)
    with TestClient(create_app(settings, config)) as client:
        headers = auth(settings)
        job_id = client.post("/api/jobs", json={"goal": GOAL, "max_prospects": 5}, headers=headers).json()["id"]
        wait_until(
            lambda: any(event == "prospect.found" for event, _ in events_of(settings, job_id)), 60, "the graph to be under way"
        )
        killed = [_kill(name)]
        # A blip of a few seconds: whatever reconnects in that time is killed again.
        stop = time.monotonic() + 3
        while time.monotonic() < stop:
            time.sleep(0.3)
            killed.append(_kill(name))
        assert killed[0] > 0, "the worker's connections were found and killed"
        blip_over = time.monotonic()
        job = wait_until(lambda: finished(client, headers, job_id), 60, "the job to finish")
        assert job["status"] == "succeeded", job["error"]
        assert time.monotonic() - blip_over < 45, "resumed within the attempt, not after the claim-idle window"
    assert job_row(settings, job_id).attempts == 1, "the blip did not cost the attempt"
    counted = Counter(event for event, _ in events_of(settings, job_id))
    assert counted["prospect.enriched"] == 5 and counted["campaign.completed"] == 1, counted
    enriched = [data["prospect_id"] for event, data in events_of(settings, job_id) if event == "prospect.enriched"]
    assert len(set(enriched)) == len(enriched), "no event stored twice"
