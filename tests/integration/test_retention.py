"""Retention on both databases, with rows back-dated in the database: `purge` (and `cmo purge`)
removes prospect records past their own `data_retention_days` from their job (rows, events,
artifacts regenerated), finished jobs and idle chat threads past the tenant's retention, and the
LangGraph threads of jobs finished longer ago than CMO_CHECKPOINT_RETENTION_DAYS; it never touches
unfinished jobs or audit records, and a dry run changes nothing. A worker runs it by itself.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from sqlalchemy import func, select, update
from sqlalchemy.orm import undefer
from starlette.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.core import orm
from api.core.config import ApiConfig
from api.core.database import Database, run_with_database
from api.core.migrate import upgrade
from api.core.orm_audit import AuditRecord
from api.services.artifacts import save_artifact
from api.services.prospects import save_prospects
from api.services.retention import purge
from api.services.tenants import issue_api_key
from cli.main import app as cli_app
from foundation.artifacts import LEADS_CONTACTABLE, LEADS_FULL, TRACE
from foundation.schemas import ComplianceReview, Prospect
from foundation.schemas.prospect import PrivacySettings
from foundation.schemas.run import RunSummary
from foundation.settings import Settings
from sandbox import open_sandbox
from storage.checkpoints import open_checkpointer
from storage.encrypted_types import bind_keyring
from storage.keyring import forget_keyrings, get_keyring, tenant_scope
from tests.integration.test_api_suppressions import with_keys
from tools.vectors.base import VectorRecord
from tools.vectors.embedded import VECTORS_FILE, EmbeddedVectorStore

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def _fresh_keyrings() -> Iterator[None]:
    yield
    forget_keyrings()


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A database of the test's own: the purge covers every tenant it holds."""
    common: dict[str, Any] = {"cmo_home": tmp_path / "home", "cmo_retention_days": 30}
    if request.param == "sqlite":
        return with_keys(Settings(**common))
    settings = Settings(database_url=request.getfixturevalue("private_postgres_url"), **common)
    upgrade(settings)
    return with_keys(settings)


@dataclass
class World:
    tenant_id: str
    tenant_name: str
    old_job: str  # finished 40 days ago: past the tenant's 30 days
    mixed_job: str  # finished 5 days ago: ada kept 3 days (expired), bob 365
    stale_job: str  # finished 8 days ago: its checkpoint is past the 7 days
    fresh_job: str  # finished yesterday: everything stays
    running_job: str  # created 40 days ago and still running: never touched
    old_chat: str
    fresh_chat: str


def lead(login: str, days: int) -> Prospect:
    return Prospect(
        id=f"gh_{login}",
        username=login,
        name=f"{login.title()} Example",
        email=f"{login}@{login}-corp.io",
        privacy_settings=PrivacySettings(data_retention_days=days),
        compliance=ComplianceReview(verdict="approved"),
    )


def seed(settings: Settings, retention_days: int | None = None) -> World:
    """A tenant with back-dated jobs (prospects, events, artifacts, checkpoints) and chat threads."""
    issued = run_with_database(settings, lambda db: issue_api_key(db, f"tenant-{uuid.uuid4().hex[:12]}"))
    tenant_id = issued.tenant_id
    get_keyring(settings).encrypt_text(tenant_id, "warm-up")  # the tenant's data key, made outside any transaction
    now = orm.utcnow()
    ages = {"old": 40, "mixed": 5, "stale": 8, "fresh": 1, "running": 40}
    ids = {name: f"cmo_{uuid.uuid4().hex[:20]}" for name in ages}

    async def act(db: Database) -> None:
        bind_keyring(get_keyring(settings))
        async with db.sessions() as session:
            with tenant_scope(tenant_id):
                if retention_days is not None:
                    await session.execute(
                        update(orm.Tenant).where(orm.Tenant.id == tenant_id).values(privacy={"retention_days": retention_days})
                    )
                for name, days in ages.items():
                    at = now - days * DAY
                    status = "running" if name == "running" else "succeeded"
                    job = orm.Job(
                        id=ids[name],
                        tenant_id=tenant_id,
                        goal="Find Python maintainers",
                        status=status,
                        created_at=at,
                        finished_at=None if status == "running" else at,
                        summary=RunSummary(
                            duration_seconds=1.0,
                            prospects_found=2,
                            emails_contactable=2,
                            artifacts=[LEADS_FULL, LEADS_CONTACTABLE],
                            run_id=ids[name],
                            status="complete",
                            goal="Find Python maintainers",
                        ).model_dump(mode="json"),
                    )
                    session.add(job)
                    await session.flush()
                    leads = [lead("ada", 3), lead("bob", 365)]
                    await save_prospects(session, job, leads)
                    for seq, prospect in enumerate(leads, start=1):
                        session.add(
                            orm.JobEvent(
                                job_id=job.id,
                                seq=seq,
                                event="prospect.enriched",
                                data={"prospect_id": prospect.id, "email": prospect.email},
                            )
                        )
                    content = json.dumps([p.model_dump(mode="json") for p in leads]).encode()
                    await save_artifact(session, job, LEADS_FULL, "application/json", content)
                    await save_artifact(session, job, LEADS_CONTACTABLE, "text/csv", b"id\ngh_ada\ngh_bob\n")
                session.add(
                    orm.ChatThread(
                        id="thr_old" + uuid.uuid4().hex[:8], tenant_id=tenant_id, updated_at=now - 40 * DAY, messages=[]
                    )
                )
                session.add(orm.ChatThread(id="thr_new" + uuid.uuid4().hex[:8], tenant_id=tenant_id, updated_at=now, messages=[]))
                await session.commit()

    run_with_database(settings, act)
    with open_checkpointer(settings, tenant_id) as saver:
        for job_id in ids.values():
            saver.put({"configurable": {"thread_id": job_id, "checkpoint_ns": ""}}, empty_checkpoint(), {}, {})
    chats = read(
        settings, select(orm.ChatThread.id).where(orm.ChatThread.tenant_id == tenant_id).order_by(orm.ChatThread.updated_at)
    )
    name = read(settings, select(orm.Tenant.name).where(orm.Tenant.id == tenant_id))[0]
    return World(tenant_id, name, ids["old"], ids["mixed"], ids["stale"], ids["fresh"], ids["running"], chats[0], chats[1])


