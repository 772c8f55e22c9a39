"""The tenant's sender profile over HTTP on both databases: `GET`/`PUT /api/sender` (validated, admin
keys only for changes, audited, one tenant's), and real sandbox jobs created after a `PUT`, whose
drafts carry the profile while their plan stays what it was without it."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.testclient import TestClient

from api.core.database import run_with_database
from api.services.tenants import issue_api_key
from foundation.settings import Settings
from tests.support.jobs import run_here, wait_succeeded
from tests.support.tenants import auth

GOAL = "Find Python maintainers active in ML"
EMPTY = {"name": None, "company": None, "postal_address": None, "unsubscribe_url": None, "email": None}
SENDER = {
    "name": "Ada Lovelace",
    "company": "Acme Devtools",
    "postal_address": "1 Main St, Springfield, IL 62701, USA",
    "unsubscribe_url": "https://optout.acme-devtools.io/unsubscribe",
    "email": "ada@acme-devtools.io",
}


def keys(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    """Headers of an admin key and a member key of one fresh tenant."""
    tenant = f"tenant-{uuid.uuid4().hex[:12]}"
    admin = run_with_database(settings, lambda db: issue_api_key(db, tenant, role="admin"))
    member = run_with_database(settings, lambda db: issue_api_key(db, tenant))
    return {"Authorization": f"Bearer {admin.key}"}, {"Authorization": f"Bearer {member.key}"}


def test_put_get_roundtrip_validation_and_roles(client: TestClient, settings: Settings) -> None:
    admin, member = keys(settings)
    assert client.get("/api/sender", headers=member).json() == EMPTY
    saved = client.put("/api/sender", json=SENDER, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json() == SENDER == client.get("/api/sender", headers=member).json()
    assert client.get("/api/sender", headers=auth(settings)).json() == EMPTY, "another tenant has its own"
    assert client.put("/api/sender", json=SENDER, headers=member).status_code == 403

    refused: list[tuple[dict[str, Any], str, str]] = [
        ({"unsubscribe_url": "https://example.com/unsubscribe"}, "unsubscribe_url", "placeholder_unsubscribe_url"),
        ({"unsubscribe_url": "https://example.com/unsubscribe"}, "unsubscribe_url", "reserved for documentation (RFC 2606)"),
        ({"unsubscribe_url": "https://opt.out.test/u"}, "unsubscribe_url", ".test is a top-level domain reserved by RFC 2606"),
        ({"unsubscribe_url": "https://localhost/u"}, "unsubscribe_url", "own machine (RFC 6761)"),
        ({"unsubscribe_url": "http://acme-devtools.io/u"}, "unsubscribe_url", "https"),
        ({"unsubscribe_url": "/unsubscribe"}, "unsubscribe_url", "absolute"),
        ({"postal_address": "x" * 501}, "postal_address", "500"),
        ({"name": "Ada\r\nBcc: everyone@acme-devtools.io"}, "name", "control characters"),
        ({"email": "not-an-address"}, "email", "not an email address"),
        ({"signature": "hi"}, "signature", "Extra inputs"),
    ]
    for body, field, why in refused:
        answer = client.put("/api/sender", json=body, headers=admin)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["errors"][0]["loc"] == f"body.{field}" and why in answer.json()["detail"], answer.json()
    assert client.get("/api/sender", headers=admin).json() == SENDER, "a refused PUT changes nothing"

    replaced = client.put("/api/sender", json={"company": "Acme", "name": "  "}, headers=admin)
    assert replaced.json() == EMPTY | {"company": "Acme"}, "a PUT replaces the whole profile; blank is not set"
    records = client.get("/api/audit", params={"action": "sender.update"}, headers=admin).json()["items"]
    assert [record["outcome"] for record in records] == [200, *[422] * len(refused), 403, 200]


def test_jobs_created_after_a_put_carry_the_sender_and_plan_as_before(client: TestClient, settings: Settings) -> None:
    admin, _ = keys(settings)
    before = client.post("/api/jobs", json={"goal": GOAL, "max_prospects": 5}, headers=admin).json()
    assert before["campaign"]["id"] == "cmp_" + before["id"].removeprefix("cmo_"), "a job without a campaign is its own"
    assert (
        "sender_profiles" not in (before["campaign"].get("messaging") or {})
        or not before["campaign"]["messaging"]["sender_profiles"]
    )
    assert client.put("/api/sender", json=SENDER, headers=admin).status_code == 200
    after = client.post("/api/jobs", json={"goal": GOAL, "max_prospects": 5}, headers=admin).json()
    messaging = after["campaign"]["messaging"]
    assert messaging["unsubscribe_url"] == SENDER["unsubscribe_url"]
    assert messaging["sender_profiles"][0] == {
        "name": "Ada Lovelace",
        "title": None,
        "company": "Acme Devtools",
        "linkedin": None,
        "signature_template": None,
        "email": "ada@acme-devtools.io",
        "postal_address": SENDER["postal_address"],
    }
    own = {"messaging": {"sender_profiles": [{"name": "Bob", "postal_address": "2 Elm St, Shelbyville"}]}}
    chosen = client.post("/api/jobs", json={"goal": GOAL, "campaign": own}, headers=admin).json()["campaign"]["messaging"]
    assert [p["name"] for p in chosen["sender_profiles"]] == ["Bob"] and chosen["unsubscribe_url"] == SENDER["unsubscribe_url"]

    for job in (before, after):
        run_here(settings, job["id"])
        wait_succeeded(client, admin, job["id"])
    plans = [client.get(f"/api/jobs/{job['id']}/summary", headers=admin).json()["summary"]["plan"] for job in (before, after)]
    assert plans[0] == plans[1], "a campaign holding only the sender changes nothing the planner does"

    old, new = (client.get(f"/api/jobs/{job['id']}/leads", headers=admin).json()["items"] for job in (before, after))
    assert any("missing_postal_address" in flag for lead in old for flag in lead["flags"])
    assert new and not any(
        flag.startswith(("missing_postal_address", "placeholder_unsubscribe_url")) for lead in new for flag in lead["flags"]
    )
    for lead in new:
        message = client.get(f"/api/jobs/{after['id']}/leads/{lead['prospect_id']}", headers=admin).json()["prospect"]["message"]
        assert SENDER["postal_address"] in message["body"] and "Ada Lovelace" in message["body"]
        assert f"{SENDER['unsubscribe_url']}?u={lead['prospect_id']}" in message["body"]
