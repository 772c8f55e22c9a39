"""The service's destinations on SQLite and Postgres: CRUD with a sealed token, a connection test,
`POST /api/jobs/{id}/sync` into the HubSpot contract stub (suppressed people never sent, a re-sync
without duplicates, pulled changes becoming conversions and suppressions), `sync.completed` events,
erasure reaching the destination, and engagement forwarded to an analytics destination."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from starlette.testclient import TestClient

from api.core import orm
from api.core.orm_destinations import DestinationDelivery
from foundation.settings import Settings
from tests.integration.test_api_suppressions import in_session, with_keys
from tests.support.hubspot_stub import HubSpotStub
from tests.support.jobs import run_here
from tests.support.tenants import new_tenant
from tools.destinations import registry
from tools.destinations.base import AnalyticsEvent, ForgetResult, RecordResult
from tools.destinations.mapping import FieldMapping

GOAL = "Find the top 12 Python maintainers active in ML"
SENDER = {"cmo_sender_postal_address": "1 Main St, Springfield", "cmo_unsubscribe_url": "https://acme-devtools.io/unsubscribe"}


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = None if request.param == "sqlite" else request.getfixturevalue("migrated_postgres_url")
    return with_keys(
        Settings(cmo_home=tmp_path / "home", database_url=url, sandbox_users=400, cmo_webhook_allow_private=True, **SENDER)
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    from api.app import create_app
    from api.core.config import ApiConfig
    from sandbox import open_sandbox

    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=0))) as client:
        yield client


@pytest.fixture
def hubspot() -> Iterator[HubSpotStub]:
    with HubSpotStub() as stub:
        yield stub


class _Analytics:
    """A stand-in analytics connector registered for the test: records what `track` receives."""

    kind = "analytics"
    received: list[AnalyticsEvent] = []  # noqa: RUF012 - shared with the instances the service builds

    def __init__(self, config: Any = None) -> None:
        self.name = "memory"

    def __call__(self, config: Any) -> _Analytics:
        return _Analytics(config)

    def default_mapping(self) -> FieldMapping:
        return FieldMapping()

    forgotten: list[str] = []  # noqa: RUF012 - shared with the instances the service builds

    def track(self, events: list[AnalyticsEvent]) -> list[RecordResult]:
        _Analytics.received.extend(events)
        return [RecordResult(prospect_id=e.user_id, outcome="created") for e in events]

    def forget(self, *, email: str | None, github_url: str | None, prospect_id: str) -> ForgetResult:
        _Analytics.forgotten.append(prospect_id)
        return ForgetResult(destination=self.name, outcome="deleted", remote_ids=[prospect_id])


def _events(settings: Settings, job_id: str, name: str) -> list[dict[str, Any]]:
    async def read(session: Any) -> list[dict[str, Any]]:
        rows = (
            await session.execute(select(orm.JobEvent).where(orm.JobEvent.job_id == job_id, orm.JobEvent.event == name))
        ).scalars()
        return [row.data for row in rows]

    return in_session(settings, read)


def _wait_event(settings: Settings, job_id: str, name: str, count: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while len(found := _events(settings, job_id, name)) < count:
        failed = _events(settings, job_id, "sync.failed")
        assert not failed, failed
        assert time.monotonic() < deadline, f"no {name} for {job_id}"
        time.sleep(0.2)
    return found[count - 1]


def _finished_job(client: TestClient, settings: Settings, headers: dict[str, str]) -> tuple[str, list[dict[str, Any]]]:
    job_id = client.post("/api/jobs", json={"goal": GOAL}, headers=headers).json()["id"]
    run_here(settings, job_id)
    leads = client.get(f"/api/jobs/{job_id}/leads", headers=headers, params={"limit": 100}).json()["items"]
    return job_id, leads


def test_destinations_crud_seals_the_token_and_refuses_what_cannot_work(
    client: TestClient, settings: Settings, hubspot: HubSpotStub
) -> None:
    _, admin = new_tenant(settings, role="admin")
    _, member = new_tenant(settings)
    body = {"name": "crm", "platform": "hubspot", "base_url": hubspot.url, "token": "test-token"}
    assert client.post("/api/destinations", json=body, headers=member).status_code == 403
    created = client.post("/api/destinations", json=body, headers=admin)
    assert created.status_code == 201, created.text
    dest = created.json()
    assert dest["has_token"] and dest["config"]["token"] == "" and dest["kind"] == "crm"
    assert client.post("/api/destinations", json=body, headers=admin).status_code == 409
    assert client.post("/api/destinations", json=body | {"name": "x", "token": "env:HOME"}, headers=admin).status_code == 422
    assert client.post("/api/destinations", json=body | {"name": "y", "platform": "nope"}, headers=admin).status_code == 422
    # options: no server environment read, no secret sent to a private address, no secret shown back
    for options in ({"deletion_token": "env:HOME"}, {"deletion_base_url": "file:///etc/passwd", "deletion_token": "t"}):
        refused = client.post("/api/destinations", json=body | {"name": "z", "options": options}, headers=admin)
        assert refused.status_code == 422 and "options" in refused.text, refused.text
    secret = client.post("/api/destinations", json=body | {"name": "s", "options": {"pseudonym_key": "k" * 32}}, headers=admin)
    assert secret.status_code == 201 and secret.json()["config"]["options"] == {"pseudonym_key": ""}
    kept = client.put(
        f"/api/destinations/{secret.json()['id']}", json=body | {"name": "s", **secret.json()["config"]}, headers=admin
    )
    assert kept.status_code == 200, kept.text
    stored = in_session(
        settings, lambda s: s.execute(text("SELECT id FROM destinations WHERE id = :i"), {"i": secret.json()["id"]})
    )
    assert stored.scalar_one()
    assert client.delete(f"/api/destinations/{secret.json()['id']}", headers=admin).status_code == 204
    assert client.post(f"/api/destinations/{dest['id']}/test", headers=admin).json()["ok"] is True
    renamed = client.put(f"/api/destinations/{dest['id']}", json=body | {"name": "crm2", "token": ""}, headers=admin).json()
    assert renamed["name"] == "crm2" and renamed["has_token"]
    assert client.post(f"/api/destinations/{dest['id']}/test", headers=admin).json()["ok"] is True  # the kept token works
    stored = in_session(settings, lambda s: s.execute(text("SELECT config FROM destinations WHERE id = :i"), {"i": dest["id"]}))
    assert "test-token" not in str(stored.scalar_one())  # sealed at rest
    assert [d["id"] for d in client.get("/api/destinations", headers=admin).json()["items"]] == [dest["id"]]
    assert client.delete(f"/api/destinations/{dest['id']}", headers=admin).status_code == 204


def test_sync_pull_and_erasure_through_the_service(
    client: TestClient, settings: Settings, hubspot: HubSpotStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_id, headers = new_tenant(settings, role="admin")
    job_id, leads = _finished_job(client, settings, headers)
    approved = [lead for lead in leads if lead["verdict"] == "approved"]
    assert len(approved) >= 3, [lead["verdict"] for lead in leads]
    suppressed = approved[0]
    client.post("/api/suppressions", json={"kind": "login", "value": suppressed["username"]}, headers=headers)
    body = {
        "name": "crm",
        "platform": "hubspot",
        "base_url": hubspot.url,
        "token": "test-token",
        "list_name": "cmo",
        "rate_limit_per_second": 100,
    }
    dest = client.post("/api/destinations", json=body, headers=headers).json()

    accepted = client.post(f"/api/jobs/{job_id}/sync", json={"destination_id": dest["id"]}, headers=headers)
    assert accepted.status_code == 202, accepted.text
    first = _wait_event(settings, job_id, "sync.completed", 1)
    assert first["counts"] == {"created": len(approved) - 1, "skipped": 1}
    held = {c["properties"].get("github_url") for c in hubspot.contacts.values()}
    assert f"https://github.com/{suppressed['username']}" not in held and len(hubspot.contacts) == len(approved) - 1

    by_url = {c["properties"]["github_url"]: cid for cid, c in hubspot.contacts.items()}
    demo, leaving = approved[1], approved[2]
    hubspot._write(by_url[f"https://github.com/{demo['username']}"], {"lifecyclestage": "opportunity"})
    hubspot._write(by_url[f"https://github.com/{leaving['username']}"], {"hs_email_optout": "true"})
    client.post(f"/api/jobs/{job_id}/sync", json={"destination_id": dest["id"]}, headers=headers)
    second = _wait_event(settings, job_id, "sync.completed", 2)
    assert second["counts"]["unchanged"] == len(approved) - 1 and len(hubspot.contacts) == len(approved) - 1  # no duplicates
    assert second["changes"] == {"demo_booked": 1, "unsubscribed": 1}
    types = in_session(
        settings,
        lambda s: s.execute(
            select(orm.EngagementEvent.prospect_id, orm.EngagementEvent.type).where(orm.EngagementEvent.job_id == job_id)
        ),
    )
    assert set(types.all()) == {(demo["prospect_id"], "demo_booked"), (leaving["prospect_id"], "unsubscribed")}
    listed = client.get("/api/suppressions", headers=headers, params={"limit": 100}).json()["items"]
    assert any(item["value"] == leaving["username"].lower() for item in listed)  # the vendor's unsubscribe suppresses

    assert client.delete(f"/api/destinations/{dest['id']}", headers=headers).status_code == 409  # it holds people
    assert client.delete(f"/api/prospects/{demo['prospect_id']}", headers=headers).status_code == 204
    assert f"https://github.com/{demo['username']}" not in {c["properties"].get("github_url") for c in hubspot.contacts.values()}
    assert hubspot.gdpr_deleted
    rows = in_session(
        settings, lambda s: s.execute(select(DestinationDelivery.prospect_id).where(DestinationDelivery.tenant_id == tenant_id))
    )
    assert demo["prospect_id"] not in set(rows.scalars().all())
    audit = client.get("/api/audit", headers=headers, params={"action": "prospect.erase"}).json()["items"]
    assert any(
        d["outcome"] == "deleted" and d["destination"] == "crm"
        for a in audit
        for d in (a.get("detail") or {}).get("destinations", [])
    )

    monkeypatch.setitem(registry.FACTORIES, "memory", _Analytics())  # type: ignore[arg-type]
    _Analytics.received.clear()
    _Analytics.forgotten.clear()
    client.post("/api/destinations", json={"name": "metrics", "platform": "memory"}, headers=headers)
    other = approved[-1]
    recorded = client.post(
        "/api/events", json={"job_id": job_id, "prospect_id": other["prospect_id"], "type": "replied"}, headers=headers
    )
    assert recorded.status_code == 201, recorded.text
    deadline = time.monotonic() + 10
    while not _Analytics.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [(e.user_id, e.name) for e in _Analytics.received] == [(other["prospect_id"], "replied")]
    assert isinstance(_Analytics.received[0].occurred_at, datetime)
    # It only ever received events about them, and still hears of their erasure (Art. 17(2)).
    assert client.delete(f"/api/prospects/{other['prospect_id']}", headers=headers).status_code == 204
    assert _Analytics.forgotten == [other["prospect_id"]]
