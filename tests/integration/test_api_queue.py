"""The Redis Streams job queue and Redis readiness, against the real Redis server.

Each test uses its own stream name and deletes it afterwards, so parallel workers and reruns never
see each other's entries. Locally a missing Redis skips these tests; in CI (`CI=true`) it fails them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from redis.asyncio import Redis

from api.app import create_app
from api.core.config import ApiConfig
from api.core.database import run_with_database
from api.services.queue import InProcessJobQueue, RedisJobQueue
from api.services.tenants import issue_api_key
from foundation.settings import Settings
from sandbox import open_sandbox


@pytest.fixture
async def client_redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def test_enqueue_appends_to_the_stream_and_depth_follows_the_group(client_redis: Redis, stream: str) -> None:
    queue = RedisJobQueue(client_redis, stream, "workers")
    await queue.ensure_group()
    await queue.ensure_group()  # a second API process starting must not fail on the existing group
    await queue.enqueue("cmo_first")
    await queue.enqueue("cmo_second")

    entries = await client_redis.xrange(stream)
    assert [fields["job_id"] for _, fields in entries] == ["cmo_first", "cmo_second"]
    assert await queue.depth() == 2

    [[_, delivered]] = await client_redis.xreadgroup("workers", "worker-1", {stream: ">"}, count=1)
    assert await queue.depth() == 2, "delivered but not acknowledged still counts"
    await client_redis.xack(stream, "workers", delivered[0][0])
    assert await queue.depth() == 1


def test_post_job_enqueues_on_redis_and_reports_ready(tmp_path: Path, redis_url: str, stream: str) -> None:
    settings = Settings(cmo_home=tmp_path / "home", redis_url=redis_url)
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream))) as client:
        key = run_with_database(settings, lambda db: issue_api_key(db, "acme")).key
        job = client.post("/api/jobs", json={"goal": "Find Go developers"}, headers={"Authorization": f"Bearer {key}"})
        assert job.status_code == 201
        assert client.get("/readyz").json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}
        assert "cmo_queue_depth 1.0" in client.get("/metrics").text

    entries = redis.Redis.from_url(redis_url, decode_responses=True).xrange(stream)
    assert [fields["job_id"] for _, fields in entries] == [job.json()["id"]]


def test_unreachable_redis_is_not_ready_but_jobs_are_still_stored(tmp_path: Path) -> None:
    settings = Settings(cmo_home=tmp_path / "home", redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, redis_timeout_seconds=0.2))) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.headers["content-type"] == "application/problem+json"
        assert ready.json()["checks"] == {"database": "ok", "redis": "unreachable (ConnectionError)"}

        key = run_with_database(settings, lambda db: issue_api_key(db, "acme")).key
        headers = {"Authorization": f"Bearer {key}"}
        job = client.post("/api/jobs", json={"goal": "Find Go developers"}, headers=headers)
        assert job.status_code == 201, "the row is the source of truth; workers re-enqueue what Redis lost"
        assert client.get(f"/api/jobs/{job.json()['id']}", headers=headers).json()["status"] == "queued"


def test_without_redis_jobs_go_to_the_in_process_queue(tmp_path: Path) -> None:
    settings = Settings(cmo_home=tmp_path / "home")
    app = create_app(
        settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=0)
    )  # nothing takes the job before the test looks
    with TestClient(app) as client:
        key = run_with_database(settings, lambda db: issue_api_key(db, "acme")).key
        job = client.post("/api/jobs", json={"goal": "Find Go developers"}, headers={"Authorization": f"Bearer {key}"})
        queue = app.state.queue
        assert isinstance(queue, InProcessJobQueue) and queue.jobs.get_nowait() == job.json()["id"]
        assert client.get("/readyz").json()["checks"] == {"database": "ok"}
