"""Per-tenant masking rules over HTTP on both databases: `GET`/`PUT /api/privacy/settings` (admin
keys only, validated, tenant-scoped), their effect on artifact downloads, and error bodies that
never echo a secret the client sent."""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

from sqlalchemy import select, text
from starlette.testclient import TestClient

from api.core import orm
from api.core.api_keys import hash_api_key
from api.core.database import Database, run_with_database
from api.services.artifacts import save_artifact
from api.services.tenants import issue_api_key
from foundation.artifacts import LEADS_CONTACTABLE, LEADS_FULL, leads_csv
from foundation.schemas import ComplianceReview, Message, Prospect
from foundation.settings import Settings

GOAL = "Find Python maintainers active in ML"
GITHUB_TOKEN = "ghp_" + "R4nd0mT0k3n" * 3 + "xyz"
DEFAULTS = {
    "masking": {"email": "none", "name": "none", "location": "none", "bio": "detect", "links": "none"},
    "retention_days": None,
}


def keys(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    """Headers of an admin key and a member key of one fresh tenant."""
    tenant = f"tenant-{uuid.uuid4().hex[:12]}"
    admin = run_with_database(settings, lambda db: issue_api_key(db, tenant, role="admin"))
    member = run_with_database(settings, lambda db: issue_api_key(db, tenant))
    return {"Authorization": f"Bearer {admin.key}"}, {"Authorization": f"Bearer {member.key}"}


def ada() -> Prospect:
    return Prospect(
        id="gh_ada",
        username="ada",
        name="Ada Lovelace",
        email="ada@analytical.dev",
        location="London, UK",
        bio="Engines. Call +44 20 7946 0958.",
        message=Message(subject="Your engine", body="Hi Ada,\nI read your notes on engines."),
        compliance=ComplianceReview(verdict="approved"),
    )


def job_with_leads(client: TestClient, settings: Settings, headers: dict[str, str]) -> dict[str, str]:
    """A job holding both leads artifacts (written as a worker would); returns artifact ids by name."""
    response = client.post("/api/jobs", json={"goal": GOAL}, headers=headers)
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]

    async def act(db: Database) -> None:
        async with db.sessions() as session:
            job = await session.get_one(orm.Job, job_id)
            leads = json.dumps([ada().model_dump(mode="json")], indent=2).encode()
            await save_artifact(session, job, LEADS_FULL, "application/json", leads)
            await save_artifact(session, job, LEADS_CONTACTABLE, "text/csv", leads_csv([ada()]).encode())
            await session.commit()

    run_with_database(settings, act)
    listed = client.get(f"/api/jobs/{job_id}/artifacts", headers=headers).json()["items"]
    return {item["name"]: item["id"] for item in listed}


