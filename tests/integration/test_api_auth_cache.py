"""The API key cache (api/core/key_cache.py) against the real databases and Redis: a checked key is
answered from the cache; a revocation is applied at once in the revoking process, within a second on
every other API process (two `cmo serve` processes, revoked by the `cmo apikey revoke` command), and
within the TTL when its announcement was lost; a listener that reconnects forgets what it cached."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client import REGISTRY
from sqlalchemy import update
from starlette.testclient import TestClient

from api.app import create_app
from api.core import orm
from api.core.config import ApiConfig
from api.core.database import Database, run_with_database
from api.services.tenants import IssuedKey, issue_api_key, revoke_api_key
from foundation.settings import Settings
from sandbox import open_sandbox
from tests.integration.test_api_sse_processes import settings as settings
from tests.integration.test_api_sse_processes import two_servers as two_servers
from tests.integration.test_api_worker import wait_until


@pytest.fixture(params=["sqlite", "postgres"])
def any_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = None if request.param == "sqlite" else request.getfixturevalue("migrated_postgres_url")
    return Settings(cmo_home=tmp_path / "home", database_url=url)


def issue(settings: Settings) -> IssuedKey:
    return run_with_database(settings, lambda db: issue_api_key(db, f"tenant-{uuid.uuid4().hex[:12]}"))


def revoke_silently(settings: Settings, key_id: str) -> None:
    """Revoke in the database only, as if the announcement had been lost (Redis away)."""

    async def act(db: Database) -> None:
        async with db.sessions() as session:
            await session.execute(update(orm.ApiKey).where(orm.ApiKey.id == key_id).values(revoked_at=orm.utcnow()))
            await session.commit()

    run_with_database(settings, act)


def lookups(source: str) -> float:
    return REGISTRY.get_sample_value("cmo_api_key_lookups_total", {"source": source}) or 0.0


@pytest.fixture
def cached_client(any_settings: Settings) -> Iterator[tuple[TestClient, IssuedKey]]:
    """A client whose key was checked once, so the next requests find it in the cache."""
    with TestClient(
        create_app(any_settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=0, auth_cache_seconds=1.0))
    ) as client:
        issued = issue(any_settings)
        client.headers["Authorization"] = f"Bearer {issued.key}"
        assert client.get("/api/jobs").status_code == 200
        yield client, issued


def test_a_checked_key_is_answered_from_the_cache_and_revoked_at_once(
    cached_client: tuple[TestClient, IssuedKey], any_settings: Settings
) -> None:
    client, issued = cached_client
    from_cache, from_database = lookups("cache"), lookups("database")
    assert client.get("/api/jobs").status_code == 200
    assert (lookups("cache"), lookups("database")) == (from_cache + 1, from_database)
    assert run_with_database(any_settings, lambda db: revoke_api_key(db, issued.key_id))
    assert client.get("/api/jobs").status_code == 401, "the revoking process forgets the key at once"


def test_a_revocation_whose_announcement_was_lost_holds_once_the_ttl_expires(
    cached_client: tuple[TestClient, IssuedKey], any_settings: Settings
) -> None:
    client, issued = cached_client
    revoke_silently(any_settings, issued.key_id)
    assert client.get("/api/jobs").status_code == 200, "still cached: the TTL bounds how long"
    time.sleep(1.1)
    assert client.get("/api/jobs").status_code == 401


def test_a_listener_that_reconnects_forgets_what_it_cached(tmp_path: Path, migrated_postgres_url: str, redis_url: str) -> None:
    settings = Settings(cmo_home=tmp_path / "home", database_url=migrated_postgres_url, redis_url=redis_url)
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=0))) as client:
        issued = issue(settings)
        client.headers["Authorization"] = f"Bearer {issued.key}"
        assert client.get("/api/jobs").status_code == 200
        revoke_silently(settings, issued.key_id)  # a revocation published while the listener was away
        admin = redis.Redis.from_url(redis_url, decode_responses=True)
        for connection in admin.client_list():
            if connection["name"] == f"cmo-control:{os.getpid()}":
                admin.client_kill_filter(_id=connection["id"])
        wait_until(lambda: client.get("/api/jobs").status_code == 401, 10, "the cache to be emptied on reconnection")


def test_a_revoked_key_is_refused_by_every_api_process_within_a_second(two_servers: list[str], settings: Settings) -> None:
    issued = issue(settings)
    headers = {"Authorization": f"Bearer {issued.key}"}
    for url in two_servers:
        for _ in range(2):  # the second answer comes from the process's cache
            assert httpx.get(f"{url}/api/jobs", headers=headers).status_code == 200
    env = {**os.environ, "DATABASE_URL": settings.database_url or "", "REDIS_URL": settings.redis_url or ""}
    revoked = subprocess.run(
        [sys.executable, "-m", "cli", "apikey", "revoke", issued.key_id], env=env, capture_output=True, text=True, timeout=60
    )
    assert revoked.returncode == 0, revoked.stderr
    deadline = time.monotonic() + 1.0
    for url in two_servers:
        wait_until(
            lambda url=url: httpx.get(f"{url}/api/jobs", headers=headers).status_code == 401,
            max(0.0, deadline - time.monotonic()),
            url,
        )
