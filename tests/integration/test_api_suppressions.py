"""The suppression list over HTTP on both databases: add (idempotent, stronger reasons win), list
with cursors, lift (permanent objections and erasure tombstones refuse), CSV import (all or nothing,
every bad line named) and export, values stored only as blind index and ciphertext, tenant isolation,
audit records; and real sandbox jobs that never surface a suppressed login, email or domain in
their stored prospects, artifacts or webhooks, including someone suppressed while the job ran.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.core import orm
from api.core.config import ApiConfig
from api.core.database import Database, run_with_database
from api.core.migrate import ensure_embedded_schema, upgrade
from api.core.orm_audit import AuditRecord
from api.core.orm_privacy import Suppression
from api.services.suppressions import add_suppression, drop_suppressed_leads, is_suppressed, load_suppression_list
from api.services.webhooks import dispatch_for_event, drain_deliveries
from cli.main import app
from foundation.schemas import ComplianceReview, Prospect
from foundation.schemas.run import RunSummary
from foundation.settings import Settings
from privacy.key_providers import LocalKeyFileProvider, default_kek_file
from sandbox import open_sandbox
from storage.keyring import forget_keyrings
from storage.urls import SQLITE_FILE
from tests.support.jobs import download_artifacts, wait_succeeded
from tests.support.tenants import new_tenant
from tests.support.webhook_receiver import Receiver
from tools.suppression import SuppressionList

GOAL = "Find Python maintainers active in ML"
CSV = {"Content-Type": "text/csv"}
cli = CliRunner()


def with_keys(settings: Settings) -> Settings:
    """A migrated database with keys: Postgres needs the key-encryption key `cmo keys init` makes
    (SQLite makes its own)."""
    ensure_embedded_schema(settings)
    if settings.database_url and not default_kek_file(settings).exists():  # the session's CMO_KEK_FILE, if any
        LocalKeyFileProvider.create(default_kek_file(settings))
    return settings


@pytest.fixture(autouse=True)
def _fresh_keyrings() -> Iterator[None]:
    yield
    forget_keyrings()  # each test has its own key file: close the engines of its keyring


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = None if request.param == "sqlite" else request.getfixturevalue("migrated_postgres_url")
    return with_keys(Settings(cmo_home=tmp_path / "home", database_url=url))


def in_session(settings: Settings, work: Callable[[Any], Any]) -> Any:
    async def act(db: Database) -> Any:
        async with db.sessions() as session:
            result = await work(session)
            await session.commit()
            return result

    return run_with_database(settings, act)


def add(client: TestClient, headers: dict[str, str], kind: str, value: str, **extra: str) -> dict[str, Any]:
    response = client.post("/api/suppressions", json={"kind": kind, "value": value, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def listed(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every page of the list, following `next_cursor`."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.get("/api/suppressions", params=params | ({"cursor": cursor} if cursor else {}), headers=headers).json()
        items += page["items"]
        if (cursor := page["next_cursor"]) is None:
            return items


def test_add_list_and_lift(client: TestClient, settings: Settings) -> None:
    tenant_id, headers = new_tenant(settings)
    email = add(client, headers, "email", "  Ada@Example.COM ")
    assert email["id"].startswith("sup_") and email["value"] == "ada@example.com"
    assert (email["reason"], email["source"], email["permanent"]) == ("manual", "api", False)
    assert add(client, headers, "email", "ada@example.com") == email, "adding again is a no-op"
    objection = add(client, headers, "email", "ADA@example.com", reason="objection")
    assert (objection["id"], objection["reason"], objection["permanent"]) == (email["id"], "objection", True)
    assert add(client, headers, "email", "ada@example.com")["reason"] == "objection", "a weaker reason never wins"
    login = add(client, headers, "login", "OctoCat")
    domain = add(client, headers, "domain", "@BigCorp.io")
    github_id = add(client, headers, "github_id", "00583231")
    assert (login["value"], domain["value"], github_id["value"]) == ("octocat", "bigcorp.io", "583231")

    ids = [item["id"] for item in listed(client, headers, limit=2)]
    assert ids == [github_id["id"], domain["id"], login["id"], email["id"]], "newest first, each once across pages"
    assert [item["id"] for item in listed(client, headers, kind="login")] == [login["id"]]

    assert client.delete(f"/api/suppressions/{login['id']}", headers=headers).status_code == 204
    assert login["id"] not in [item["id"] for item in listed(client, headers)]
    gone = client.delete(f"/api/suppressions/{login['id']}", headers=headers)
    assert gone.status_code == 404 and gone.headers["content-type"] == "application/problem+json"
    refused = client.delete(f"/api/suppressions/{email['id']}", headers=headers)
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
    assert "permanent" in refused.json()["detail"] and "objection" in refused.json()["detail"]

    _, other = new_tenant(settings)
    assert listed(client, other) == []
    assert client.delete(f"/api/suppressions/{domain['id']}", headers=other).status_code == 404
    assert client.get("/api/suppressions", headers={"Authorization": "Bearer nope"}).status_code == 401

    actions = in_session(
        settings, lambda s: s.scalars(select(AuditRecord.action).where(AuditRecord.tenant_id == tenant_id))
    ).all()
    assert {"suppression.create", "suppression.list", "suppression.delete"} <= set(actions)


@pytest.mark.parametrize(
    ("kind", "value", "where"),
    [
        ("email", "not-an-email", "body.value"),
        ("email", "a@b", "body.value"),
        ("login", "bad login", "body.value"),
        ("login", "-starts-with-hyphen", "body.value"),
        ("github_id", "12a", "body.value"),
        ("domain", "localhost", "body.value"),
        ("phone", "5551234", "body.kind"),
    ],
)
def test_values_must_fit_their_kind(client: TestClient, settings: Settings, kind: str, value: str, where: str) -> None:
    _, headers = new_tenant(settings)
    response = client.post("/api/suppressions", json={"kind": kind, "value": value}, headers=headers)
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert [error["loc"] for error in response.json()["errors"]] == [where]
    erasure = client.post("/api/suppressions", json={"kind": "login", "value": "x", "reason": "erasure"}, headers=headers)
    assert erasure.status_code == 422, "erasures are recorded by the erasure service, not claimed by clients"


def test_only_blind_indexes_and_ciphertext_are_stored_and_tombstones_keep_nothing(client: TestClient, settings: Settings) -> None:
    tenant_id, headers = new_tenant(settings)
    secret_email = f"grace.{uuid.uuid4().hex[:8]}@navy.example"
    entry = add(client, headers, "email", secret_email)
    row = in_session(settings, lambda s: s.get(Suppression, entry["id"]))
    assert len(row.value_index) == 64 and secret_email not in row.value_index
    assert row.value_enc.startswith("enc1:") and secret_email not in row.value_enc
    if settings.database_url is None:
        assert secret_email.encode() not in (settings.home / SQLITE_FILE).read_bytes(), "no plaintext in the file"

    tombstone = in_session(
        settings, lambda s: add_suppression(s, tenant_id, "email", secret_email.upper(), reason="erasure", source="erasure")
    )
    assert tombstone.id == entry["id"] and tombstone.value_enc is None, "the erasure replaced the entry and its value"
    shown = listed(client, headers)
    assert [(item["id"], item["value"], item["reason"], item["permanent"]) for item in shown] == [
        (entry["id"], None, "erasure", True)
    ]
    assert client.delete(f"/api/suppressions/{entry['id']}", headers=headers).status_code == 409
    assert in_session(settings, lambda s: is_suppressed(s, tenant_id, email=secret_email)), "still in force"
    assert client.get("/api/suppressions/export", headers=headers).text == "kind,value\n", "a tombstone has nothing to export"


def test_csv_import_is_all_or_nothing_and_export_reads_back(client: TestClient, settings: Settings) -> None:
    tenant_id, headers = new_tenant(settings)
    good = "\ufeffkind,value\nlogin,octocat\n\nemail,Someone@Example.com\ndomain,@corp.io\ngithub_id,42\n"
    imported = client.post("/api/suppressions/import", content=good.encode(), headers=headers | CSV)
    assert imported.status_code == 200 and imported.json() == {"rows": 4, "created": 4}
    again = client.post("/api/suppressions/import", content=good.encode(), headers=headers | CSV)
    assert again.json() == {"rows": 4, "created": 0}, "already suppressed identifiers are not duplicated"
    assert {item["reason"] for item in listed(client, headers)} == {"import"}

    bad = "kind,value\nlogin,fine-user\nphone,555\nemail,nope\nlogin,a,b\n"
    refused = client.post("/api/suppressions/import", content=bad.encode(), headers=headers | CSV)
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert [error["line"] for error in refused.json()["errors"]] == [3, 4, 5]
    assert "line 3: unknown kind 'phone'" in refused.json()["detail"]
    assert "fine-user" not in {item["value"] for item in listed(client, headers)}, "nothing imported"
    header = client.post("/api/suppressions/import", content=b"login,value\n", headers=headers | CSV)
    assert header.status_code == 422 and header.json()["errors"][0]["line"] == 1
    wrong_type = client.post("/api/suppressions/import", content=good.encode(), headers=headers | {"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    not_utf8 = client.post(
        "/api/suppressions/import", content="kind,value\nlogin,caf\xe9\n".encode("latin-1"), headers=headers | CSV
    )
    assert not_utf8.status_code == 400

    exported = client.get("/api/suppressions/export", headers=headers)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"].startswith('attachment; filename="suppressions.csv"')
    assert sorted(exported.text.splitlines()[1:]) == [
        "domain,corp.io",
        "email,someone@example.com",
        "github_id,42",
        "login,octocat",
    ]
    _, other = new_tenant(settings)
    assert client.post("/api/suppressions/import", content=exported.content, headers=other | CSV).json()["created"] == 4
    actions = in_session(
        settings, lambda s: s.scalars(select(AuditRecord.action).where(AuditRecord.tenant_id == tenant_id))
    ).all()
    assert {"suppression.import", "suppression.export"} <= set(actions)


def test_export_is_neutralised_against_formula_injection_and_imports_back_exactly(client: TestClient, settings: Settings) -> None:
    """An address may start with `=`, `+` or `-`: the export prefixes a quote a spreadsheet reads as
    "text", and the import takes exactly that quote off (an address that starts with a quote keeps it)."""
    _, headers = new_tenant(settings)
    values = ["=1+1@evil.example", "+tag@corp.example", "-dash@corp.example", "'=quoted@corp.example", "plain@corp.example"]
    for value in values:
        add(client, headers, "email", value)
    exported = client.get("/api/suppressions/export", headers=headers).text
    assert sorted(exported.splitlines()[1:]) == [
        "email,''=quoted@corp.example",
        "email,'+tag@corp.example",
        "email,'-dash@corp.example",
        "email,'=1+1@evil.example",
        "email,plain@corp.example",
    ]
    other_id, other = new_tenant(settings)
    assert client.post("/api/suppressions/import", content=exported.encode(), headers=other | CSV).json()["created"] == 5
    assert sorted(item["value"] for item in listed(client, other)) == sorted(values)
    assert all(in_session(settings, lambda s, v=value: is_suppressed(s, other_id, email=v)) for value in values)


def test_lookups_match_like_the_file_list(settings: Settings) -> None:
    tenant_id, _ = new_tenant(settings)
    other_id, _ = new_tenant(settings)

    async def scenario(session: Any) -> tuple[SuppressionList, list[bool]]:
        for kind, value in [("login", "OctoCat"), ("email", "ada@example.com"), ("domain", "corp.io"), ("github_id", "583231")]:
            await add_suppression(session, tenant_id, kind, value, reason="manual", source="test")
        checks = [
            await is_suppressed(session, tenant_id, login="octocat"),
            await is_suppressed(session, tenant_id, email="ADA@example.com"),
            await is_suppressed(session, tenant_id, email="dev@eu.corp.io"),
            await is_suppressed(session, tenant_id, github_id=583231),
            await is_suppressed(session, tenant_id, login="hubot", github_id=1, email="dev@notcorp.io"),
            await is_suppressed(session, other_id, login="octocat"),
        ]
        return await load_suppression_list(session, tenant_id), checks

    suppression, checks = in_session(settings, scenario)
    assert checks == [True, True, True, True, False, False]
    assert len(suppression) == 4
    assert suppression.contains(login="OCTOCAT") and suppression.contains(email="x@corp.io")
    assert suppression.contains(github_id=583231) and not suppression.contains(login="hubot", email="a@b.io")
    merged = suppression.merged(SuppressionList.from_entries([("login", "hubot")]))
    assert merged.contains(login="hubot") and merged.contains(login="octocat") and len(merged) == 5


@pytest.fixture(params=["sqlite", "postgres"])
def cli_env(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The environment `cmo` reads, on each database (the autouse fixture already set CMO_HOME)."""
    if request.param == "postgres":
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("migrated_postgres_url"))
        monkeypatch.setenv("CMO_KEK_FILE", str(tmp_path / "kek.json"))
    return with_keys(Settings())