def read(settings: Settings, query: Any) -> list[Any]:
    async def act(db: Database) -> list[Any]:
        bind_keyring(get_keyring(settings))
        async with db.sessions() as session:
            return list((await session.execute(query)).scalars().all())

    return run_with_database(settings, act)


def threads(settings: Settings, world: World) -> set[str]:
    with open_checkpointer(settings, world.tenant_id) as saver:
        return {
            job
            for job in asdict(world).values()
            if job.startswith("cmo_") and saver.get_tuple({"configurable": {"thread_id": job}})
        }


async def _execute(db: Database, statement: Any) -> None:
    async with db.sessions() as session:
        await session.execute(statement)
        await session.commit()


def run_purge(settings: Settings, **options: Any) -> Any:
    """One purge; retried while another test's purge holds the server-wide advisory lock (xdist
    workers share the Postgres server), so a skipped purge never passes for an empty one."""

    async def act(db: Database) -> Any:
        bind_keyring(get_keyring(settings))
        async with db.sessions() as session:
            return await purge(session, settings, **options)

    deadline = time.monotonic() + 30
    while (report := run_with_database(settings, act)).skipped and time.monotonic() < deadline:
        time.sleep(0.05)
    return report


def test_purge_removes_what_is_past_retention_and_nothing_else(settings: Settings) -> None:
    world = seed(settings)
    audit_before = len(read(settings, select(AuditRecord.id)))

    dry = run_purge(settings, dry_run=True)
    assert asdict(dry.counts) == {"prospects": 2, "jobs": 1, "chat_threads": 1, "checkpoints": 3}, (
        "ada (3 days) of the mixed and stale jobs; the old job; the old chat; threads of old, mixed (ada left), stale"
    )
    assert len(read(settings, select(orm.Job.id).where(orm.Job.tenant_id == world.tenant_id))) == 5, "a dry run changes nothing"
    assert threads(settings, world) == {world.old_job, world.mixed_job, world.stale_job, world.fresh_job, world.running_job}

    done = run_purge(settings)
    assert asdict(done.counts) == asdict(dry.counts)
    jobs = set(read(settings, select(orm.Job.id).where(orm.Job.tenant_id == world.tenant_id)))
    assert jobs == {world.mixed_job, world.stale_job, world.fresh_job, world.running_job}, "only the old finished job went"
    assert not read(settings, select(orm.JobEvent.seq).where(orm.JobEvent.job_id == world.old_job)), "its events went with it"
    assert not read(settings, select(orm.Artifact.id).where(orm.Artifact.job_id == world.old_job)), "and its artifacts"
    kept = read(settings, select(orm.ProspectRow.prospect_id).where(orm.ProspectRow.tenant_id == world.tenant_id))
    assert sorted(kept) == ["gh_ada", "gh_ada", "gh_bob", "gh_bob", "gh_bob", "gh_bob"], (
        "ada stays in the fresh and the running job"
    )
    assert read(settings, select(orm.JobEvent.data).where(orm.JobEvent.job_id == world.mixed_job)) == [
        {"prospect_id": "gh_bob", "email": "bob@bob-corp.io"}
    ]
    files = {
        a.name: a.content
        for a in read(
            settings, select(orm.Artifact).where(orm.Artifact.job_id == world.mixed_job).options(undefer(orm.Artifact.content))
        )
    }
    assert [p["id"] for p in json.loads(files[LEADS_FULL])] == ["gh_bob"], "leads regenerated without ada"
    assert b"ada" not in files[LEADS_CONTACTABLE] and b"gh_bob" in files[LEADS_CONTACTABLE]
    assert TRACE not in files, "no artifact the job did not have is made up"
    assert read(settings, select(orm.Job.summary).where(orm.Job.id == world.mixed_job))[0]["prospects_found"] == 1
    assert threads(settings, world) == {world.fresh_job, world.running_job}
    assert read(settings, select(orm.ChatThread.id).where(orm.ChatThread.tenant_id == world.tenant_id)) == [world.fresh_chat]
    records = read(
        settings, select(AuditRecord).where(AuditRecord.action == "retention.purge", AuditRecord.tenant_id == world.tenant_id)
    )
    assert [(r.actor, r.detail) for r in records] == [("system", asdict(done.counts))]
    assert len(read(settings, select(AuditRecord.id))) == audit_before + 1, "audit records are never purged"

    again = run_purge(settings)
    assert not again.counts.any(), "a second purge finds nothing"


