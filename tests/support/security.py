"""A tenant with one of everything, for the security tests (authz matrix, schemathesis).

Tenant A gets a job run to completion by the sandbox (so it has artifacts, prospects, webhook
deliveries and a finished event stream), a chat thread and a suppression; tenant B exists with
nothing. Built through the HTTP API itself, the way a client would, on a Postgres schema of the
test's own (the inline worker takes every unfinished job it finds in its database).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from starlette.testclient import TestClient

from api.app import create_app
from api.core.config import ApiConfig
from api.core.database import run_with_database
from api.core.migrate import upgrade
from api.services.tenants import IssuedKey, KeyRole, issue_api_key, revoke_api_key
from foundation.settings import Settings
from sandbox import open_sandbox
from tests.support.jobs import wait_succeeded

GOAL = "Find Python maintainers active in ML"
CLOSED_PORT_HOOK = "http://127.0.0.1:9/hook"  # the discard port: refused at once, one logged attempt


def destination_body(name: str) -> dict[str, str]:
    """A destination whose platform is never reached (the discard port refuses at once)."""
    return {"name": name, "platform": "pipedrive", "base_url": "http://127.0.0.1:9", "token": "security-test-token"}


def world_settings(home: Path, database_url: str | None) -> Settings:
    """Postgres, private webhook targets allowed (the world's receiver URL is local), one attempt
    per delivery, and an unsubscribe secret (Postgres deployments must set one)."""
    settings = Settings(
        cmo_home=home,
        database_url=database_url,
        cmo_webhook_allow_private=True,
        cmo_webhook_max_attempts=1,
        cmo_unsubscribe_secret="security-tests-unsubscribe-secret-0123456789",
    )
    upgrade(settings)
    return settings


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def issue(settings: Settings, tenant: str, role: KeyRole = "member") -> IssuedKey:
    """A new key of `tenant` (created if new)."""
    return run_with_database(settings, lambda db: issue_api_key(db, tenant, role))


@dataclass
class World:
    settings: Settings
    client: TestClient
    admin_a: dict[str, str]
    member_a: dict[str, str]
    revoked_a: dict[str, str]
    tenant_b: dict[str, str]
    ids: dict[str, str]  # path parameter name -> tenant A's id
    # Tenant A's ids and name that no test sends as tenant B (B's audit trail rightly names the
    # ids B itself tried): none of them may ever appear in an answer to B.
    unseen: list[str] = field(default_factory=list)


@contextmanager
def tenant_world(settings: Settings) -> Iterator[World]:
    """The running app (one inline worker) and tenant A's resources, all created over HTTP."""
    tenant_a = f"tenant-a-{uuid.uuid4().hex[:8]}"
    admin_a = bearer(issue(settings, tenant_a, "admin").key)
    member_a = bearer(issue(settings, tenant_a).key)
    revoked = issue(settings, tenant_a, "admin")
    assert run_with_database(settings, lambda db: revoke_api_key(db, revoked.key_id))
    tenant_b = bearer(issue(settings, f"tenant-b-{uuid.uuid4().hex[:8]}", "admin").key)

    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=1))) as client:
        created = client.post(
            "/api/jobs", json={"goal": GOAL, "max_prospects": 3, "webhook_url": CLOSED_PORT_HOOK}, headers=member_a
        )
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        chat = client.post("/api/chat", json={"message": GOAL}, headers=member_a).json()
        # The worker is busy with the first job: the thread's own job is cancelled while still queued.
        assert client.delete(f"/api/jobs/{chat['job']['id']}", headers=member_a).status_code == 200
        suppression = client.post("/api/suppressions", json={"kind": "login", "value": "not-a-prospect"}, headers=member_a)
        assert suppression.status_code == 201, suppression.text
        wait_succeeded(client, member_a, job_id)
        destination = client.post("/api/destinations", json=destination_body("crm"), headers=admin_a)
        assert destination.status_code == 201, destination.text

        artifacts = {a["name"]: a["id"] for a in client.get(f"/api/jobs/{job_id}/artifacts", headers=member_a).json()["items"]}
        leads = json.loads(client.get(f"/api/artifacts/{artifacts['leads_full.json']}", headers=member_a).content)
        assert client.get(f"/api/jobs/{job_id}/webhooks", headers=member_a).json()["items"], "a delivery was logged"
        # A (dry-run) send of the job, from the tenant's sender profile: its run is a resource of A too.
        sender = {"email": "ada@acme-devtools.io", "postal_address": "Acme DevTools, 1 Main St, Springfield"}
        assert client.put("/api/sender", json=sender, headers=admin_a).status_code == 200
        send_run = client.post(f"/api/jobs/{job_id}/send", json={"dry_run": True}, headers=member_a)
        assert send_run.status_code == 202, send_run.text
        ids = {
            "job_id": job_id,
            "run_id": send_run.json()["id"],
            "artifact_id": artifacts["summary.json"],
            "thread_id": chat["thread_id"],
            "prospect_id": leads[0]["id"],
            "suppression_id": suppression.json()["id"],
            "destination_id": destination.json()["id"],
        }
        unseen = [
            tenant_a,
            chat["job"]["id"],
            *(set(artifacts.values()) - {ids["artifact_id"]}),
            *(lead["id"] for lead in leads[1:]),
        ]
        yield World(settings, client, admin_a, member_a, bearer(revoked.key), tenant_b, ids, unseen)
