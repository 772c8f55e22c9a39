"""Fixtures of the service tests."""

from __future__ import annotations

import pytest

from cmo.settings import Settings


@pytest.fixture(scope="session")
def migrated_postgres_url(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's Postgres schema with the service's migrations applied."""
    from api.core.migrate import upgrade

    upgrade(Settings(cmo_home=tmp_path_factory.mktemp("pg_home"), database_url=postgres_url))
    return postgres_url
