"""`POST /api/jobs/{id}/send` and `GET /api/jobs/{id}/sends` against a real SMTP server (aiosmtpd on
127.0.0.1), on the embedded mode (SQLite, in-process bus) and on Postgres with Redis: only approved
drafts are sent (a person's approval included), a second request sends nothing new, a person
suppressed after approval is skipped at send time, the kill switch pauses the campaign (with its
event, and a 409 for every later request), the events replay on SSE, webhooks-bound events carry
no address, and a bounce or reply recorded later reaches the job and its analytics.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from api.core import orm
from api.core.database import Database, run_with_database
from api.services.prospects import save_prospects
from api.services.sends import record_delivery_event
from api.services.suppressions import add_suppression
from api.services.tenants import issue_api_key
from foundation.schemas import Prospect
from foundation.settings import Settings
from sandbox import open_sandbox
from tests.support.outreach import POSTAL, SENDER_EMAIL, lead
from tests.support.smtp import Mailbox, smtp_server
from tests.support.webhook_receiver import Receiver

GOAL = "Find Python maintainers active in ML"


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def smtp_port(mailbox: Mailbox) -> Iterator[int]:
    with smtp_server(mailbox) as port:
        yield port


@pytest.fixture(params=["sqlite", "postgres+redis"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, smtp_port: int) -> Settings:
    """Sending configured (caps off, the kill switch after 5 sends) on each deployment."""
    postgres = request.param != "sqlite"
    return Settings(
        cmo_home=tmp_path / "home",
        database_url=request.getfixturevalue("migrated_postgres_url") if postgres else None,
        redis_url=request.getfixturevalue("redis_url") if postgres else None,
        cmo_smtp_url=f"smtp://127.0.0.1:{smtp_port}",  # type: ignore[arg-type]
        cmo_sender_email=SENDER_EMAIL,
        cmo_sender_name="Ada Sender",
        cmo_sender_postal_address=POSTAL,
        cmo_send_daily_cap=0,
        cmo_send_per_hour=0,
        cmo_send_per_domain_per_hour=0,
        cmo_send_warmup_start=0,
        cmo_send_rate_min_sends=5,
        cmo_send_connections=1,  # one message at a time: the kill switch test counts exactly what went out (parallel: tests/integration/test_send.py)
        cmo_webhook_allow_private=True,  # the webhook receiver is on 127.0.0.1
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    from api.app import create_app
    from api.core.config import ApiConfig

    stream = f"cmo:test:sends:{uuid.uuid4().hex}"  # the jobs created here never reach anybody's workers
    config = ApiConfig(github_sandbox=open_sandbox, workers_inline=0, jobs_stream=stream)
    with TestClient(create_app(settings, config)) as client:
        yield client
    if settings.redis_url:
        redis.Redis.from_url(settings.redis_url).delete(stream)


def tenant(settings: Settings) -> tuple[str, dict[str, str]]:
    issued = run_with_database(settings, lambda db: issue_api_key(db, f"tenant-{uuid.uuid4().hex[:12]}", "admin"))
    return issued.tenant_id, {"Authorization": f"Bearer {issued.key}"}


def job_with(client: TestClient, settings: Settings, headers: dict[str, str], leads: list[Prospect], **body: Any) -> str:
    """A finished job holding `leads` (ranked as listed), as a worker leaves it."""
    response = client.post("/api/jobs", json={"goal": GOAL, "max_prospects": 10, **body}, headers=headers)
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    ranked = [p.model_copy(update={"score": round(1 - i / 100, 2)}) for i, p in enumerate(leads)]

    async def store(db: Database) -> None:
        async with db.sessions() as session:
            job = await session.get_one(orm.Job, job_id)
            await save_prospects(session, job, ranked)
            job.status = "succeeded"
            await session.commit()

    run_with_database(settings, store)
    return job_id


def send(client: TestClient, headers: dict[str, str], job_id: str, **body: Any) -> dict[str, Any]:
    """POST the send, then wait for its run to finish; the finished run."""
    response = client.post(f"/api/jobs/{job_id}/send", json=body, headers=headers)
    assert response.status_code == 202, response.text
    run = response.json()
    assert run["status"] == "queued" and response.headers["Location"].endswith(run["id"])
    deadline = time.monotonic() + 30
    while (run := client.get(f"/api/jobs/{job_id}/send-runs/{run['id']}", headers=headers).json())["status"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline, run
        time.sleep(0.05)
    assert run["status"] == "finished", run
    return run


def sends_of(client: TestClient, headers: dict[str, str], job_id: str) -> dict[str, dict[str, Any]]:
    """Every message of the job by prospect id, read page by page."""
    found: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/api/jobs/{job_id}/sends", params=params, headers=headers).json()
        found |= {item["prospect_id"]: item for item in page["items"]}
        if not (cursor := page["next_cursor"]):
            return found


def replayed(client: TestClient, headers: dict[str, str], job_id: str) -> list[dict[str, Any]]:
    """The job's events as its SSE stream replays them (the stream of a finished job ends)."""
    body = client.get(f"/api/jobs/{job_id}/events", headers=headers).text
    return [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]