def download(client: TestClient, headers: dict[str, str], ids: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The downloaded leads: the JSON lead and the CSV row."""
    full, contactable = (client.get(f"/api/artifacts/{ids[name]}", headers=headers) for name in (LEADS_FULL, LEADS_CONTACTABLE))
    assert full.status_code == contactable.status_code == 200, (full.text, contactable.text)
    return full.json()[0], next(csv.DictReader(io.StringIO(contactable.text)))


def test_settings_default_update_validation_and_admin_only(client: TestClient, settings: Settings) -> None:
    admin, member = keys(settings)
    assert client.get("/api/privacy/settings", headers=admin).json() == DEFAULTS

    wanted = {"masking": {"email": "hash", "name": "partial", "bio": "full"}, "retention_days": 90}
    updated = client.put("/api/privacy/settings", json=wanted, headers=admin)
    assert updated.status_code == 200, updated.text
    expected = {"masking": DEFAULTS["masking"] | wanted["masking"], "retention_days": 90}
    assert updated.json() == expected and client.get("/api/privacy/settings", headers=admin).json() == expected
    assert "hash_key" not in updated.text, "the tenant's HMAC key never leaves the service"

    for bad in ({"masking": {"email": "scramble"}}, {"masking": {"phone": "full"}}, {"retention_days": 0}, {"colour": "red"}):
        refused = client.put("/api/privacy/settings", json=bad, headers=admin)
        assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json", refused.text

    for method in ("GET", "PUT"):
        forbidden = client.request(method, "/api/privacy/settings", json=DEFAULTS, headers=member)
        assert forbidden.status_code == 403 and forbidden.headers["content-type"] == "application/problem+json"
    assert client.get("/api/privacy/settings", headers=admin).json() == expected, "a member changed nothing"

    other_admin, _ = keys(settings)
    assert client.get("/api/privacy/settings", headers=other_admin).json() == DEFAULTS, "settings are per tenant"


def test_downloads_follow_the_tenants_masking_rules(client: TestClient, settings: Settings) -> None:
    admin, member = keys(settings)
    ids = job_with_leads(client, settings, member)

    lead, row = download(client, member, ids)
    assert (lead["email"], lead["name"], row["email"], row["name"]) == ("ada@analytical.dev", "Ada Lovelace") * 2
    assert lead["bio"] == "Engines. Call [phone].", "bios are `detect` by default"

    rules = {"masking": {"email": "partial", "name": "full", "location": "partial"}}
    assert client.put("/api/privacy/settings", json=rules, headers=admin).status_code == 200
    lead, row = download(client, member, ids)
    assert (lead["email"], lead["name"], lead["location"]) == ("a***@analytical.dev", "[redacted]", "***, UK")
    assert (row["email"], row["name"], row["location"]) == ("a***@analytical.dev", "[redacted]", "***, UK")
    assert lead["message"]["body"].startswith("Hi [redacted],") and row["body"].startswith("Hi [redacted],")

    assert client.put("/api/privacy/settings", json={"masking": {"email": "hash"}}, headers=admin).status_code == 200
    first, _ = download(client, member, ids)
    assert (
        client.put("/api/privacy/settings", json={"masking": {"email": "hash", "bio": "none"}}, headers=admin).status_code == 200
    )
    second, _ = download(client, member, ids)
    assert first["email"].startswith("hmac:") and second["email"] == first["email"], "pseudonyms survive updates"
    assert second["bio"] == "Engines. Call +44 20 7946 0958."


def test_error_bodies_never_echo_a_secret(client: TestClient, settings: Settings) -> None:
    admin, _ = keys(settings)
    answers = [
        client.get(f"/api/artifacts/{GITHUB_TOKEN}", headers=admin),
        client.put("/api/privacy/settings", json={"masking": {GITHUB_TOKEN: "none"}}, headers=admin),
        client.post("/api/jobs", json={"goal": GOAL, "max_prospects": f"token={GITHUB_TOKEN}"}, headers=admin),
        client.get("/api/jobs", headers={"Authorization": f"Bearer {GITHUB_TOKEN}"}),
    ]
    assert [answer.status_code for answer in answers] == [404, 422, 422, 401]
    for answer in answers:
        assert answer.headers["content-type"] == "application/problem+json"
        assert GITHUB_TOKEN not in answer.text, answer.text
    assert answers[0].json()["detail"] == "no artifact '[secret]'" and answers[0].json()["instance"] == "/api/artifacts/[secret]"
    assert answers[1].json()["errors"][0]["loc"] == "body.masking.[secret]"


def test_the_tenants_own_secrets_are_stored_sealed(client: TestClient, settings: Settings) -> None:
    """The webhook signing secret and the pseudonym key of `hash` masking: a database dump holding
    either would let its reader forge webhooks or reverse pseudonyms."""
    admin, _ = keys(settings)
    secret = client.get("/api/webhooks", headers=admin).json()["secret"]
    assert client.put("/api/privacy/settings", json={"masking": {"email": "hash"}}, headers=admin).status_code == 200

    async def raw_row(database: Database) -> tuple[str, str]:
        async with database.sessions() as session:
            tenant_id = (
                await session.execute(
                    select(orm.ApiKey.tenant_id).where(orm.ApiKey.key_hash == hash_api_key(admin["Authorization"][7:]))
                )
            ).scalar_one()
            row = await session.execute(text("SELECT webhook_secret, privacy FROM tenants WHERE id = :id"), {"id": tenant_id})
            return row.one()

    stored_secret, stored_privacy = run_with_database(settings, raw_row)
    assert stored_secret.startswith("enc1:") and secret not in stored_secret
    assert stored_privacy.startswith("enc1:") and '"hash"' not in stored_privacy
    assert client.get("/api/webhooks", headers=admin).json()["secret"] == secret, "read back through the keyring"
