"""`GET /api/jobs/{id}/events` against a real uvicorn server in the test's own event loop, over the
three deployments: embedded (SQLite, in-process bus), Postgres with the in-process bus, and
Postgres with the Redis bus. The test plays the worker by appending through `append_event` with
the app's own database (so its commits are published exactly as a worker's would be).

Streams read by httpx must come from a real server: ASGI test transports buffer the whole body.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from fastapi import FastAPI
from sqlalchemy import update

from api.app import create_app
from api.core import orm
from api.core.config import ApiConfig
from api.core.database import Database
from api.services import events
from api.services.bus import BusEvent, RedisEventBus
from api.services.events import append_event
from api.services.tenants import issue_api_key
from foundation.settings import Settings
from sandbox import open_sandbox
from tests.support.sse import open_stream

GOAL = "Find Python maintainers active in ML"
ENRICHED = {"prospect_id": "gh_octocat", "email": "octocat@github.com", "confidence_score": 0.95, "signals": ["python_expert"]}
COMPLETED = {
    "duration_seconds": 42,
    "prospects_found": 3,
    "emails_contactable": 2,
    "conversion_rate": 0.0,
    "artifacts": ["leads_full.json", "leads_contactable.csv"],
}


@pytest.fixture(params=["sqlite+memory", "postgres+memory", "postgres+redis"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    storage, bus = request.param.split("+")
    database_url = request.getfixturevalue("migrated_postgres_url") if storage == "postgres" else None
    redis_url = request.getfixturevalue("redis_url") if bus == "redis" else None
    return Settings(cmo_home=tmp_path / "home", database_url=database_url, redis_url=redis_url)


@contextmanager
def private_jobs_stream(redis_url: str | None) -> Iterator[str]:
    """A queue stream of the test's own, so the jobs it creates never reach anybody's workers."""
    name = f"cmo:test:sse:{uuid.uuid4().hex}"
    try:
        yield name
    finally:
        if redis_url:
            redis.Redis.from_url(redis_url).delete(name)


@pytest.fixture
def jobs_stream(settings: Settings) -> Iterator[str]:
    with private_jobs_stream(settings.redis_url) as name:
        yield name


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    headers: dict[str, str]

    @property
    def database(self) -> Database:
        return self.app.state.database

    async def create_job(self) -> str:
        response = await self.client.post("/api/jobs", json={"goal": GOAL}, headers=self.headers)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    async def append(
        self,
        job_id: str,
        event: str,
        data: dict[str, Any] | None = None,
        *,
        database: Database | None = None,
        dedupe_key: str | None = None,
    ) -> int | None:
        """Append and commit like a worker; `database` = an engine not bound to the bus (a lost notification)."""
        async with (database or self.database).sessions() as session:
            seq = await append_event(session, job_id, event, data or {}, dedupe_key=dedupe_key)
            await session.commit()
        return seq


@asynccontextmanager
async def serving(settings: Settings, jobs_stream: str, **config: Any) -> AsyncIterator[Api]:
    """The app on uvicorn (port chosen by the OS) in this event loop, plus a client with a fresh tenant's key."""
    app = create_app(
        settings, ApiConfig(github_sandbox=open_sandbox, **{"jobs_stream": jobs_stream, "workers_inline": 0, **config})
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, timeout_graceful_shutdown=2)
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(20):
        while not server.started:
            assert not task.done(), task.exception()
            await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    issued = await issue_api_key(app.state.database, f"tenant-{uuid.uuid4().hex[:12]}")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield Api(app, client, {"Authorization": f"Bearer {issued.key}"})
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def api(settings: Settings, jobs_stream: str) -> AsyncIterator[Api]:
    async with serving(settings, jobs_stream) as running:
        yield running


@asynccontextmanager
async def unbound_database(settings: Settings) -> AsyncIterator[Database]:
    """Another engine on the same database whose commits announce nothing (a crashed publisher)."""
    database = Database(settings, ApiConfig(github_sandbox=open_sandbox))
    try:
        yield database
    finally:
        await database.dispose()


