"""One-click unsubscribe over HTTP on both databases, with real sandbox jobs: every draft carries its
recipient's signed link and the RFC 8058 headers; opening the link changes nothing; the one-click
POST suppresses the person (login, GitHub id, email) within the request, forbids contact on their
stored prospects, is audited and idempotent, and a job started afterwards never surfaces them; bad,
foreign or junk links are one indistinct 404, never a 5xx.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from starlette.testclient import TestClient

from api.app import create_app
from api.core import orm
from api.core.config import ApiConfig
from api.core.database import Database, run_with_database
from api.core.migrate import upgrade
from api.core.orm_audit import AuditRecord
from api.core.orm_privacy import Suppression
from api.services.prospects import save_prospects
from api.services.suppressions import is_suppressed
from foundation.schemas import Prospect
from foundation.settings import Settings
from privacy.key_providers import LocalKeyFileProvider, default_kek_file
from privacy.optout import Recipient, sign_token, unsubscribe_key
from sandbox import open_sandbox
from tests.support.jobs import wait_succeeded
from tests.support.tenants import new_tenant

GOAL = "Find Python maintainers active in ML"
PUBLIC_URL = "https://cmo.acme-devtools.io"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A database of the test's own (its inline worker takes every queued job it finds). SQLite runs
    with a generated signing secret, Postgres with the required configured one."""
    common: dict[str, Any] = {
        "cmo_home": tmp_path / "home",
        "cmo_public_url": PUBLIC_URL,
        "cmo_sender_postal_address": "1 Main St, Springfield",
        "cmo_retention_days": 30,
    }
    if request.param == "sqlite":
        return Settings(**common)
    url = request.getfixturevalue("private_postgres_url")
    settings = Settings(database_url=url, cmo_unsubscribe_secret=SecretStr(uuid.uuid4().hex), **common)
    upgrade(settings)
    if not default_kek_file(settings).exists():  # the session's CMO_KEK_FILE, if any
        LocalKeyFileProvider.create(default_kek_file(settings))  # `cmo keys init`
    return settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The API with one inline worker running the jobs."""
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=1))) as client:
        yield client


@pytest.fixture
def quiet(settings: Settings) -> Iterator[TestClient]:
    """The API without workers: the test writes the results a worker would."""
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=0))) as client:
        yield client


def run_job(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """A sandbox job through the API, to the end; its leads_full.json."""
    return run_job_with_id(client, headers)[1]


def run_job_with_id(client: TestClient, headers: dict[str, str]) -> tuple[str, list[dict[str, Any]]]:
    """A sandbox job through the API, to the end; its id and leads_full.json."""
    job_id = client.post("/api/jobs", json={"goal": GOAL, "max_prospects": 5}, headers=headers).json()["id"]
    wait_succeeded(client, headers, job_id, timeout=90)
    items = client.get(f"/api/jobs/{job_id}/artifacts", headers=headers).json()["items"]
    full = next(item for item in items if item["name"] == "leads_full.json")
    return job_id, json.loads(client.get(full["download_url"], headers=headers).content)


def query(settings: Settings, read: Callable[[Any], Any]) -> Any:
    async def act(db: Database) -> Any:
        async with db.sessions() as session:
            return await read(session)

    return run_with_database(settings, act)


def suppressed(settings: Settings, tenant_id: str, **who: Any) -> bool:
    return query(settings, lambda session: is_suppressed(session, tenant_id, **who))


def suppression_count(settings: Settings, tenant_id: str) -> int:
    return query(
        settings, lambda s: s.scalar(select(func.count()).select_from(Suppression).where(Suppression.tenant_id == tenant_id))
    )


def stored_privacy(settings: Settings, tenant_id: str, prospect_id: str) -> list[dict[str, Any]]:
    rows = select(orm.ProspectRow.data).where(orm.ProspectRow.tenant_id == tenant_id, orm.ProspectRow.prospect_id == prospect_id)
    return [data["privacy_settings"] for data in query(settings, lambda s: s.scalars(rows)).all()]


def objections(settings: Settings, tenant_id: str) -> list[AuditRecord]:
    records = select(AuditRecord).where(AuditRecord.tenant_id == tenant_id, AuditRecord.action == "prospect.objection")
    return list(query(settings, lambda s: s.scalars(records)).all())


def link_of(lead: dict[str, Any]) -> str:
    return lead["message"]["headers"]["List-Unsubscribe"].strip("<>").removeprefix(PUBLIC_URL)


def test_one_click_unsubscribe_suppresses_at_once_and_for_every_later_job(client: TestClient, settings: Settings) -> None:
    tenant_id, headers = new_tenant(settings)
    leads = run_job(client, headers)
    links = [link_of(lead) for lead in leads]
    assert len(set(links)) == len(leads) == 5, "one link per recipient"
    for lead, link in zip(leads, links, strict=True):
        assert lead["message"]["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert f"{PUBLIC_URL}{link}" in lead["message"]["body"]
        assert lead["privacy_settings"]["data_retention_days"] == 30, "CMO_RETENTION_DAYS is carried on every lead"
    target = next(lead for lead in leads if lead["email"])
    who = {"login": target["username"], "github_id": target["github_id"], "email": target["email"]}

    page = client.get(links[leads.index(target)])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<form method="post"' in page.text and page.headers["cache-control"] == "no-store"
    assert not any(suppressed(settings, tenant_id, **{key: value}) for key, value in who.items()), "GET changes nothing"
    assert stored_privacy(settings, tenant_id, target["id"]) == [target["privacy_settings"]]

    done = client.post(links[leads.index(target)], data=ONE_CLICK, follow_redirects=False)
    assert done.status_code == 200 and "unsubscribed" in done.text
    for key, value in who.items():
        assert suppressed(settings, tenant_id, **{key: value}), f"{key} suppressed within the request"
    assert [p["contact_allowed"] for p in stored_privacy(settings, tenant_id, target["id"])] == [False]
    count = suppression_count(settings, tenant_id)
    assert client.post(links[leads.index(target)], data=ONE_CLICK).status_code == 200, "repeating it is harmless"
    # login, GitHub id, email, and every second account merged into the lead
    assert suppression_count(settings, tenant_id) == count == 3 + len(target["merged_logins"])
    records = objections(settings, tenant_id)
    assert [(r.actor, r.prospect_ids) for r in records] == [("public", [target["id"]])] * 2
    assert target["email"] not in json.dumps([r.detail for r in records])

    later = run_job(client, headers)
    assert target["id"] not in {lead["id"] for lead in later}, "a job started after the objection never surfaces them"


def test_an_unsubscribed_engagement_event_suppresses_like_the_link(client: TestClient, settings: Settings) -> None:
    """Issue 13's bug: `POST /api/events` stored `unsubscribed` without suppressing, so the next run
    approved the person again."""
    tenant_id, headers = new_tenant(settings)
    job_id, leads = run_job_with_id(client, headers)
    target = next(lead for lead in leads if lead["email"] and lead["compliance"]["verdict"] == "approved")
    event = {"job_id": job_id, "prospect_id": target["id"], "type": "unsubscribed"}
    assert client.post("/api/events", json=event, headers=headers).status_code == 201

    who = {"login": target["username"], "github_id": target["github_id"], "email": target["email"]}
    for key, value in who.items():
        assert suppressed(settings, tenant_id, **{key: value}), f"{key} suppressed by the event"
    rows = select(Suppression.reason, Suppression.source).where(Suppression.tenant_id == tenant_id)
    assert set(query(settings, lambda s: s.execute(rows)).all()) == {("unsubscribe", "engagement_event")}
    assert [p["contact_allowed"] for p in stored_privacy(settings, tenant_id, target["id"])] == [False]
    assert client.post("/api/events", json=event, headers=headers).status_code == 201, "repeating it is harmless"
    assert suppression_count(settings, tenant_id) == 3 + len(target["merged_logins"])
    opened = {"job_id": job_id, "prospect_id": next(lead["id"] for lead in leads if lead is not target), "type": "opened"}
    assert client.post("/api/events", json=opened, headers=headers).status_code == 201
    assert suppression_count(settings, tenant_id) == 3 + len(target["merged_logins"]), "other events suppress no one"

    later = run_job(client, headers)
    assert target["id"] not in {lead["id"] for lead in later}, "the next job neither surfaces nor approves them"


def test_bad_links_are_one_indistinct_404(quiet: TestClient, settings: Settings) -> None:
    tenant_id, _ = new_tenant(settings)
    key = unsubscribe_key(settings)
    good = sign_token(key, Recipient(tenant_id=tenant_id, prospect_id="gh_ada", github_id=1))
    payload, mac = good.split(".")
    bad = [
        f"{payload}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",  # tampered
        sign_token(b"another deployment's key, 32 by", Recipient(tenant_id=tenant_id, prospect_id="gh_ada")),
        sign_token(key, Recipient(tenant_id="ten_gone", prospect_id="gh_ada")),  # a tenant that does not exist
        "x" * 600,
        "%F0%9F%92%A5.x",
        "a..b",
    ]
    for token in bad:
        for method in ("GET", "POST"):
            answer = quiet.request(method, f"/unsubscribe/{token}", data=ONE_CLICK)
            assert answer.status_code == 404, (method, token[:40], answer.text)
            problem = answer.json()
            assert answer.headers["content-type"] == "application/problem+json"
            assert (problem["type"], problem["detail"]) == (
                "urn:cmo:problem:unknown-unsubscribe-link",
                "this unsubscribe link is not valid",
            )
    nul = quiet.post(f"/unsubscribe/{payload}.%00", data=ONE_CLICK)  # refused before routing, like any NUL path
    assert nul.status_code == 404 and nul.headers["content-type"] == "application/problem+json"
    assert suppression_count(settings, tenant_id) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"data": ONE_CLICK},
        {"files": {"List-Unsubscribe": (None, "One-Click")}},  # multipart/form-data, as some mail clients send it
        {"json": {"anything": True}},
        {},
    ],
)
def test_any_post_of_a_valid_link_unsubscribes_only_in_its_tenant(
    quiet: TestClient, settings: Settings, body: dict[str, Any]
) -> None:
    (mine, headers), (other, _) = new_tenant(settings), new_tenant(settings)
    job_id = quiet.post("/api/jobs", json={"goal": GOAL}, headers=headers).json()["id"]
    ada = Prospect(id="gh_ada", username="ada", github_id=42, email="ada@lovelace.dev", merged_logins=["ada-work"])

    async def store(db: Database) -> None:
        async with db.sessions() as session:
            await save_prospects(session, await session.get_one(orm.Job, job_id), [ada])
            await session.commit()

    run_with_database(settings, store)
    token = sign_token(unsubscribe_key(settings), Recipient(tenant_id=mine, prospect_id="gh_ada", github_id=42))
    assert quiet.post(f"/unsubscribe/{token}", **body).status_code == 200
    for who in ({"login": "ada"}, {"login": "ada-work"}, {"github_id": 42}, {"email": "ada@lovelace.dev"}):
        assert suppressed(settings, mine, **who) and not suppressed(settings, other, **who)


def test_an_oversized_body_is_refused_before_anything_happens(quiet: TestClient, settings: Settings) -> None:
    tenant_id, _ = new_tenant(settings)
    token = sign_token(unsubscribe_key(settings), Recipient(tenant_id=tenant_id, prospect_id="gh_ada"))
    answer = quiet.post(f"/unsubscribe/{token}", content=b"x" * (300 * 1024), headers={"Content-Type": "text/plain"})
    assert answer.status_code == 413
    assert suppression_count(settings, tenant_id) == 0
