"""Two `cmo serve` processes on one Postgres schema and one Redis: a job's stream read from process B
follows, live, what a worker (this test, with its own engine and Redis bus) and process A write."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from api.core import orm
from api.core.config import ApiConfig
from api.core.database import Database
from api.services.bus import create_event_bus
from api.services.events import JOB_CREATED, append_event, bind_event_bus
from api.services.tenants import issue_api_key
from foundation.settings import Settings
from sandbox import open_sandbox
from storage.encrypted_types import bind_keyring
from storage.keyring import get_keyring
from tests.support.sse import open_stream


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def settings(migrated_postgres_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return Settings(cmo_home=tmp_path / "home", database_url=migrated_postgres_url, redis_url=redis_url)


@contextmanager
def served(settings: Settings, tmp_path: Path, *extra_args: str, count: int = 1) -> Iterator[list[str]]:
    """`cmo serve` `count` times, as a deployment would run it (the schema was migrated by `cmo db upgrade`'s code)."""
    env = {**os.environ, "DATABASE_URL": settings.database_url or "", "REDIS_URL": settings.redis_url or ""}
    env["CMO_HOME"] = str(settings.cmo_home)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    ports = [_free_port() for _ in range(count)]
    logs = [open(tmp_path / f"serve-{port}.log", "wb") for port in ports]  # noqa: SIM115 - closed below
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--port", str(port), "--workers-inline", "0", *extra_args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 90  # a loaded 2-core machine takes 10-20 s to import and start one
        for url, process in zip(urls, processes, strict=True):
            while True:
                assert process.poll() is None, (tmp_path / f"serve-{url.rsplit(':', 1)[1]}.log").read_text()
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"{url} not ready in 90 s"
                time.sleep(0.1)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process, log in zip(processes, logs, strict=True):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


@pytest.fixture
def two_servers(settings: Settings, tmp_path: Path) -> Iterator[list[str]]:
    with served(settings, tmp_path, count=2) as urls:
        yield urls


def test_one_serve_with_several_processes_shares_the_port_and_its_metrics_count_all_of_them(
    settings: Settings, tmp_path: Path
) -> None:
    """`cmo serve --processes 3`: requests on fresh connections land on several processes, and
    `/metrics` (answered by any one of them) counts every request (prometheus multiprocess mode).
    The port listens with the `--backlog` asked for."""
    with served(settings, tmp_path, "--processes", "3", "--backlog", "1000") as (url,):
        listening = subprocess.run(
            ["ss", "-ltnH", f"sport = :{url.rsplit(':', 1)[1]}"], capture_output=True, text=True, check=True
        ).stdout.split()
        assert listening[2] == "1000", f"the listen queue is not --backlog's: {listening}"  # ss: Send-Q is the backlog
        for _ in range(60):
            assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200  # a new connection each time
        writers = {path.name.rsplit("_", 1)[-1] for path in (settings.home / "metrics").glob("counter_*.db")}
        scraped = httpx.get(f"{url}/metrics", timeout=5).text
    assert len(writers) >= 2, f"only {writers} served: the port is not shared"
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in scraped.splitlines()
        if line.startswith("cmo_http_requests_total{") and 'route="/healthz"' in line
    )
    assert counted >= 60, scraped[:2000]


@pytest.mark.parametrize("database_url", [None, "sqlite:///{home}/cmo.db"])
def test_several_processes_need_postgres_and_redis(tmp_path: Path, redis_url: str, database_url: str | None) -> None:
    env = {**os.environ, "CMO_HOME": str(tmp_path / "home")}
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    if database_url is not None:  # a database URL that is not Postgres is refused too, even with Redis
        env.update(DATABASE_URL=database_url.format(home=tmp_path), REDIS_URL=redis_url)
    result = subprocess.run(
        [sys.executable, "-m", "cli", "serve", "--processes", "2"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "needs DATABASE_URL (Postgres) and REDIS_URL" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.fixture
async def worker_database(settings: Settings) -> AsyncIterator[Database]:
    """What a `cmo worker` holds: its own engine whose commits are announced on the Redis bus, and the keyring."""
    bind_keyring(get_keyring(settings))
    database = Database(settings, ApiConfig(github_sandbox=open_sandbox))
    bus = create_event_bus(settings.redis_url, ApiConfig(github_sandbox=open_sandbox))
    await bus.start()
    bind_event_bus(database, bus)
    try:
        yield database
    finally:
        await bus.close()
        await database.dispose()


async def test_a_stream_on_one_process_follows_writes_of_a_worker_and_of_another_process(
    two_servers: list[str], worker_database: Database
) -> None:
    process_a, process_b = two_servers
    issued = await issue_api_key(worker_database, f"tenant-{uuid.uuid4().hex[:12]}")
    headers = {"Authorization": f"Bearer {issued.key}"}
    job_id = f"cmo_{uuid.uuid4().hex[:20]}"
    async with worker_database.sessions() as session:  # a queued job, as `POST /api/jobs` writes it
        session.add(orm.Job(id=job_id, tenant_id=issued.tenant_id, goal="Find Python maintainers", metadata_={}, counts={}))
        await session.flush()
        await append_event(session, job_id, JOB_CREATED, {"goal": "Find Python maintainers"})
        await session.commit()

    async with (
        httpx.AsyncClient(base_url=process_a, timeout=10) as client_a,
        httpx.AsyncClient(base_url=process_b, timeout=10) as client_b,
        open_stream(client_b, job_id, headers) as on_b,
    ):
        assert [e.event for e in await on_b.take(1)] == ["job.created"]
        latencies = []
        for n in range(20):
            async with worker_database.sessions() as session:
                await append_event(session, job_id, "agent.reasoning", {"agent": "research", "text": f"step {n}"})
                await session.commit()
            started = time.perf_counter()
            event = await on_b.next()
            latencies.append((time.perf_counter() - started) * 1000)
            assert event is not None and (event.id, event.data["data"]["text"]) == (n + 2, f"step {n}")
        p50, worst = statistics.median(latencies), max(latencies)
        print(f"\ncommit in the worker -> event on process B: p50 {p50:.1f} ms, max {worst:.1f} ms")
        assert p50 < 100

        async with open_stream(client_a, job_id, {**headers, "Last-Event-ID": "19"}) as on_a:
            assert [e.id for e in await on_a.take(2)] == [20, 21], "process A replays the same log"
            cancelled = await client_a.delete(f"/api/jobs/{job_id}", headers=headers)
            assert cancelled.status_code == 200, cancelled.text
            assert [(e.id, e.event) for e in await on_a.rest()] == [(22, "job.cancelled")]
        assert [(e.id, e.event) for e in await asyncio.wait_for(on_b.rest(), 5)] == [(22, "job.cancelled")]