async def test_a_late_joiner_gets_the_history_then_live_events_and_the_stream_ends(api: Api) -> None:
    job_id = await api.create_job()
    await api.append(job_id, "job.started", {"worker": "w1"})
    await api.append(job_id, "agent.started", {"agent": "planner"})

    async with open_stream(api.client, job_id, api.headers) as stream:
        history = await stream.take(3)
        assert [(e.id, e.event) for e in history] == [(1, "job.created"), (2, "job.started"), (3, "agent.started")]
        assert history[0].data["data"]["goal"] == GOAL
        assert history[0].data["job_id"] == job_id and history[0].data["event"] == "job.created"
        assert history[0].data["timestamp"].endswith("Z")

        started = time.perf_counter()
        await api.append(job_id, "prospect.enriched", ENRICHED)
        enriched = await stream.next()
        latency_ms = (time.perf_counter() - started) * 1000
        assert enriched is not None and (enriched.id, enriched.event) == (4, "prospect.enriched")
        assert enriched.data["data"] == ENRICHED, "SPEC's prospect.enriched shape, nothing added"
        assert latency_ms < 1000, f"live delivery took {latency_ms:.0f} ms"

        await api.append(job_id, "campaign.completed", COMPLETED)
        assert [(e.id, e.event, e.data["data"]) for e in await stream.rest()] == [(5, "campaign.completed", COMPLETED)]


async def test_last_event_id_resumes_exactly_after_the_given_event(api: Api) -> None:
    job_id = await api.create_job()
    for n in range(5):
        await api.append(job_id, "job.progress", {"n": n})

    async with open_stream(api.client, job_id, {**api.headers, "Last-Event-ID": "3"}) as stream:
        assert [e.id for e in await stream.take(3)] == [4, 5, 6]
        await api.append(job_id, "job.progress", {"n": 5})
        assert [e.id for e in await stream.take(1)] == [7]

    async with open_stream(api.client, job_id, api.headers, last_event_id=5) as stream:
        assert [e.id for e in await stream.take(2)] == [6, 7]

    # A browser's EventSource resends the URL it started with plus the newest id as a header.
    async with open_stream(api.client, job_id, {**api.headers, "Last-Event-ID": "6"}, last_event_id=2) as stream:
        assert [e.id for e in await stream.take(1)] == [7]
        await api.append(job_id, "job.failed", {"error": "GitHub unreachable"})
        assert [(e.id, e.event) for e in await stream.rest()] == [(8, "job.failed")]


async def test_a_stream_resumed_past_the_end_closes_when_the_job_ends(api: Api) -> None:
    """Issue 14: with `Last-Event-ID: 2147483647` on a running job the stream stayed open ~31 s after
    the job ended (until the resync read the table), sending only pings. The default resync is 30 s:
    `rest(timeout=5)` fails if the end is only noticed then."""
    job_id = await api.create_job()
    async with open_stream(api.client, job_id, {**api.headers, "Last-Event-ID": "2147483647"}) as stream:
        await asyncio.sleep(0.2)  # the stream is live (nothing to replay past that id)
        await api.append(job_id, "job.failed", {"error": "GitHub unreachable"})
        assert await stream.rest(timeout=5) == []


async def test_a_finished_job_replays_its_history_and_the_stream_ends(api: Api) -> None:
    job_id = await api.create_job()
    assert (await api.client.delete(f"/api/jobs/{job_id}", headers=api.headers)).status_code == 200
    async with open_stream(api.client, job_id, api.headers) as stream:
        assert [(e.id, e.event) for e in await stream.rest()] == [(1, "job.created"), (2, "job.cancelled")]
    async with open_stream(api.client, job_id, {**api.headers, "Last-Event-ID": "2"}) as stream:
        assert await stream.rest() == []

    # Finished without a terminal event in the log: the status alone ends the stream after history.
    other = await api.create_job()
    async with api.database.sessions() as session:
        await session.execute(update(orm.Job).where(orm.Job.id == other).values(status="succeeded"))
        await session.commit()
    async with open_stream(api.client, other, api.headers) as stream:
        assert [e.event for e in await stream.rest()] == ["job.created"]


async def test_cancelling_through_the_api_reaches_an_open_stream_and_ends_it(api: Api) -> None:
    job_id = await api.create_job()
    async with open_stream(api.client, job_id, api.headers) as stream:
        assert [e.event for e in await stream.take(1)] == ["job.created"]
        assert (await api.client.delete(f"/api/jobs/{job_id}", headers=api.headers)).status_code == 200
        cancelled = await stream.rest()
    assert [(e.id, e.event) for e in cancelled] == [(2, "job.cancelled")]


async def test_another_tenants_job_is_a_404_and_bad_ids_are_problems(api: Api) -> None:
    job_id = await api.create_job()
    stranger = await issue_api_key(api.database, f"tenant-{uuid.uuid4().hex[:12]}")
    answers = {
        "other tenant": await api.client.get(f"/api/jobs/{job_id}/events", headers={"Authorization": f"Bearer {stranger.key}"}),
        "unknown job": await api.client.get("/api/jobs/cmo_missing/events", headers=api.headers),
        "no key": await api.client.get(f"/api/jobs/{job_id}/events"),
        "bad id": await api.client.get(f"/api/jobs/{job_id}/events", headers={**api.headers, "Last-Event-ID": "abc"}),
        "negative id": await api.client.get(f"/api/jobs/{job_id}/events", headers=api.headers, params={"last_event_id": -1}),
    }
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {"other tenant": 404, "unknown job": 404, "no key": 401, "bad id": 422, "negative id": 422}
    assert all(r.headers["content-type"] == "application/problem+json" for r in answers.values())
    assert answers["other tenant"].json()["detail"] == answers["unknown job"].json()["detail"].replace("cmo_missing", job_id)


