"""The statements the hot routes send, counted on the real Postgres: polling a job and creating one
are what clients do most (bench/api_latency.py), so a new query on either path is a decision."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from api.app import create_app
from api.core.config import ApiConfig
from foundation.settings import Settings
from sandbox import open_sandbox
from tests.support.tenants import new_tenant

BODY = {"goal": "Find Python maintainers active in ML", "max_prospects": 10}


class Statements:
    """SQL statements sent on the requests' pool and on the audit writer's own connection."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.audit: list[str] = []

    def clear(self) -> None:
        self.requests.clear()
        self.audit.clear()


@pytest.fixture
def counted(migrated_postgres_url: str, tmp_path: Any) -> Iterator[tuple[TestClient, dict[str, str], Statements]]:
    settings = Settings(cmo_home=tmp_path / "home", database_url=migrated_postgres_url)
    _, headers = new_tenant(settings)
    statements = Statements()
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=0))) as client:
        database = client.app.state.database  # type: ignore[attr-defined]
        for engine, seen in ((database.engine, statements.requests), (database.serial_engine, statements.audit)):

            def record(*args: Any, seen: list[str] = seen) -> None:
                seen.append(args[2].split(None, 1)[0].upper())

            event.listen(engine.sync_engine, "before_cursor_execute", record)
        yield client, headers, statements


def test_polling_a_job_is_one_select(counted: tuple[TestClient, dict[str, str], Statements]) -> None:
    client, headers, statements = counted
    job_id = client.post("/api/jobs", json=BODY, headers=headers).json()["id"]
    statements.clear()
    assert client.get(f"/api/jobs/{job_id}", headers=headers).status_code == 200
    assert statements.requests == ["SELECT"], "the key is cached; the job is one indexed read"
    assert statements.audit == [], "polling is not audited"


def test_creating_a_job_reads_the_tenant_once_and_audits_on_its_own_connection(
    counted: tuple[TestClient, dict[str, str], Statements],
) -> None:
    client, headers, statements = counted
    client.post("/api/jobs", json=BODY, headers=headers)
    statements.clear()
    assert client.post("/api/jobs", json=BODY, headers=headers).status_code == 201
    # the tenant's sender and webhook URL, the job, the duration history, the job.created event
    assert statements.requests == ["SELECT", "INSERT", "SELECT", "INSERT"]
    assert statements.audit == ["UPDATE", "INSERT", "UPDATE"], "the audit chain's head, the record, the new head"
