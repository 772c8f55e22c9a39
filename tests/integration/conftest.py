"""Fixtures of the service tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from cmo.settings import Settings


@pytest.fixture(scope="session")
def migrated_postgres_url(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's Postgres schema with the service's migrations applied."""
    from api.core.migrate import upgrade

    upgrade(Settings(cmo_home=tmp_path_factory.mktemp("pg_home"), database_url=postgres_url))
    return postgres_url


@pytest.fixture
def stream(redis_url: str) -> Iterator[str]:
    """A job stream name of this test alone, deleted afterwards (Redis is shared by parallel tests)."""
    import redis

    name = f"cmo:test:jobs:{uuid.uuid4().hex}"
    yield name
    redis.Redis.from_url(redis_url).delete(name)