def test_the_cli_manages_the_same_list(cli_env: Settings, tmp_path: Path) -> None:
    tenant = f"cli-{uuid.uuid4().hex[:8]}"
    assert cli.invoke(app, ["apikey", "create", "--tenant", tenant]).exit_code == 0

    added = cli.invoke(app, ["suppress", "add", "email", "Ada@Example.com", "--tenant", tenant])
    assert added.exit_code == 0, added.output
    email_id = added.stdout.split(":")[0]
    objection = cli.invoke(app, ["suppress", "add", "login", "octocat", "--tenant", tenant, "--reason", "objection"])
    login_id = objection.stdout.split(":")[0]
    source = tmp_path / "in.csv"
    source.write_text("kind,value\ndomain,corp.io\ngithub_id,42\n", encoding="utf-8")
    assert "2 new" in cli.invoke(app, ["suppress", "import", str(source), "--tenant", tenant]).stdout

    rows = [line.split("\t") for line in cli.invoke(app, ["suppress", "list", "--tenant", tenant]).stdout.splitlines()[1:]]
    assert {(row[1], row[2], row[3]) for row in rows} == {
        ("email", "ada@example.com", "manual"), ("login", "octocat", "objection"),
        ("domain", "corp.io", "import"), ("github_id", "42", "import"),
    }  # fmt: skip
    exported = tmp_path / "out.csv"
    assert cli.invoke(app, ["suppress", "export", "--tenant", tenant, str(exported)]).exit_code == 0
    assert sorted(exported.read_text().splitlines()[1:]) == [
        "domain,corp.io",
        "email,ada@example.com",
        "github_id,42",
        "login,octocat",
    ]

    assert cli.invoke(app, ["suppress", "remove", email_id, "--tenant", tenant]).exit_code == 0
    for args, message in [
        (["suppress", "remove", login_id, "--tenant", tenant], "permanent"),
        (["suppress", "remove", email_id, "--tenant", tenant], "no suppression"),
        (["suppress", "add", "login", "two words", "--tenant", tenant], "not a GitHub login"),
        (["suppress", "list", "--tenant", "no-such-tenant"], "no tenant"),
    ]:
        failed = cli.invoke(app, args)
        assert failed.exit_code == 2 and message in failed.output and "Traceback" not in failed.output
    source.write_text("kind,value\nlogin,new-one\nphone,1\n", encoding="utf-8")
    bad = cli.invoke(app, ["suppress", "import", str(source), "--tenant", tenant])
    assert bad.exit_code == 2 and "line 3" in bad.output
    assert len(cli.invoke(app, ["suppress", "list", "--tenant", tenant]).stdout.splitlines()) == 4, "nothing imported"


