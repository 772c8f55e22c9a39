"""The audit trail over HTTP and the CLI, on both databases: reads of personal data leave records
with the caller and the ids (never an email or a name), only admin keys read the trail, the
database refuses to rewrite it, and `cmo audit verify` notices tampering done behind its back.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient
from typer.testing import CliRunner

from api.core import orm
from api.core.database import Database, run_with_database
from api.core.migrate import ensure_embedded_schema, upgrade
from api.core.orm_audit import AuditRecord
from api.services.artifacts import save_artifact
from api.services.audit import append_grouped, new_record, record_audit
from api.services.prospects import save_prospects
from api.services.tenants import IssuedKey, issue_api_key
from cli.main import app as cli
from foundation.schemas import ComplianceReview, Prospect
from foundation.settings import Settings
from storage.urls import sqlalchemy_url

GOAL = "Find Python maintainers active in ML"
EMAIL, NAME = "ada.lovelace@example.org", "Ada Lovelace"
runner = CliRunner()


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The shared migrated schema on Postgres (other tests' records mix in: assertions filter by tenant)."""
    url = None if request.param == "sqlite" else request.getfixturevalue("migrated_postgres_url")
    settings = Settings(cmo_home=tmp_path / "home", database_url=url)
    ensure_embedded_schema(settings)
    return settings


@pytest.fixture(params=["sqlite", "postgres"])
def own_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A database of this test alone, for chain-wide assertions and tampering."""
    url = None if request.param == "sqlite" else request.getfixturevalue("private_postgres_url")
    settings = Settings(cmo_home=tmp_path / "home", database_url=url)
    upgrade(settings)
    return settings


def issue(settings: Settings, tenant: str, role: str = "member") -> IssuedKey:
    return run_with_database(settings, lambda db: issue_api_key(db, tenant, role))  # type: ignore[arg-type]


def bearer(key: IssuedKey) -> dict[str, str]:
    return {"Authorization": f"Bearer {key.key}"}


def new_tenant() -> str:
    return f"audit-{uuid.uuid4().hex[:12]}"


@contextmanager
def raw(settings: Settings) -> Iterator[Connection]:
    """A plain synchronous connection as the database's owner: what a tamperer would use."""
    engine = create_engine(sqlalchemy_url(settings, driver_async=False))
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment that points `cmo` at the test's database."""
    return {"CMO_HOME": str(settings.home)} | ({"DATABASE_URL": settings.database_url} if settings.database_url else {})


def store_results(settings: Settings, job_id: str) -> None:
    """Play the worker: one prospect with an email and a name, and an artifact holding them."""
    prospect = Prospect(
        id="gh_ada", username="ada", name=NAME, email=EMAIL, score=0.9, compliance=ComplianceReview(verdict="approved")
    )

    async def act(db: Database) -> None:
        async with db.sessions() as session:
            job = await session.get_one(orm.Job, job_id)
            await save_prospects(session, job, [prospect])
            await save_artifact(
                session, job, "leads_contactable.csv", "text/csv", f"id,name,email\ngh_ada,{NAME},{EMAIL}\n".encode()
            )
            await session.commit()

    run_with_database(settings, act)


def tenant_records(settings: Settings, tenant_id: str) -> list[AuditRecord]:
    async def read(db: Database) -> list[AuditRecord]:
        async with db.sessions() as session:
            query = select(AuditRecord).where(AuditRecord.tenant_id == tenant_id).order_by(AuditRecord.seq)
            return list((await session.execute(query)).scalars())

    return run_with_database(settings, read)


def append(settings: Settings, tenant_id: str, count: int, **fields: Any) -> None:
    """`count` records, each in its own concurrent transaction (appends must not fork the chain)."""

    async def one(db: Database, n: int) -> None:
        async with db.sessions() as session:
            await record_audit(
                session, tenant_id=tenant_id, actor="cli:tester", action="prospect.export", **({"detail": {"n": n}} | fields)
            )
            await session.commit()

    async def act(db: Database) -> None:
        await asyncio.gather(*(one(db, n) for n in range(count)))

    run_with_database(settings, act)


