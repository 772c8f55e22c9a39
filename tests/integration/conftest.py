"""Fixtures of the service tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from foundation.settings import Settings
from sandbox import open_sandbox
from tests.support.webhook_receiver import Receiver, serving_receiver


@pytest.fixture
def stream(redis_url: str) -> Iterator[str]:
    """A job stream name of this test alone, deleted afterwards (Redis is shared by parallel tests)."""
    import redis

    name = f"cmo:test:jobs:{uuid.uuid4().hex}"
    yield name
    redis.Redis.from_url(redis_url).delete(name)


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Each storage the service supports: a SQLite file of the test's own, or the session's
    migrated Postgres schema (shared: assertions filter by the test's own tenant). A test module
    with other needs defines its own `settings`."""
    url = None if request.param == "sqlite" else request.getfixturevalue("migrated_postgres_url")
    return Settings(cmo_home=tmp_path / "home", database_url=url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The API on `settings`, without inline workers (jobs stay queued unless a test runs them)."""
    from api.app import create_app
    from api.core.config import ApiConfig

    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=0))) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 (jobs need `cmo_webhook_allow_private` to post to it)."""
    with serving_receiver() as state:
        yield state