def seed_vectors(settings: Settings, world: World) -> EmbeddedVectorStore:
    store = EmbeddedVectorStore(settings.home / VECTORS_FILE, space="test-2", dimensions=2)
    for namespace, people in ((world.tenant_id, ["ada", "bob", "zed"]), ("another-tenant", ["ada"])):
        store.upsert(namespace, [VectorRecord(id=f"profile:{p}", values=[1, 0], metadata={"person": p}) for p in people])
    return store


def test_vectors_go_only_when_the_tenant_holds_nothing_of_the_person_any_more(settings: Settings) -> None:
    world = seed(settings)
    vectors = seed_vectors(settings, world)
    run_purge(settings)  # ada expires from two jobs but stays in the fresh and the running one
    assert vectors.count(world.tenant_id) == 3

    async def finish_running(db: Database) -> None:
        await _execute(
            db, update(orm.Job).where(orm.Job.id == world.running_job).values(status="succeeded", finished_at=orm.utcnow())
        )

    run_with_database(settings, finish_running)
    run_purge(settings, now=orm.utcnow() + 400 * DAY)  # every job is past the tenant's retention now
    assert not read(settings, select(orm.ProspectRow.prospect_id).where(orm.ProspectRow.tenant_id == world.tenant_id))
    assert [r.id for r in vectors.fetch(world.tenant_id, ["profile:ada", "profile:bob", "profile:zed"])] == ["profile:zed"]
    assert vectors.count("another-tenant") == 1, "another tenant's vectors are its own"


def test_the_tenant_retention_setting_wins_and_the_cli_purges_one_tenant(settings: Settings) -> None:
    strict = seed(settings, retention_days=3)  # the mixed (5 days) and stale (8 days) jobs are past it too
    lenient = seed(settings)
    env = {"CMO_HOME": str(settings.cmo_home), "DATABASE_URL": settings.database_url, "CMO_RETENTION_DAYS": "30"}
    runner = CliRunner()
    dry = runner.invoke(cli_app, ["purge", "--dry-run", "--tenant", strict.tenant_name], env=env)
    assert dry.exit_code == 0, dry.output
    assert "would delete: 0 expired prospect record(s), 3 job(s), 1 chat thread(s), 3 checkpoint thread(s)" in dry.output
    done = runner.invoke(cli_app, ["purge", "--tenant", strict.tenant_name], env=env)
    assert done.exit_code == 0 and "deleted: 0 expired prospect record(s), 3 job(s)" in done.output, done.output
    assert set(read(settings, select(orm.Job.id).where(orm.Job.tenant_id == strict.tenant_id))) == {
        strict.fresh_job,
        strict.running_job,
    }
    assert len(read(settings, select(orm.Job.id).where(orm.Job.tenant_id == lenient.tenant_id))) == 5, (
        "--tenant purges that tenant only"
    )
    actors = read(settings, select(AuditRecord.actor).where(AuditRecord.action == "retention.purge"))
    assert len(actors) == 1 and actors[0].startswith("cli:")
    unknown = runner.invoke(cli_app, ["purge", "--tenant", "no-such-tenant"], env=env)
    assert unknown.exit_code == 2 and "no tenant" in unknown.output


def test_a_worker_purges_periodically(settings: Settings) -> None:
    world = seed(settings)
    finished = update(orm.Job).where(orm.Job.id == world.running_job).values(status="failed", finished_at=orm.utcnow())
    run_with_database(settings, lambda db: _execute(db, finished))  # no job for the worker to take: it only purges
    config = ApiConfig(github_sandbox=open_sandbox, workers_inline=1, retention_purge_seconds=0.2)
    with TestClient(create_app(settings, config)):
        deadline = time.monotonic() + 30
        while read(settings, select(func.count()).select_from(orm.Job).where(orm.Job.id == world.old_job))[0]:
            assert time.monotonic() < deadline, "the worker did not purge"
            time.sleep(0.2)
    records = read(settings, select(AuditRecord.actor).where(AuditRecord.action == "retention.purge"))
    assert records and set(records) == {"system"}