def test_reads_of_personal_data_are_recorded_with_actor_ids_and_no_pii(client: TestClient, settings: Settings) -> None:
    tenant = new_tenant()
    member = issue(settings, tenant)
    headers = {**bearer(member), "User-Agent": "audit-test/1.0"}
    job_id = client.post("/api/jobs", json={"goal": GOAL}, headers=headers).json()["id"]
    store_results(settings, job_id)

    assert client.get(f"/api/jobs/{job_id}/summary", headers=headers).status_code == 200
    artifact_id = client.get(f"/api/jobs/{job_id}/artifacts", headers=headers).json()["items"][0]["id"]
    download = client.get(f"/api/artifacts/{artifact_id}", headers=headers)
    assert download.status_code == 200 and EMAIL in download.text
    assert client.delete(f"/api/jobs/{job_id}", headers=headers).status_code == 200  # a terminal event ends the stream
    events = client.get(f"/api/jobs/{job_id}/events", headers=headers)
    assert events.status_code == 200 and "job.cancelled" in events.text
    assert client.get("/api/artifacts/art_missing", headers=headers).status_code == 404
    assert client.get(f"/api/jobs/{job_id}", headers={"Authorization": "Bearer cmo_sk_wrong"}).status_code == 401

    records = tenant_records(settings, member.tenant_id)
    assert [(r.action, r.job_id, r.artifact_id, r.outcome) for r in records] == [
        ("job.create", job_id, None, 201),
        ("job.summary", job_id, None, 200),
        ("artifact.list", job_id, None, 200),
        ("artifact.download", None, artifact_id, 200),
        ("job.cancel", job_id, None, 200),
        ("events.stream", job_id, None, 200),
        ("artifact.download", None, "art_missing", 404),
    ], "one record per request, in order, with the final status; the 401 touched no tenant's data"
    assert {(r.actor, r.ip, r.user_agent) for r in records} == {(f"key:{member.key_id}", "testclient", "audit-test/1.0")}
    assert [r.seq for r in records] == sorted(r.seq for r in records) and records[0].at <= records[-1].at

    with raw(settings) as conn:
        dump = repr(conn.execute(text("SELECT * FROM audit_log")).all())
    assert EMAIL not in dump and NAME not in dump and "ada.lovelace" not in dump


def test_record_audit_refuses_an_email_in_its_ids_or_detail(settings: Settings) -> None:
    tenant_id = issue(settings, new_tenant()).tenant_id
    for fields in ({"prospect_ids": [EMAIL]}, {"detail": {"query": f"to:{EMAIL}"}}):
        with pytest.raises(ValueError, match="never email"):
            append(settings, tenant_id, 1, **fields)
    assert tenant_records(settings, tenant_id) == []


def test_only_admin_keys_read_the_trail_with_filters_and_pages(client: TestClient, settings: Settings) -> None:
    tenant = new_tenant()
    member, admin = issue(settings, tenant), issue(settings, tenant, "admin")
    outsider = issue(settings, new_tenant(), "admin")
    job_id = client.post("/api/jobs", json={"goal": GOAL}, headers=bearer(member)).json()["id"]
    client.get(f"/api/jobs/{job_id}/summary", headers=bearer(member))
    append(settings, member.tenant_id, 3, prospect_ids=["gh_ada", "gh_bob"], job_id=job_id)

    denied = client.get("/api/audit", headers=bearer(member))
    assert denied.status_code == 403 and denied.headers["content-type"] == "application/problem+json"
    assert "admin" in denied.json()["detail"]

    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/audit", params=params, headers=bearer(admin))
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        if (cursor := page.json()["next_cursor"]) is None:
            break
    assert [r["action"] for r in seen] == [
        "audit.read",
        "prospect.export",
        "prospect.export",
        "prospect.export",
        "job.summary",
        "job.create",
    ]
    assert seen[0]["outcome"] == 403 and seen[0]["actor"] == f"key:{member.key_id}", "the refused attempt is on record"
    assert [r["seq"] for r in seen] == sorted((r["seq"] for r in seen), reverse=True), "newest first, each once"

    def actions(**query: str) -> list[str]:
        return [r["action"] for r in client.get("/api/audit", params=query, headers=bearer(admin)).json()["items"]]

    assert actions(prospect_id="gh_bob") == ["prospect.export"] * 3
    assert actions(prospect_id="gh_nobody") == []
    assert actions(action="job.create") == ["job.create"]
    assert set(actions(job_id=job_id)) == {"prospect.export", "job.summary", "job.create"}
    assert actions(since="2999-01-01T00:00:00Z") == []
    assert client.get("/api/audit", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=bearer(admin)).status_code == 422
    assert "job.create" not in [r["action"] for r in client.get("/api/audit", headers=bearer(outsider)).json()["items"]]


def test_the_database_refuses_to_change_or_remove_records(settings: Settings) -> None:
    tenant_id = issue(settings, new_tenant()).tenant_id
    append(settings, tenant_id, 1)
    statements = ["UPDATE audit_log SET action = 'job.read' WHERE tenant_id = :t", "DELETE FROM audit_log WHERE tenant_id = :t"]
    if settings.database_url:
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with raw(settings) as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement), {"t": tenant_id})
            conn.commit()
    assert [r.action for r in tenant_records(settings, tenant_id)] == ["prospect.export"]


