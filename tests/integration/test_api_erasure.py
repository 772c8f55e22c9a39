"""Erasure and access over HTTP and the CLI, on both databases, after real sandbox jobs.

The erasure test greps every store for the erased person's logins, email and name: every table's
rows raw and decrypted through the ORM, the checkpoint tables and the saver's view of the job's
thread, the raw files under CMO_HOME (SQLite), every Redis key and value (Postgres runs with the
Redis ETag cache, on a Redis database of this module alone), and what the API serves (artifact
downloads, the event stream, the chat thread, summaries, analytics). Then the same goal runs again
and the person is not collected.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import Session, undefer
from starlette.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.core import orm, orm_audit, orm_destinations, orm_privacy, orm_sends, orm_web  # noqa: F401 - their tables join orm.Base's metadata
from api.core.config import ApiConfig
from api.core.migrate import upgrade
from api.core.orm_audit import AuditRecord
from cli.main import app as cli_app
from foundation.settings import Settings
from sandbox import open_sandbox
from storage.checkpoints import open_checkpointer
from storage.encrypted_types import bind_keyring
from storage.keyring import forget_keyrings, get_keyring, tenant_scope
from storage.urls import sqlalchemy_url
from tests.integration.test_api_suppressions import in_session, with_keys
from tests.support.jobs import download_artifacts, wait_succeeded
from tests.support.tenants import new_tenant
from tools.etag_cache import open_etag_cache
from tools.vectors.base import VectorRecord
from tools.vectors.factory import open_vector_store
from tools.vectors.offline import OfflineEmbedder

GOAL = "Find the top 12 Python maintainers active in ML"
SENDER = {"cmo_sender_postal_address": "1 Main St, Springfield", "cmo_unsubscribe_url": "https://acme-devtools.io/unsubscribe"}
REDIS_DBS = (13, 14, 15)  # this module's own Redis databases, one per xdist worker: every key in one is its test's


@pytest.fixture(autouse=True)
def _fresh_keyrings() -> Iterator[None]:
    yield
    forget_keyrings()


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    common: dict[str, Any] = {"cmo_home": tmp_path / "home", "sandbox_users": 400, **SENDER}
    if request.param == "sqlite":
        yield with_keys(Settings(**common))
        return
    worker = request.getfixturevalue("worker_id")  # "gw<n>" under xdist, "master" without it
    database = REDIS_DBS[int(worker.removeprefix("gw")) % len(REDIS_DBS) if worker.startswith("gw") else 0]
    redis_url = request.getfixturevalue("redis_url").rsplit("/", 1)[0] + f"/{database}"
    redis.Redis.from_url(redis_url).flushdb()
    settings = Settings(database_url=request.getfixturevalue("private_postgres_url"), redis_url=redis_url, **common)
    upgrade(settings)
    yield with_keys(settings)
    redis.Redis.from_url(redis_url).flushdb()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    config = ApiConfig(github_sandbox=open_sandbox, workers_inline=1, jobs_stream=f"cmo:test:jobs:{uuid.uuid4().hex}")
    with TestClient(create_app(settings, config)) as client:
        yield client


def finish(client: TestClient, headers: dict[str, str], job_id: str) -> dict[str, bytes]:
    """Wait for the job to succeed; its artifacts by name, as downloaded."""
    wait_succeeded(client, headers, job_id, timeout=180)
    return download_artifacts(client, headers, job_id)


class Traces:
    """Finds any of a person's identifiers in text or bytes (a login only as a whole login)."""

    def __init__(self, logins: list[str], email: str, name: str) -> None:
        terms = [rf"(?<![A-Za-z0-9-]){re.escape(login)}(?![A-Za-z0-9-])" for login in logins] + [
            re.escape(email),
            re.escape(name),
        ]
        self.text = re.compile("|".join(terms), re.IGNORECASE)
        self.bytes = re.compile("|".join(terms).encode(), re.IGNORECASE)
        self.found: list[str] = []

    def check(self, where: str, value: Any) -> None:
        if isinstance(value, memoryview):
            value = value.tobytes()
        hit = (
            self.bytes.search(value)
            if isinstance(value, bytes)
            else self.text.search(value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False))
        )
        if hit:
            self.found.append(f"{where}: {hit.group(0)!r}")


def scan_database(settings: Settings, traces: Traces) -> None:
    """Every table of the service database raw (Postgres: the checkpoint tables too), and every
    mapped table decrypted through the ORM."""
    engine = create_engine(sqlalchemy_url(settings, driver_async=False))
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                    for column, value in row._mapping.items():
                        traces.check(f"{table}.{column} (raw)", value)
        bind_keyring(get_keyring(settings))
        with Session(engine) as session:
            for mapper in orm.Base.registry.mappers:
                for obj in session.scalars(select(mapper.class_).options(undefer("*"))):
                    for attr in mapper.column_attrs:
                        traces.check(f"{mapper.local_table.name}.{attr.key} (decrypted)", getattr(obj, attr.key))
    finally:
        engine.dispose()