async def test_headers_keep_alive_pings_and_no_compression(settings: Settings, jobs_stream: str) -> None:
    async with serving(settings, jobs_stream, sse_ping_seconds=0.2) as api:
        job_id = await api.create_job()
        headers = {**api.headers, "Accept-Encoding": "gzip"}
        async with open_stream(api.client, job_id, headers) as stream:
            response = stream.response
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["x-accel-buffering"] == "no"
            assert response.headers["cache-control"] == "no-store"
            assert "content-encoding" not in response.headers
            await stream.take(1)
            await asyncio.sleep(0.5)
            await api.append(job_id, "job.started")
            assert [e.event for e in await stream.take(1)] == ["job.started"]
            assert any(comment.startswith(": ping") for comment in stream.comments)


async def test_a_dedupe_key_makes_a_repeated_event_a_no_op(api: Api) -> None:
    job_id = await api.create_job()
    assert await api.append(job_id, "prospect.found", {"login": "ada"}, dedupe_key="research:gh_ada") == 2
    assert await api.append(job_id, "prospect.found", {"login": "ada"}, dedupe_key="research:gh_ada") is None
    assert await api.append(job_id, "prospect.found", {"login": "bob"}, dedupe_key="research:gh_bob") == 3
    assert await api.append(job_id, "job.progress", {"found": 2}) == 4
    await api.append(job_id, "campaign.completed", COMPLETED, dedupe_key="finish")
    async with open_stream(api.client, job_id, api.headers) as stream:
        events = await stream.rest()
    assert [e.id for e in events] == [1, 2, 3, 4, 5]
    assert events[1].data["data"] == {"login": "ada"}, "the dedupe key stays internal"


async def test_concurrent_writers_of_one_job_get_consecutive_numbers(api: Api) -> None:
    job_id = await api.create_job()
    seqs = await asyncio.gather(*(api.append(job_id, "agent.reasoning", {"n": n}) for n in range(20)))
    assert sorted(seqs) == list(range(2, 22))


async def test_a_lost_notification_is_recovered_at_the_next_event(api: Api, settings: Settings) -> None:
    job_id = await api.create_job()
    async with unbound_database(settings) as crashed_publisher, open_stream(api.client, job_id, api.headers) as stream:
        await stream.take(1)
        await api.append(job_id, "agent.started", {"agent": "research"}, database=crashed_publisher)
        await api.append(job_id, "agent.finished", {"agent": "research"})
        # The default resync interval is 30 s: arriving now means the gap was noticed.
        assert [(e.id, e.event) for e in await stream.take(2, timeout=3)] == [(2, "agent.started"), (3, "agent.finished")]


async def test_a_silent_stream_rereads_the_table(settings: Settings, jobs_stream: str) -> None:
    async with serving(settings, jobs_stream, sse_resync_seconds=0.3) as api, unbound_database(settings) as crashed_publisher:
        job_id = await api.create_job()
        async with open_stream(api.client, job_id, api.headers) as stream:
            await stream.take(1)
            await api.append(job_id, "job.failed", {"error": "worker lost"}, database=crashed_publisher)
            assert [(e.id, e.event) for e in await stream.rest(timeout=3)] == [(2, "job.failed")]


async def test_a_stream_too_slow_for_its_buffer_catches_up_from_the_table(settings: Settings, jobs_stream: str) -> None:
    async with serving(settings, jobs_stream, sse_buffer_events=2) as api:
        job_id = await api.create_job()
        async with open_stream(api.client, job_id, api.headers) as stream:
            await stream.take(1)
            async with api.database.sessions() as session:  # one commit announces 30 events at once
                for n in range(30):
                    await append_event(session, job_id, "tool.called", {"n": n})
                await append_event(session, job_id, "campaign.completed", COMPLETED)
                await session.commit()
            events = await stream.rest()
    assert [e.id for e in events] == list(range(2, 33))
    assert [e.data["data"].get("n") for e in events[:30]] == list(range(30))