def test_only_approved_drafts_are_sent_once_and_a_suppressed_person_is_skipped(
    client: TestClient, settings: Settings, mailbox: Mailbox
) -> None:
    tenant_id, headers = tenant(settings)
    leads = [
        lead("alice"),
        lead("bob"),
        lead("carol", verdict="needs_review"),  # approved below by a person
        lead("dave", verdict="needs_review"),  # nobody approves: never sent
        lead("erin", verdict="rejected"),
        lead("frank"),  # suppressed after approval: skipped at send time
    ]
    job_id = job_with(client, settings, headers, leads)
    approval = client.post(f"/api/jobs/{job_id}/leads/approve", json={"prospect_ids": ["gh_carol"]}, headers=headers)
    assert approval.json()["approved"] == ["gh_carol"], approval.text

    async def suppress(db: Database) -> None:
        async with db.sessions() as session:
            await add_suppression(session, tenant_id, "email", "frank@example-devs.org", reason="unsubscribe", source="test")
            await session.commit()

    run_with_database(settings, suppress)

    dry = send(client, headers, job_id, dry_run=True)
    assert dry["counts"]["would_send"] == 3 and mailbox.received == []

    run = send(client, headers, job_id)
    assert run["counts"]["sent"] == 3 and run["counts"]["skipped"] == 1 and run["counts"]["not_approved"] == 2, run
    assert sorted(r for item in mailbox.received for r in item.recipients) == [
        "alice@example-devs.org",
        "bob@example-devs.org",
        "carol@example-devs.org",
    ]
    message = mailbox.received[0].message
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and POSTAL in message.get_content()

    listed = sends_of(client, headers, job_id)
    assert {k: v["status"] for k, v in listed.items()} == {
        "gh_alice": "sent",
        "gh_bob": "sent",
        "gh_carol": "sent",
        "gh_frank": "skipped",
    }
    assert listed["gh_frank"]["reason"] == "suppressed"
    assert all(item["message_id"] for key, item in listed.items() if key != "gh_frank")
    assert "@example-devs.org" not in json.dumps(listed)

    again = send(client, headers, job_id)
    assert again["counts"].get("sent", 0) == 0 and again["counts"]["already_sent"] == 3 and len(mailbox.received) == 3

    events = replayed(client, headers, job_id)
    sent_events = [e for e in events if e["event"] == "message.sent"]
    assert sorted(e["data"]["prospect_id"] for e in sent_events) == ["gh_alice", "gh_bob", "gh_carol"]
    assert "@example-devs.org" not in json.dumps(sent_events)

    # A reply recorded later (what an inbox import or a provider notification hands in).
    alice = listed["gh_alice"]["message_id"]
    recorded = run_with_database(settings, lambda db: record_delivery_event(db, tenant_id, alice, "replied"))
    assert recorded is not None and recorded.replied_at is not None
    run_with_database(settings, lambda db: record_delivery_event(db, tenant_id, alice, "replied"))  # again: no change
    assert run_with_database(settings, lambda db: record_delivery_event(db, tenant_id, "<nope@x>", "replied")) is None
    assert [e["data"]["prospect_id"] for e in replayed(client, headers, job_id) if e["event"] == "message.replied"] == [
        "gh_alice"
    ]
    stats = next(s for s in client.get("/api/analytics/campaigns", headers=headers).json()["items"] if s["job_id"] == job_id)
    assert (stats["sent"], stats["bounced"], stats["replied"]) == (3, 0, 1)
    # A reply recorded as an engagement event (the API, `cmo inbox import`) stops the follow-ups too.
    answered = {"job_id": job_id, "prospect_id": "gh_bob", "type": "replied"}
    assert client.post("/api/events", json=answered, headers=headers).status_code == 201
    assert sends_of(client, headers, job_id)["gh_bob"]["replied_at"] is not None
    assert sends_of(client, headers, job_id)["gh_carol"]["replied_at"] is None


