"""Shared fixtures: an isolated CMO_HOME, the sandbox server, and Postgres (real, never mocked).

Locally a missing Postgres skips the tests that need it; in CI (`CI=true`) it fails them.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_URL = os.environ.get("CMO_TEST_DATABASE_URL", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CMO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "own_keys: the test makes its key-encryption key files itself (no CMO_KEK_FILE)")


@pytest.fixture(scope="session")
def kek_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's key-encryption key file, as `cmo keys init` makes it. One per session, like the
    session's Postgres schema: data keys stored there by one test must unwrap in the next."""
    from privacy.key_providers import LocalKeyFileProvider

    return LocalKeyFileProvider.create(tmp_path_factory.mktemp("keys") / "kek.json").path


@pytest.fixture(autouse=True)
def _isolated_env(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test reads the developer's ~/.cmo, GitHub token or OpenAI key. Encryption at rest finds the
    session's key file (CMO_KEK_FILE), which Postgres-backed code needs (tests marked `own_keys` make
    their own); afterwards the process's keyrings are closed and unbound."""
    monkeypatch.setenv("CMO_HOME", str(tmp_path / "cmo_home"))
    for name in (
        "GITHUB_TOKEN",
        "GITHUB_API_URL",
        "GITHUB_APP_ID",
        "GITHUB_APP_PRIVATE_KEY",
        "GITHUB_APP_PRIVATE_KEY_FILE",
        "GITHUB_APP_INSTALLATION_ID",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "DATABASE_URL",
        "REDIS_URL",
        "CMO_KEK_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANGSMITH_TRACING", "false")
    if not request.node.get_closest_marker("own_keys"):
        monkeypatch.setenv("CMO_KEK_FILE", str(request.getfixturevalue("kek_file")))
    yield
    from storage.encrypted_types import bind_keyring
    from storage.keyring import forget_keyrings

    bind_keyring(None)
    forget_keyrings()


@pytest.fixture
def block_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection that is not to this machine fails the test (no tiktoken, no tracing, no API)."""
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if isinstance(host, str) and not (host.startswith(("127.", "/")) or host in ("::1", "localhost")):
            raise AssertionError(f"unexpected network connection to {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> Iterator[str]:
    """A Postgres URL whose search_path is a schema private to this xdist worker."""
    import psycopg

    try:
        conn = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Postgres is required in CI but unreachable at {POSTGRES_URL}: {exc}")
        pytest.skip(f"Postgres unreachable at {POSTGRES_URL}")
    schema = f"cmo_test_{worker_id}_{os.getpid()}"  # unique per session: parallel pytest runs never collide
    with conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(scope="session")
def migrated_postgres_url(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's Postgres schema with the service's migrations applied."""
    from api.core.migrate import upgrade
    from foundation.settings import Settings

    upgrade(Settings(cmo_home=tmp_path_factory.mktemp("pg_home"), database_url=postgres_url))
    return postgres_url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis server (real, never mocked); skipped locally when down, a failure in CI."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis is required in CI but unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def private_postgres_url(postgres_url: str) -> Iterator[str]:
    """A Postgres schema of this test alone, for tests whose workers must not see other tests' jobs."""
    import uuid

    import psycopg

    schema = f"cmo_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