# --- real jobs ------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def job_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A database of the test's own (its inline worker takes every queued job it finds)."""
    # 600 people: the ML goal then finds leads with and without a published email, in several domains
    common: dict[str, Any] = {"cmo_home": tmp_path / "home", "sandbox_users": 600, "cmo_webhook_allow_private": True}
    if request.param == "sqlite":
        return with_keys(Settings(**common))
    settings = Settings(database_url=request.getfixturevalue("private_postgres_url"), **common)
    upgrade(settings)
    return with_keys(settings)


def run_job(client: TestClient, headers: dict[str, str], webhook_url: str) -> tuple[str, dict[str, bytes]]:
    """A sandbox job through the API to the end: its id and its artifacts by name."""
    body = {"goal": GOAL, "max_prospects": 12, "webhook_url": webhook_url}
    job_id = client.post("/api/jobs", json=body, headers=headers).json()["id"]
    wait_succeeded(client, headers, job_id, timeout=120)
    return job_id, download_artifacts(client, headers, job_id)


def test_a_job_never_surfaces_anyone_suppressed(job_settings: Settings, receiver: Receiver) -> None:
    settings = job_settings
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=1))) as client:
        _, headers = new_tenant(settings)
        _, before = run_job(client, headers, receiver.url)
        leads = json.loads(before["leads_full.json"])
        with_email = [lead for lead in leads if lead["email"]]
        by_login = next(lead for lead in leads if not lead["email"])
        by_email, by_domain = with_email[0], with_email[-1]
        assert len({by_login["id"], by_email["id"], by_domain["id"]}) == 3, "the sandbox gives three distinct leads"
        domain = by_domain["email"].rpartition("@")[2]
        add(client, headers, "login", by_login["username"].upper())
        add(client, headers, "email", by_email["email"])
        add(client, headers, "domain", domain)
        sent_before = len(receiver.requests)
        job_id, after = run_job(client, headers, receiver.url)
        time.sleep(0.5)  # let the last webhook deliveries land
    rows = in_session(settings, lambda s: s.scalars(select(orm.ProspectRow.data).where(orm.ProspectRow.job_id == job_id))).all()
    # the first job's deliveries may still land after it succeeded: read the second job's only
    webhooks = b"".join(r["body"] for r in receiver.requests[sent_before:] if json.loads(r["body"])["job_id"] == job_id)
    assert webhooks, "the second job's webhooks arrived"
    assert json.loads(after["leads_full.json"]), "the job still found other people"
    for surface, text in [
        ("stored prospects", json.dumps(rows)),
        ("webhooks", webhooks.decode()),
        *((f"artifact {name}", content.decode()) for name, content in after.items()),
    ]:
        lowered = text.lower()
        assert f'"gh_{by_login["username"].lower()}"' not in lowered, f"suppressed login in {surface}"
        assert by_email["email"].lower() not in lowered, f"suppressed email in {surface}"
        assert f"@{domain}" not in lowered, f"email of a suppressed domain in {surface}"
    assert json.loads(after["summary.json"])["prospects_found"] == len(rows)