def test_the_kill_switch_pauses_the_campaign(
    client: TestClient, settings: Settings, mailbox: Mailbox, receiver: Receiver
) -> None:
    tenant_id, headers = tenant(settings)
    mailbox.refuse["zed@example-devs.org"] = "550 5.1.1 no such user"
    leads = [lead(name) for name in ("amy", "ben", "cat", "dan", "eve")] + [lead("zed"), lead("zoe")]
    job_id = job_with(client, settings, headers, leads, webhook_url=receiver.url)

    run = send(client, headers, job_id)
    assert run["counts"]["sent"] == 5 and run["counts"]["bounced"] == 1, run
    assert run["stopped"] == "campaign_paused" and "bounce rate 1/6" in run["stopped_detail"]
    assert "zoe@example-devs.org" not in [r for item in mailbox.received for r in item.recipients]

    listed = sends_of(client, headers, job_id)
    assert listed["gh_zed"]["status"] == "bounced" and "gh_zoe" not in listed

    refused = client.post(f"/api/jobs/{job_id}/send", json={}, headers=headers)
    assert refused.status_code == 409 and refused.headers["content-type"].startswith("application/problem+json")
    assert "paused" in refused.json()["detail"] and refused.json()["type"].endswith("campaign-paused")

    events = replayed(client, headers, job_id)
    names = [e["event"] for e in events]
    assert names.count("message.sent") == 5 and names.count("message.bounced") == 1 and names.count("campaign.paused") == 1
    paused = next(e for e in events if e["event"] == "campaign.paused")
    assert paused["data"]["bounced"] == 1 and paused["data"]["finished"] == 6

    # The same events reach the job's webhook (job.created first), with ids only.
    hooks = [json.loads(r["body"]) for r in receiver.wait_for(8)]
    assert sorted(h["event"] for h in hooks if h["event"] != "job.created") == sorted(
        ["message.sent"] * 5 + ["message.bounced", "campaign.paused"]
    )
    bounced = next(h for h in hooks if h["event"] == "message.bounced")
    assert bounced["data"] == {
        "prospect_id": "gh_zed",
        "step": 1,
        "message_id": listed["gh_zed"]["message_id"],
        "reason": "smtp",
    }
    assert "@example-devs.org" not in json.dumps(hooks)

    # The bounced address is on the tenant's list now: the next job does not write to it.
    second = job_with(client, settings, headers, [lead("zed")])
    assert send(client, headers, second)["counts"]["skipped"] == 1
    assert tenant_id


def test_a_job_still_running_or_not_configured_refuses(client: TestClient, settings: Settings) -> None:
    _, headers = tenant(settings)
    response = client.post("/api/jobs", json={"goal": GOAL, "max_prospects": 10}, headers=headers)
    job_id = response.json()["id"]
    refused = client.post(f"/api/jobs/{job_id}/send", json={}, headers=headers)
    assert refused.status_code == 409 and refused.json()["type"].endswith("job-not-finished")
    assert client.post(f"/api/jobs/{job_id}/send", json={"limit": 0}, headers=headers).status_code == 422
    assert client.get("/api/jobs/cmo_nope/sends", headers=headers).status_code == 404


def test_two_concurrent_requests_send_each_message_once(client: TestClient, settings: Settings, mailbox: Mailbox) -> None:
    _, headers = tenant(settings)
    names = [f"dev{i:02d}" for i in range(12)]
    job_id = job_with(client, settings, headers, [lead(name) for name in names])
    first = client.post(f"/api/jobs/{job_id}/send", json={}, headers=headers).json()
    second = client.post(f"/api/jobs/{job_id}/send", json={}, headers=headers).json()
    deadline = time.monotonic() + 30
    for run in (first, second):
        while client.get(f"/api/jobs/{job_id}/send-runs/{run['id']}", headers=headers).json()["status"] != "finished":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    recipients = [r for item in mailbox.received for r in item.recipients]
    assert sorted(recipients) == sorted(f"{name}@example-devs.org" for name in names), "each person exactly once"
    assert {item["status"] for item in sends_of(client, headers, job_id).values()} == {"sent"}


def test_two_processes_racing_on_one_job_send_each_message_once(client: TestClient, settings: Settings, mailbox: Mailbox) -> None:
    """Two engines (as two API processes or workers have) run a send run of the same job at once."""
    from api.core.config import ApiConfig
    from api.models.sends import SendRequest
    from api.services.sends import request_send, run_send

    tenant_id, headers = tenant(settings)
    names = [f"dev{i:03d}" for i in range(100)]
    job_id = job_with(client, settings, headers, [lead(name) for name in names])

    async def race() -> float:
        first, second = Database(settings, ApiConfig()), Database(settings, ApiConfig())
        try:
            runs = []
            for database in (first, second):
                async with database.sessions() as session:
                    runs.append(await request_send(session, tenant_id, job_id, SendRequest(), "key_test", settings))
            started = time.monotonic()
            await asyncio.gather(run_send(first, runs[0].id), run_send(second, runs[1].id))
            return time.monotonic() - started
        finally:
            await first.dispose()
            await second.dispose()

    elapsed = asyncio.run(race())
    recipients = [r for item in mailbox.received for r in item.recipients]
    assert sorted(recipients) == sorted(f"{name}@example-devs.org" for name in names), "each person exactly once"
    print(f"{(settings.database_url and 'postgres') or 'sqlite'}: 100 messages by two racing runs in {elapsed:.2f} s")