def scan_local_files(settings: Settings, traces: Traces) -> None:
    """The raw bytes of every file under CMO_HOME: SQLite databases, their WALs, the ETag cache."""
    for path in sorted(settings.home.rglob("*")):
        if path.is_file():
            traces.check(f"file {path.relative_to(settings.home)}", path.read_bytes())


def scan_redis(settings: Settings, traces: Traces) -> None:
    """Every key and value of the Redis database, raw, and the ETag cache's bodies decrypted."""
    if not settings.redis_url:
        return
    r = redis.Redis.from_url(settings.redis_url)
    cache = open_etag_cache(settings.home, settings.redis_url, get_keyring(settings))
    for key in r.scan_iter():
        kind = r.type(key).decode()
        values = {
            "hash": lambda k: r.hgetall(k),
            "string": lambda k: {b"v": r.get(k)},
            "stream": lambda k: {i: json.dumps({a.decode(): b.decode() for a, b in f.items()}).encode() for i, f in r.xrange(k)},
            "list": lambda k: dict(enumerate(r.lrange(k, 0, -1))),
            "set": lambda k: {m: m for m in r.smembers(k)},
            "zset": lambda k: {m: m for m, _ in r.zrange(k, 0, -1, withscores=True)},
        }[kind](key)
        traces.check(f"redis key {key!r}", key)
        for field, value in values.items():
            traces.check(f"redis {key!r} {field!r}", value or b"")
        if key.startswith(b"cmo:etag:") and (entry := cache.get(key.decode().removeprefix("cmo:etag:"))):
            traces.check(f"etag cache {key!r} (decrypted)", entry.body)


def scan_api(client: TestClient, headers: dict[str, str], job_ids: list[str], thread_id: str, traces: Traces) -> None:
    for job_id in job_ids:
        for item in client.get(f"/api/jobs/{job_id}/artifacts", headers=headers).json()["items"]:
            traces.check(f"download {item['name']}", client.get(item["download_url"], headers=headers).content)
        traces.check(f"events of {job_id}", client.get(f"/api/jobs/{job_id}/events", headers=headers).text)
        traces.check(f"summary of {job_id}", client.get(f"/api/jobs/{job_id}/summary", headers=headers).text)
    traces.check("chat thread", client.get(f"/api/chat/{thread_id}", headers=headers).text)
    traces.check("analytics", client.get("/api/analytics/prospects", headers=headers).text)


def thread_checkpoints(settings: Settings, tenant_id: str, job_id: str, traces: Traces) -> int:
    """How many checkpoints the job's thread has; their decrypted contents go through `traces`."""
    with open_checkpointer(settings, tenant_id) as saver:
        found = list(saver.list({"configurable": {"thread_id": job_id}}))
        for checkpoint in found:
            traces.check(
                "checkpoint (decrypted)", repr(checkpoint.checkpoint["channel_values"]) + repr(checkpoint.pending_writes)
            )
        return len(found)


def scan_everything(
    settings: Settings, client: TestClient, headers: dict[str, str], job_ids: list[str], thread_id: str, traces: Traces
) -> None:
    scan_database(settings, traces)
    scan_redis(settings, traces)
    scan_api(client, headers, job_ids, thread_id, traces)
    if not settings.database_url:
        scan_local_files(settings, traces)