def test_someone_suppressed_while_the_job_ran_is_left_out_at_the_end(job_settings: Settings, receiver: Receiver) -> None:
    """The results a worker writes at the end, and the webhooks it sends, are checked against the
    list as it is then, not as it was when the job started."""
    settings = job_settings
    tenant_id, headers = new_tenant(settings)
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=0))) as client:
        job_id = client.post("/api/jobs", json={"goal": GOAL, "webhook_url": receiver.url}, headers=headers).json()["id"]
        receiver.wait_for(1)  # job.created
    ada, bob = (
        Prospect(
            id=f"gh_{login}", username=login, email=f"{login}@{login}-corp.io", compliance=ComplianceReview(verdict="approved")
        )
        for login in ("ada", "bob")
    )
    summary = RunSummary(
        duration_seconds=1.0, prospects_found=2, emails_contactable=2, artifacts=[], run_id=job_id, status="complete", goal=GOAL
    )

    async def objects_mid_job(db: Database) -> tuple[list[Prospect], RunSummary]:
        async with db.sessions() as session:
            await add_suppression(session, tenant_id, "domain", "bob-corp.io", reason="objection", source="test")
            await session.commit()
        for lead in (ada, bob):
            await dispatch_for_event(db, job_id, "prospect.enriched", {"prospect_id": lead.id, "email": lead.email})
        await drain_deliveries(db, timeout_seconds=10)
        return await drop_suppressed_leads(db, tenant_id, [ada, bob], summary)

    kept, corrected = run_with_database(settings, objects_mid_job)
    assert [lead.id for lead in kept] == ["gh_ada"]
    assert corrected == summary.model_copy(update={"prospects_found": 1, "emails_contactable": 1, "suppressed_after_run": 1})
    assert corrected.completed_event().model_dump() == {
        "duration_seconds": 1.0,
        "prospects_found": 1,
        "emails_contactable": 1,
        "conversion_rate": None,
        "artifacts": [],
    }, "campaign.completed counts only the leads kept"
    enriched = [json.loads(r["body"])["data"] for r in receiver.wait_for(2)[1:]]
    assert [d["prospect_id"] for d in enriched] == ["gh_ada"], "no webhook names the person who objected"