def test_verify_reports_intact_then_the_first_tampered_record(own_settings: Settings) -> None:
    env = cli_env(own_settings)
    alice, bob = issue(own_settings, "alice").tenant_id, issue(own_settings, "bob").tenant_id
    append(own_settings, alice, 4)
    append(own_settings, bob, 2)
    append(own_settings, alice, 2)

    intact = runner.invoke(cli, ["audit", "verify"], env=env)
    assert intact.exit_code == 0 and "8 records, chain intact" in intact.stdout, intact.output
    assert (
        "6 records of tenant alice, chain intact" in runner.invoke(cli, ["audit", "verify", "--tenant", "alice"], env=env).stdout
    )

    with raw(own_settings) as conn:
        tamper(conn, "UPDATE audit_log SET actor = 'cli:someone-else' WHERE seq = 5")
    broken = runner.invoke(cli, ["audit", "verify"], env=env)
    assert broken.exit_code == 1 and "broken at seq 5" in broken.output and "altered" in broken.output
    assert runner.invoke(cli, ["audit", "verify", "--tenant", "alice"], env=env).exit_code == 0, "bob's record is not alice's"
    assert runner.invoke(cli, ["audit", "verify", "--tenant", "bob"], env=env).exit_code == 1

    with raw(own_settings) as conn:
        tamper(conn, "DELETE FROM audit_log WHERE seq IN (5, 8)")
    gap = runner.invoke(cli, ["audit", "verify", "--tenant", "bob"], env=env)
    assert gap.exit_code == 1 and "broken at seq 6" in gap.output and "record 5 is missing" in gap.output
    assert runner.invoke(cli, ["audit", "verify", "--tenant", "alice"], env=env).exit_code == 1, "the chain's end went missing"


def tamper(conn: Connection, statement: str) -> None:
    """Change history the way only the owner can: switch the append-only triggers off first."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    else:
        conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
    conn.execute(text(statement))
    conn.commit()


def test_concurrent_appends_keep_one_unbroken_chain(own_settings: Settings) -> None:
    tenant_id = issue(own_settings, "busy").tenant_id
    append(own_settings, tenant_id, 25)
    assert [r.seq for r in tenant_records(own_settings, tenant_id)] == list(range(1, 26))
    result = runner.invoke(cli, ["audit", "verify"], env=cli_env(own_settings))
    assert result.exit_code == 0 and "25 records, chain intact" in result.stdout, result.output


def test_concurrent_requests_are_committed_in_batches_on_one_chain(own_settings: Settings) -> None:
    """What `audited` routes do: records of concurrent requests share a transaction (group commit)."""
    tenant_id = issue(own_settings, "crowd").tenant_id

    async def act(db: Database) -> None:
        entries = (
            new_record(tenant_id=tenant_id, actor="key:k", action="job.summary", job_id=None, prospect_ids=None,
                       artifact_id=None, detail={"n": n}, origin=None, outcome=200)
            for n in range(40)
        )  # fmt: skip
        await asyncio.gather(*(append_grouped(db, entry) for entry in entries))

    run_with_database(own_settings, act)
    records = tenant_records(own_settings, tenant_id)
    assert [r.seq for r in records] == list(range(1, 41)) and len({r.at for r in records}) < 40, "batched"
    result = runner.invoke(cli, ["audit", "verify"], env=cli_env(own_settings))
    assert result.exit_code == 0 and "40 records, chain intact" in result.stdout, result.output


def test_apikey_create_role_admin_reads_the_trail(client: TestClient, settings: Settings) -> None:
    tenant = new_tenant()
    keys = {}
    for role in ("admin", "member"):
        created = runner.invoke(cli, ["apikey", "create", "--tenant", tenant, "--role", role], env=cli_env(settings))
        assert created.exit_code == 0 and f"role: {role}" in created.stdout, created.output
        keys[role] = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
    assert client.get("/api/audit", headers=keys["admin"]).status_code == 200
    assert client.get("/api/audit", headers=keys["member"]).status_code == 403
    assert runner.invoke(cli, ["apikey", "create", "--tenant", tenant, "--role", "root"]).exit_code == 2


def test_a_refused_delete_is_answered_at_once_and_audited(client: TestClient, settings: Settings) -> None:
    """Issue 14: on SQLite, `DELETE /api/artifacts/<unknown>` held the file's write lock until the
    request ended, so its audit record (written on another connection) waited 10 s for it and was
    lost ("database is locked"), and every other writer stalled meanwhile."""
    tenant = new_tenant()
    member, admin = issue(settings, tenant), issue(settings, tenant, "admin")
    started = time.monotonic()
    assert client.delete("/api/artifacts/art_unknown", headers=bearer(member)).status_code == 404
    assert time.monotonic() - started < 5  # the busy timeout is 10 s: a waited-out lock fails this
    records = client.get("/api/audit", params={"action": "artifact.delete"}, headers=bearer(admin)).json()["items"]
    assert [(r["artifact_id"], r["outcome"]) for r in records] == [("art_unknown", 404)]