async def test_the_redis_subscriber_reconnects_and_streams_catch_up(
    redis_url: str, migrated_postgres_url: str, tmp_path: Path
) -> None:
    settings = Settings(cmo_home=tmp_path / "home", database_url=migrated_postgres_url, redis_url=redis_url)
    admin = redis.Redis.from_url(redis_url)

    def subscribers() -> list[str]:
        return [c["id"] for c in admin.client_list(_type="pubsub") if c["name"] == f"cmo-events:{os.getpid()}"]

    with private_jobs_stream(redis_url) as stream_name:
        async with serving(settings, stream_name) as api:
            job_id = await api.create_job()
            async with open_stream(api.client, job_id, api.headers) as stream:
                await stream.take(1)
                killed = subscribers()
                assert len(killed) == 1, "one subscriber connection per process, however many streams"
                admin.client_kill_filter(_id=killed[0])
                await api.append(job_id, "job.started")  # published while the subscriber may be away
                await api.append(job_id, "agent.started", {"agent": "planner"})
                assert [e.id for e in await stream.take(2, timeout=5)] == [2, 3]
                await asyncio.sleep(0.5)
                assert len(subscribers()) == 1 and subscribers() != killed, "reconnected"
                await api.append(job_id, "campaign.completed", COMPLETED)
                assert [e.event for e in await stream.rest(timeout=3)] == ["campaign.completed"]


async def streams_open(count: float) -> None:
    async with asyncio.timeout(5):
        while events.STREAMS._value.get() != count:
            await asyncio.sleep(0.02)


async def test_a_stalled_client_is_dropped_without_slowing_the_others(settings: Settings, jobs_stream: str) -> None:
    async with serving(settings, jobs_stream, sse_send_timeout_seconds=0.5) as api:
        job_id = await api.create_job()
        before = events.STREAMS._value.get()
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", api.client.base_url.port))
        request = f"GET /api/jobs/{job_id}/events HTTP/1.1\r\nHost: x\r\nAuthorization: {api.headers['Authorization']}\r\n\r\n"
        stalled.sendall(request.encode())  # and never reads a byte
        try:
            async with open_stream(api.client, job_id, api.headers) as healthy:
                await healthy.take(1)
                await streams_open(before + 2)  # the stalled request is being served too
                padding, sent = "x" * 100_000, 0
                while events.STREAMS._value.get() == before + 2:  # until the socket buffers are full and 0.5 s pass
                    assert sent < 200, "the stalled stream was never dropped"
                    await api.append(job_id, "agent.reasoning", {"n": sent, "text": padding})
                    sent += 1
                    await asyncio.sleep(0.02)
                assert [e.data["data"]["n"] for e in await healthy.take(sent)] == list(range(sent))
                await api.append(job_id, "campaign.completed", COMPLETED)
                assert [e.event for e in await healthy.rest()] == ["campaign.completed"]
            await streams_open(before)
        finally:
            stalled.close()


async def test_open_streams_hold_no_database_connection(settings: Settings, jobs_stream: str) -> None:
    async with serving(settings, jobs_stream, db_pool_size=1, db_max_overflow=0) as api:
        job_id = await api.create_job()
        async with contextlib.AsyncExitStack() as streams:
            readers = [await streams.enter_async_context(open_stream(api.client, job_id, api.headers)) for _ in range(5)]
            for reader in readers:
                await reader.take(1)
            async with asyncio.timeout(3):  # with a one-connection pool, a held connection would block this
                assert (await api.client.get(f"/api/jobs/{job_id}", headers=api.headers)).status_code == 200
            await api.append(job_id, "job.failed", {"error": "test"})
            for reader in readers:
                assert [e.event for e in await reader.rest()] == ["job.failed"]


async def test_a_subscriber_arriving_as_the_last_one_leaves_stays_subscribed(redis_url: str) -> None:
    """A reconnecting client: the old stream's UNSUBSCRIBE must not cancel the new stream's SUBSCRIBE."""
    listener, publisher = (
        RedisEventBus.from_url(redis_url, ApiConfig(github_sandbox=open_sandbox)),
        RedisEventBus.from_url(redis_url, ApiConfig(github_sandbox=open_sandbox)),
    )
    await listener.start()
    await publisher.start()
    job_id = f"cmo_{uuid.uuid4().hex[:20]}"
    try:
        async with listener.subscribe(job_id):
            pass
        async with listener.subscribe(job_id) as subscription:
            await asyncio.sleep(0.2)  # whatever the departure scheduled has run by now
            sent = BusEvent(1, "job.started", b"id: 1\nevent: job.started\ndata: {}\n\n")
            publisher.publish(job_id, sent)
            assert await subscription.receive(timeout=3) == [sent]
    finally:
        await listener.close()
        await publisher.close()
