"""Cancel over pub/sub (api/services/cancel.py) with real Postgres and Redis: the API announces the
cancel of a running job on `cmo:cancel`; a worker in another process stops the job on that message
alone, long before its next heartbeat; and a worker that missed the message still stops the job
from the `cancel_requested` flag."""

from __future__ import annotations

import time
from pathlib import Path

import redis
from sqlalchemy import update
from starlette.testclient import TestClient

from api.app import create_app
from api.core import orm
from api.core.config import ApiConfig
from api.core.database import Database, run_with_database
from api.services.cancel import CHANNEL
from foundation.settings import Settings
from sandbox import open_sandbox
from tests.integration.test_api_jobs import auth, play_worker
from tests.integration.test_api_worker import GOAL, events_of, finished, job_row, stop, wait_until
from tests.integration.test_api_worker import pg_settings as pg_settings
from tests.integration.test_worker_metrics import start_worker


def enrichments(settings: Settings, job_id: str) -> int:
    return sum(e == "agent.finished" and d["agent"] == "enricher" for e, d in events_of(settings, job_id))


def test_the_api_announces_the_cancel_of_a_running_job(pg_settings: Settings, stream: str, redis_url: str) -> None:
    listener = redis.Redis.from_url(redis_url, decode_responses=True).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(CHANNEL)
    with TestClient(
        create_app(pg_settings, ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream, workers_inline=0))
    ) as client:
        headers = auth(pg_settings)
        queued, running = (client.post("/api/jobs", json={"goal": GOAL}, headers=headers).json()["id"] for _ in range(2))
        play_worker(pg_settings, running, "running")
        assert client.delete(f"/api/jobs/{queued}", headers=headers).status_code == 200
        assert client.delete(f"/api/jobs/{running}", headers=headers).status_code == 202
    received = [listener.get_message(timeout=2) for _ in range(2)]
    assert [m["data"] for m in received if m] == [running], "only a running job has a worker to tell"


def test_a_cancel_message_stops_a_job_in_another_process_before_its_heartbeat(
    pg_settings: Settings,
    stream: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    log = tmp_path / "worker.log"
    worker = start_worker(pg_settings, stream, log, "--heartbeat", "60")  # the flag would be read a minute later
    try:
        with TestClient(
            create_app(pg_settings, ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream, workers_inline=0))
        ) as client:
            headers = auth(pg_settings)
            job_id = client.post("/api/jobs", json={"goal": GOAL}, headers=headers).json()["id"]
            wait_until(lambda: enrichments(pg_settings, job_id) >= 5, 60, "the worker to enrich a few candidates")
            # The message alone, with the flag left unset: nothing else can stop the job.
            assert redis.Redis.from_url(redis_url).publish(CHANNEL, job_id) >= 1
            asked = time.monotonic()
            job = wait_until(lambda: finished(client, headers, job_id), 30, "the job to stop")
            assert job["status"] == "cancelled", log.read_text()[-2000:]
            assert time.monotonic() - asked < 15, "well before the 60 s heartbeat"
    finally:
        stop(worker)
    assert not job_row(pg_settings, job_id).cancel_requested
    assert [name for name, _ in events_of(pg_settings, job_id)][-1] == "job.cancelled"


def test_a_worker_that_missed_the_message_stops_at_its_heartbeat(pg_settings: Settings, stream: str) -> None:
    settings = pg_settings.model_copy(update={"sandbox_latency_ms": 60, "github_graphql": False})
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream, workers_inline=1))) as client:
        headers = auth(settings)
        job_id = client.post("/api/jobs", json={"goal": GOAL}, headers=headers).json()["id"]
        wait_until(lambda: enrichments(settings, job_id) >= 5, 60, "a few enrichments")

        async def flag(database: Database) -> None:  # what DELETE commits, without its announcement
            async with database.sessions() as session:
                await session.execute(update(orm.Job).where(orm.Job.id == job_id).values(cancel_requested=True))
                await session.commit()

        run_with_database(settings, flag)
        job = wait_until(lambda: finished(client, headers, job_id), 10, "the job to stop")
    assert job["status"] == "cancelled"
