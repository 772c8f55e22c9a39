"""Encryption at rest after a real job (issue 5 §1): a sandbox job runs through the API on SQLite, and
on Postgres with Redis (queue and ETag cache); then every place the service keeps data is read raw —
the SQLite files under CMO_HOME, every table of the test's Postgres schema (LangGraph's checkpoint
tables included), the Redis keys the job wrote, and the jobs' scratch directory — and none holds an
email or a name of a prospect the job found. Also: migration 0008 on rows written before it. Each
checkpoint store on its own (bare string channels included): test_checkpoint_backends.py.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import create_engine, insert, select, text
from starlette.testclient import TestClient

from api.app import create_app
from api.core import orm
from api.core.config import ApiConfig
from api.core.migrate import downgrade, upgrade
from foundation.settings import Settings
from sandbox import open_sandbox
from storage.encrypted_types import bind_keyring
from storage.keyring import get_keyring, tenant_scope
from storage.urls import postgres_conninfo, sqlalchemy_url
from tests.integration.test_api_jobs import auth
from tests.support.jobs import wait_succeeded

GOAL = "Find Python maintainers active in ML"
SENDER = {"cmo_sender_postal_address": "1 Main St, Springfield", "cmo_unsubscribe_url": "https://acme-devtools.io/unsubscribe"}
EMAIL, NAME = "ada.lovelace@example.org", "Ada Lovelace"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The embedded mode, or a Postgres schema of this test alone with Redis (queue, ETag cache)."""
    if request.param == "sqlite":
        return Settings(cmo_home=tmp_path / "home", **SENDER)
    url, redis_url = request.getfixturevalue("private_postgres_url"), request.getfixturevalue("redis_url")
    settings = Settings(cmo_home=tmp_path / "home", database_url=url, redis_url=redis_url, **SENDER)
    upgrade(settings)
    return settings


def redis_snapshot(url: str) -> dict[bytes, bytes]:
    """Every key with its whole value, read by type (`DUMP` may compress, which would hide text)."""
    client = redis.Redis.from_url(url)
    readers = {
        b"string": lambda key: client.get(key) or b"",
        b"hash": lambda key: b"".join(k + v for k, v in client.hgetall(key).items()),
        b"list": lambda key: b"".join(client.lrange(key, 0, -1)),
        b"set": lambda key: b"".join(client.smembers(key)),
        b"zset": lambda key: b"".join(client.zrange(key, 0, -1)),
        b"stream": lambda key: b"".join(k + v for _, fields in client.xrange(key) for k, v in fields.items()),
    }
    snapshot = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        snapshot[key] = key + readers.get(kind, lambda _: b"")(key)
    return snapshot


def files_under(*roots: Path) -> bytes:
    return b"".join(path.read_bytes() for root in roots if root.exists() for path in sorted(root.rglob("*")) if path.is_file())


def postgres_tables(database_url: str) -> tuple[set[str], bytes]:
    """The names and every value of every table of the schema, bytea as its bytes."""
    chunks: list[bytes] = []
    with psycopg.connect(postgres_conninfo(database_url)) as conn:
        tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
        for table in sorted(tables):
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    raw = bytes(value) if isinstance(value, bytes | memoryview) else None
                    chunks.append(raw if raw is not None else json.dumps(value, default=str, ensure_ascii=False).encode())
    return tables, b"\n".join(chunks)


def run_to_the_end(client: TestClient, headers: dict[str, str]) -> str:
    job_id = client.post("/api/jobs", json={"goal": GOAL, "max_prospects": 15}, headers=headers).json()["id"]
    wait_succeeded(client, headers, job_id, timeout=120)
    return job_id