def test_erasure_leaves_no_trace_in_any_store_and_the_person_is_not_collected_again(
    settings: Settings, client: TestClient
) -> None:
    tenant_id, headers = new_tenant(settings)
    started = client.post("/api/chat", json={"message": GOAL}, headers=headers).json()
    thread_id, job_id = started["thread_id"], started["job"]["id"]
    files = finish(client, headers, job_id)
    contactable = [row for row in files["leads_contactable.csv"].decode().splitlines()[1:] if row]
    leads = json.loads(files["leads_full.json"])
    approved = {row.split(",", 1)[0] for row in contactable}
    target = next(lead for lead in leads if lead["id"] in approved and lead["email"] and lead["name"])
    logins = [target["username"], *target["merged_logins"]]
    client.post(
        "/api/chat", json={"thread_id": thread_id, "message": f"why is {target['username']} ranked first?"}, headers=headers
    )
    engaged = client.post("/api/events", json={"job_id": job_id, "prospect_id": target["id"], "type": "replied"}, headers=headers)
    assert engaged.status_code == 201, engaged.text

    embedder = OfflineEmbedder()  # a profile vector of the person and one of another lead, as lookalikes store them
    vectors = open_vector_store(settings, embedder)
    other = next(lead["username"].lower() for lead in leads if lead["username"].lower() not in {x.lower() for x in logins})
    people = [login.lower() for login in logins] + [other]
    values = embedder.embed([f"profile of {person}" for person in people])
    vectors.upsert(
        tenant_id,
        [
            VectorRecord(id=f"profile:{p}", values=v, metadata={"kind": "profile", "person": p})
            for p, v in zip(people, values, strict=True)
        ],
    )

    before = Traces(logins, target["email"], target["name"])
    scan_everything(settings, client, headers, [job_id], thread_id, before)
    seen = " ".join(before.found)
    for store in (
        "prospects.data (decrypted)",
        "job_events.data (decrypted)",
        "artifacts.content (decrypted)",
        "chat_threads.messages",
        "download leads_full.json",
        "events of",
    ):
        assert store in seen, f"the scan must see the person in {store} before the erasure"
    assert "etag cache" in seen or "file cache/github_etags.sqlite" in seen or "etags.body" in seen
    assert thread_checkpoints(settings, tenant_id, job_id, before) > 0 and "checkpoint (decrypted)" in " ".join(before.found)

    assert client.delete(f"/api/prospects/{target['id']}", headers=headers).status_code == 204

    after = Traces(logins, target["email"], target["name"])
    scan_everything(settings, client, headers, [job_id], thread_id, after)
    assert after.found == [], "traces left after the erasure:\n" + "\n".join(after.found)
    assert thread_checkpoints(settings, tenant_id, job_id, after) == 0, "the finished job's LangGraph thread is deleted"
    assert [r.id for r in vectors.fetch(tenant_id, [f"profile:{p}" for p in people])] == [f"profile:{other}"]
    kept = client.get(f"/api/jobs/{job_id}/summary", headers=headers).json()["summary"]
    assert kept["prospects_found"] == len(leads) - 1, "the summary's counts no longer include them"
    erase_records = [
        r
        for r in in_session(settings, lambda s: s.scalars(select(AuditRecord).where(AuditRecord.tenant_id == tenant_id))).all()
        if r.action == "prospect.erase"
    ]
    assert len(erase_records) == 1 and erase_records[0].prospect_ids is None and erase_records[0].detail["jobs"] == [job_id]
    assert erase_records[0].detail["vectors"] >= len(logins), "their profiles and the vectors of the repositories they own"
    assert client.delete(f"/api/prospects/{target['id']}", headers=headers).status_code == 204, "erasing again is harmless"

    again = client.post("/api/jobs", json={"goal": GOAL}, headers=headers).json()["id"]
    rerun = finish(client, headers, again)
    collected = in_session(
        settings, lambda s: s.scalars(select(orm.ProspectRow.data).where(orm.ProspectRow.job_id == again))
    ).all()
    assert collected, "the second job found other people"
    rerun_traces = Traces(logins, target["email"], target["name"])
    rerun_traces.check("second job's prospects", collected)
    rerun_traces.check("second job's leads", rerun["leads_full.json"])
    rerun_traces.check("second job's CSV", rerun["leads_contactable.csv"])
    events = in_session(
        settings, lambda s: s.execute(select(orm.JobEvent.event, orm.JobEvent.data).where(orm.JobEvent.job_id == again))
    ).all()
    for event, data in events:
        if event in ("prospect.found", "prospect.enriched", "message.drafted", "compliance.reviewed"):
            rerun_traces.check(f"second job's {event}", data)
    assert rerun_traces.found == [], "collected again:\n" + "\n".join(rerun_traces.found)


def test_erasure_of_an_unknown_or_malformed_id_and_while_a_job_runs(settings: Settings) -> None:
    tenant_id, headers = new_tenant(settings)
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=0))) as client:
        missing = client.delete("/api/prospects/gh_nobody-here", headers=headers)
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        assert client.delete("/api/prospects/not-an-id", headers=headers).status_code == 422
        assert client.get("/api/prospects/gh_nobody-here/export", headers=headers).status_code == 404
        job_id = client.post("/api/jobs", json={"goal": GOAL}, headers=headers).json()["id"]

        async def running_with_a_lead(session: Any) -> None:
            job = await session.get(orm.Job, job_id)
            job.status = "running"
            with tenant_scope(tenant_id):
                session.add(
                    orm.ProspectRow(
                        job_id=job_id, prospect_id="gh_ada", tenant_id=tenant_id, data={"id": "gh_ada", "username": "ada"}
                    )
                )
                await session.flush()

        in_session(settings, running_with_a_lead)
        busy = client.delete("/api/prospects/gh_ada", headers=headers)
        assert busy.status_code == 409 and busy.headers["retry-after"] == "30", busy.text
        assert f"job {job_id}" in busy.json()["detail"] and "already suppressed" in busy.json()["detail"]
        status = client.get("/api/prospects/gh_ada/export", headers=headers).json()["suppression"]
        assert status["suppressed"] and [e["reason"] for e in status["entries"]] == ["erasure"], "the tombstone holds at once"
        other_tenant = new_tenant(settings)[1]
        assert client.get("/api/prospects/gh_ada/export", headers=other_tenant).status_code == 404, "tenant-scoped"


