"""Dead workers' consumers (real Redis): a consumer with no pending entry that has been idle long
enough is deleted from the group, by the sweep and when a worker starts; one that still holds a
pending entry is kept until `XAUTOCLAIM` has moved it to a live worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis
from starlette.testclient import TestClient

from api.app import create_app
from api.core.config import ApiConfig
from api.services.consumers import StreamSource
from api.services.queue import RedisJobQueue
from foundation.settings import Settings
from sandbox import open_sandbox
from tests.integration.test_api_worker import wait_until

GROUP = "workers"


@pytest.fixture
async def queue(redis_url: str, stream: str) -> AsyncIterator[RedisJobQueue]:
    client = Redis.from_url(redis_url, decode_responses=True)
    queue = RedisJobQueue(client, stream, GROUP)
    await queue.ensure_group()
    yield queue
    await client.aclose()


async def consumers(queue: RedisJobQueue) -> dict[str, int]:
    return {c["name"]: c["pending"] for c in await queue.redis.xinfo_consumers(queue.stream, GROUP)}


async def read_one(queue: RedisJobQueue, consumer: str) -> str:
    [[_, [(entry_id, _)]]] = await queue.redis.xreadgroup(GROUP, consumer, {queue.stream: ">"}, count=1)
    return entry_id


async def test_only_idle_consumers_without_pending_entries_are_deleted(queue: RedisJobQueue) -> None:
    for job_id in ("cmo_a", "cmo_b"):
        await queue.enqueue(job_id)
    await queue.redis.xack(queue.stream, GROUP, await read_one(queue, "dead-done"))  # finished its job, then died
    await read_one(queue, "dead-busy")  # died holding a job
    await asyncio.sleep(0.3)
    await queue.redis.xgroup_createconsumer(queue.stream, GROUP, "alive")  # active just now
    source = StreamSource(queue, "me", claim_idle_seconds=0.2, consumer_idle_seconds=0.2)

    assert await source.prune_consumers() == ["dead-done"]
    assert await consumers(queue) == {"dead-busy": 1, "alive": 0}

    delivery = await source.take(0.1)  # XAUTOCLAIM moves dead-busy's entry to this worker
    assert delivery is not None and delivery.job_id == "cmo_b"
    await asyncio.sleep(0.3)
    assert sorted(await source.prune_consumers()) == ["alive", "dead-busy"], "never the caller itself"
    assert await consumers(queue) == {"me": 1}


def test_a_starting_worker_deletes_the_consumers_of_dead_workers(tmp_path: Path, redis_url: str, stream: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    client.xgroup_createconsumer(stream, GROUP, "killed-worker")
    time.sleep(0.3)
    settings = Settings(cmo_home=tmp_path / "home", redis_url=redis_url)
    config = ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream, workers_inline=1, worker_consumer_idle_seconds=0.2)
    with TestClient(create_app(settings, config)):
        names = lambda: {c["name"] for c in client.xinfo_consumers(stream, GROUP)}  # noqa: E731
        wait_until(lambda: "killed-worker" not in names(), 10, "the dead consumer to be deleted")
