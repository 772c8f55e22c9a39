"""Migrations and idempotent writes on both databases.

The migrations must build exactly the ORM's tables (autogenerate finds no difference), go down and
up again, and the writes a resumed worker repeats must not duplicate rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, select

from api.core import orm, orm_audit, orm_destinations, orm_privacy, orm_sends, orm_web  # noqa: F401 - their tables join orm.Base's metadata
from api.core.database import Database, run_with_database
from api.core.migrate import current_revision, downgrade, head_revision, upgrade
from api.services.artifacts import save_artifact
from api.services.events import append_event
from api.services.prospects import save_prospects
from foundation.schemas import ComplianceReview, Prospect
from foundation.settings import Settings
from storage.encrypted_types import bind_keyring
from storage.keyring import LOCAL_TENANT, get_keyring
from storage.urls import sqlalchemy_url
from tests.conftest import POSTGRES_URL

TABLES = {"tenants", "api_keys", "jobs", "job_events", "artifacts", "prospects", "engagement_events"}


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """An empty database: a new SQLite file, or a new Postgres schema just for this test."""
    if request.param == "sqlite":
        yield Settings(cmo_home=tmp_path / "home")
        return
    request.getfixturevalue("postgres_url")  # skips (or fails in CI) without Postgres
    schema = f"cmo_test_migrations_{uuid.uuid4().hex[:12]}"  # unique even across concurrent sessions
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    yield Settings(cmo_home=tmp_path / "home", database_url=f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _tables_and_diff(settings: Settings) -> tuple[set[str], list[object]]:
    engine = create_engine(sqlalchemy_url(settings, driver_async=False))
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names()), compare_metadata(MigrationContext.configure(conn), orm.Base.metadata)
    finally:
        engine.dispose()


def test_migrations_build_the_orm_schema_and_reverse(fresh_settings: Settings) -> None:
    assert run_with_database(fresh_settings, current_revision) is None
    upgrade(fresh_settings)
    tables, diff = _tables_and_diff(fresh_settings)
    assert tables >= TABLES and diff == [], f"migrations and ORM disagree: {diff}"
    assert run_with_database(fresh_settings, current_revision) == head_revision()

    downgrade(fresh_settings, "base")
    assert not TABLES & _tables_and_diff(fresh_settings)[0]
    upgrade(fresh_settings)
    upgrade(fresh_settings)  # idempotent: a second `cmo db upgrade` is a no-op
    assert _tables_and_diff(fresh_settings)[0] >= TABLES


def test_worker_writes_are_idempotent(fresh_settings: Settings) -> None:
    upgrade(fresh_settings)
    bind_keyring(keyring := get_keyring(fresh_settings))  # prospects, events and files are sealed
    keyring.encrypt(LOCAL_TENANT, b"")  # its data key exists before a transaction writes (see ensure_tenant_keys)

    async def scenario(db: Database) -> tuple[Any, ...]:
        async with db.sessions() as session:
            session.add(orm.Tenant(id="ten_1", name="acme"))
            await session.flush()
            job = orm.Job(id="cmo_1", tenant_id="ten_1", goal="g", metadata_={}, counts={})
            session.add(job)
            await session.flush()
            approved = ComplianceReview(verdict="approved")
            for rescored in (0.5, 0.8):  # a resumed job writes the same prospects and files again
                await save_prospects(session, job, [Prospect(id="gh_ada", username="ada", score=rescored, compliance=approved)])
                first_id = await save_artifact(session, job, "summary.json", "application/json", b"{}")
                second_id = await save_artifact(session, job, "summary.json", "application/json", b'{"done": true}')
            seqs = [await append_event(session, job.id, "job.progress", {"n": n}) for n in range(3)]
            await session.commit()
            prospects = await session.scalar(select(func.count()).select_from(orm.ProspectRow))
            score = await session.scalar(select(orm.ProspectRow.score))
            artifacts = await session.scalar(select(func.count()).select_from(orm.Artifact))
            content = await session.scalar(select(orm.Artifact.content))
            assert first_id == second_id
            return prospects, score, artifacts, content, seqs

    assert run_with_database(fresh_settings, scenario) == (1, 0.8, 1, b'{"done": true}', [1, 2, 3])