def test_export_returns_everything_held_with_provenance_and_the_cli_erases(settings: Settings, client: TestClient) -> None:
    tenant_id, headers = new_tenant(settings)
    job_id = client.post("/api/jobs", json={"goal": GOAL}, headers=headers).json()["id"]
    leads = json.loads(finish(client, headers, job_id)["leads_full.json"])
    target = next(lead for lead in leads if lead["email"] and lead["message"])
    client.post("/api/events", json={"job_id": job_id, "prospect_id": target["id"], "type": "opened"}, headers=headers)
    person = target["username"].lower()
    [values] = OfflineEmbedder().embed([f"profile of {person}"])
    vector = VectorRecord(id=f"profile:{person}", values=values, metadata={"kind": "profile", "person": person})
    open_vector_store(settings, OfflineEmbedder()).upsert(tenant_id, [vector])

    exported = client.get(f"/api/prospects/{target['id']}/export", headers=headers)
    assert exported.status_code == 200, exported.text
    document = exported.json()
    assert document["prospect_ids"] == [target["id"]] and target["email"].lower() in document["emails"]
    (record,) = document["records"]
    assert record["job_id"] == job_id and record["record"]["email"] == target["email"]
    assert record["lawful_basis"].startswith("GDPR Art. 6(1)(f) legitimate interest")
    assert record["outreach_basis"] == target["compliance"]["lawful_basis"]
    email_source = next(s for s in record["sources"] if s["field"] == "email")["source"]
    assert email_source in (f"GET /users/{target['username']}", f'POST /graphql user(login: "{target["username"]}")')
    assert record["expires_at"] > record["collected_at"]
    assert document["messages"] == [
        {"job_id": job_id, **{k: target["message"][k] for k in ("subject", "body", "variant", "written_by")}}
    ]
    assert [e["type"] for e in document["engagement_events"]] == ["opened"]
    assert {"prospect.enriched", "message.drafted", "compliance.reviewed"} <= {e["event"] for e in document["job_events"]}
    assert document["suppression"] == {"suppressed": False, "entries": []}
    assert {
        "store": "embedded",
        "where": OfflineEmbedder.name,
        "id": vector.id,
        "metadata": vector.metadata,
        "dimensions": 256,
    } in (document["vectors"])
    assert all(v["metadata"]["person"] == person for v in document["vectors"]), "theirs (profile, own repositories) only"
    second = client.get(f"/api/prospects/{target['id']}/export", headers=headers).json()
    assert len(second["audit_record_ids"]) == 1, "the first export's audit record is listed by the next"

    tenant_name = in_session(settings, lambda s: s.scalar(select(orm.Tenant.name).where(orm.Tenant.id == tenant_id)))
    runner = CliRunner()
    env = {"CMO_HOME": str(settings.cmo_home), "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}
    out = settings.cmo_home / "export.json"
    exported_cli = runner.invoke(cli_app, ["export", "--tenant", tenant_name, "--login", target["username"], str(out)], env=env)
    assert exported_cli.exit_code == 0, exported_cli.output
    assert json.loads(out.read_text())["records"][0]["record"] == record["record"]
    assert runner.invoke(cli_app, ["erase", "--tenant", tenant_name], env=env).exit_code == 2, "one identifier is required"
    erased = runner.invoke(cli_app, ["erase", "--tenant", tenant_name, "--email", target["email"].upper()], env=env)
    assert erased.exit_code == 0, erased.output
    assert "1 prospect record(s)" in erased.output
    gone = client.get(f"/api/prospects/{target['id']}/export", headers=headers).json()
    assert gone["records"] == [] and gone["messages"] == [] and gone["engagement_events"] == [] and gone["job_events"] == []
    assert gone["vectors"] == [] and f"{len(document['vectors'])} vector(s) deleted" in erased.output
    assert [(e["kind"], e["reason"]) for e in gone["suppression"]["entries"]] == [("login", "erasure")], (
        "only the tombstone of the login the id names is found: the others are blind indexes, unreadable by design"
    )
    assert len(gone["audit_record_ids"]) == 3, (
        "audit records of earlier reads keep the prospect id: the trail is append-only by law (GDPR Art. 17(3)(b))"
    )
    unknown = runner.invoke(cli_app, ["erase", "--tenant", "no-such-tenant", "--login", "ada"], env=env)
    assert unknown.exit_code == 2 and "no tenant" in unknown.output