def test_a_full_job_leaves_no_email_or_name_in_plaintext_at_rest(settings: Settings, request: pytest.FixtureRequest) -> None:
    config = ApiConfig(
        github_sandbox=open_sandbox,
        workers_inline=1,
        **({"jobs_stream": request.getfixturevalue("stream")} if settings.redis_url else {}),
    )
    before = redis_snapshot(settings.redis_url) if settings.redis_url else {}
    with TestClient(create_app(settings, config)) as client:
        headers = auth(settings)
        job_id = run_to_the_end(client, headers)
        listing = client.get(f"/api/jobs/{job_id}/artifacts", headers=headers).json()["items"]
        urls = {item["name"]: item["download_url"] for item in listing}
        leads = json.loads(client.get(urls["leads_full.json"], headers=headers).content)
        history = client.get(f"/api/jobs/{job_id}/events", headers=headers).text
        chat = client.post("/api/chat", json={"message": "who is the top lead?"}, headers=headers)
        assert chat.status_code == 200, chat.text
    emails = {lead["email"] for lead in leads if lead["email"]}
    names = {lead["name"] for lead in leads if lead["name"]}
    assert len(leads) == 15 and emails and names, "the job found people with emails and names"
    assert any(email in history for email in emails), "the API answers with the decrypted events"

    at_rest = {"CMO_HOME": files_under(settings.home), "scratch": files_under(Path(tempfile.gettempdir()) / "cmo-jobs" / job_id)}
    if settings.database_url:
        tables, at_rest["postgres"] = postgres_tables(settings.database_url)
        assert {"checkpoints", "checkpoint_blobs", "checkpoint_writes", "job_events", "prospects", "artifacts"} <= tables
        after = redis_snapshot(settings.redis_url)  # type: ignore[arg-type]
        written = {key: value for key, value in after.items() if before.get(key) != value}
        assert any(key.startswith(b"cmo:etag:") for key in written), "the job used the Redis ETag cache"
        at_rest["redis"] = b"\n".join(written.values())
    else:
        assert {"service.sqlite", "checkpoints.sqlite", "github_etags.sqlite"} <= {p.name for p in settings.home.rglob("*")}
    assert job_id.encode() in at_rest["postgres" if settings.database_url else "CMO_HOME"], "the scan reads the job's rows"
    assert b"enc1:" in at_rest["postgres" if settings.database_url else "CMO_HOME"]
    leaks = {
        (store, needle)
        for store, raw in at_rest.items()
        for needle in emails | names
        if needle.encode() in raw or json.dumps(needle)[1:-1].encode() in raw  # raw, or as escaped in JSON
    }
    assert not leaks, f"plaintext personal data at rest: {sorted(leaks)}"


def test_rows_written_before_migration_0008_stay_readable(settings: Settings) -> None:
    """0008 turns the JSON columns into text for tokens and moves event dedupe keys to their column;
    old plaintext rows read back unchanged, new writes are sealed, and down/up keeps tokens."""
    if settings.database_url:
        downgrade(settings, "0007")
    else:
        upgrade(settings, "0007")
    engine = create_engine(sqlalchemy_url(settings, driver_async=False))
    profile = {"name": NAME, "email": EMAIL}
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO tenants (id, name, created_at) VALUES ('ten_old', 'old', CURRENT_TIMESTAMP)")
            conn.exec_driver_sql(
                "INSERT INTO jobs (id, tenant_id, status, goal, metadata, counts, created_at, cancel_requested, attempts) "
                "VALUES ('cmo_old', 'ten_old', 'succeeded', 'g', '{}', '{}', CURRENT_TIMESTAMP, false, 1)"
            )
            old_event = {"login": "ada", "_dedupe_key": "research:gh_ada"}
            conn.execute(
                text(
                    "INSERT INTO job_events (job_id, seq, event, data, created_at) VALUES ('cmo_old', 1, 'prospect.found', :e, :at)"
                ),
                {"e": json.dumps(old_event), "at": orm.utcnow()},
            )
            conn.execute(
                text(
                    "INSERT INTO prospects (job_id, prospect_id, tenant_id, data, score) VALUES ('cmo_old', 'gh_ada', 'ten_old', :p, 0)"
                ),
                {"p": json.dumps(profile)},
            )
        upgrade(settings)
        bind_keyring(get_keyring(settings))
        with engine.begin() as conn:
            event = conn.execute(select(orm.JobEvent.data, orm.JobEvent.dedupe_key)).one()
            assert tuple(event) == ({"login": "ada"}, "research:gh_ada")
            assert conn.execute(select(orm.ProspectRow.data)).scalar_one() == profile, "plaintext rows read as they are"
            with tenant_scope("ten_old"):
                conn.execute(
                    insert(orm.ProspectRow).values(job_id="cmo_old", prospect_id="gh_bob", tenant_id="ten_old", data=profile)
                )
        downgrade(settings, "0007")
        upgrade(settings)
        with engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT data FROM prospects WHERE prospect_id = 'gh_bob'").scalar_one()
            assert stored.startswith("enc1:") and EMAIL not in stored
            bob = select(orm.ProspectRow.data).where(orm.ProspectRow.prospect_id == "gh_bob")
            assert conn.execute(bob).scalar_one() == profile, "a token survives a downgrade and an upgrade"
    finally:
        engine.dispose()
