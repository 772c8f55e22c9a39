"""Outgoing webhooks against a local receiver, on real Postgres and Redis: SPEC's envelope, the
HMAC signature a receiver verifies, retries with backoff, the delivery log over the API, the
tenant's default URL, and the SSRF guard.

The receiver is a tiny HTTP server in a thread that records every request and answers 500 to the
first N. Delays are milliseconds (`CMO_WEBHOOK_BACKOFF_SECONDS`), so the whole file takes seconds.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from api.app import create_app
from api.core import orm
from api.core.config import ApiConfig
from api.core.database import Database, run_with_database
from api.core.migrate import upgrade
from api.services.webhook_security import RefusedUrl, resolve_target, verify_signature
from api.services.webhooks import dispatch_for_event, drain_deliveries
from foundation.settings import Settings
from sandbox import open_sandbox
from tests.support.tenants import auth
from tests.support.webhook_receiver import Receiver

GOAL = "Find Python maintainers active in ML"


@pytest.fixture
def make_settings(migrated_postgres_url: str, redis_url: str, tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "cmo_home": tmp_path / "home",
            "database_url": migrated_postgres_url,
            "redis_url": redis_url,
            "cmo_webhook_allow_private": True,  # the receiver is on 127.0.0.1
            "cmo_webhook_max_attempts": 4,
            "cmo_webhook_backoff_seconds": 0.05,
            "cmo_webhook_timeout_seconds": 2.0,
        }
        return Settings(**(values | overrides))

    return make


def deliveries(
    client: TestClient, headers: dict[str, str], job_id: str, until: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The job's delivery log, polled until `until` holds (the deliveries run in the background)."""
    deadline = time.monotonic() + 10
    while True:
        response = client.get(f"/api/jobs/{job_id}/webhooks", headers=headers)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        if until(items) or time.monotonic() > deadline:
            return items
        time.sleep(0.02)


def test_signed_envelope_retried_with_backoff_and_logged(
    make_settings: Callable[..., Settings], stream: str, receiver: Receiver
) -> None:
    receiver.fail_first = 2
    receiver.answering.clear()  # the receiver hangs until the POST has been answered
    settings = make_settings(cmo_webhook_timeout_seconds=20.0)
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream))) as client:
        headers = auth(settings)
        created = client.post("/api/jobs", json={"goal": GOAL, "max_prospects": 25, "webhook_url": receiver.url}, headers=headers)
        assert created.status_code == 201
        job_id = created.json()["id"]
        unanswered = client.get(f"/api/jobs/{job_id}/webhooks", headers=headers).json()["items"]
        receiver.answering.set()
        assert unanswered == [], "the request never waits for the receiver: no attempt had ended when it was answered"
        secret = client.get("/api/webhooks", headers=headers).json()["secret"]

        first, second, third = receiver.wait_for(3)
        log = deliveries(client, headers, job_id, lambda items: len(items) == 3)
        other_tenant = client.get(f"/api/jobs/{job_id}/webhooks", headers=auth(settings))

    body = third["body"]
    envelope = json.loads(body)
    assert set(envelope) == {"event", "job_id", "timestamp", "data"}
    assert envelope["event"] == "job.created" and envelope["job_id"] == job_id
    assert envelope["timestamp"].endswith("Z")
    assert envelope["data"] == {"goal": GOAL, "estimated_duration": None, "prospect_count": 25}
    sent = third["headers"]
    assert third["path"] == "/hooks/cmo" and sent["Content-Type"] == "application/json"
    # Standard Webhooks, checked with the maintained verifier a receiver would use (issue 14)
    standard = {name: sent[name] for name in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    assert standard["webhook-id"] == sent["X-CMO-Delivery"] and standard["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, standard) == envelope
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", standard)
    assert first["headers"]["webhook-id"] == standard["webhook-id"]  # the same message id on every retry
    # the legacy signature, still sent for one release
    assert sent["X-CMO-Signature"].startswith("sha256=")
    assert verify_signature(secret, sent["X-CMO-Timestamp"], body, sent["X-CMO-Signature"])
    assert not verify_signature(secret, sent["X-CMO-Timestamp"], body + b" ", sent["X-CMO-Signature"])
    assert not verify_signature("whsec_wrong", sent["X-CMO-Timestamp"], body, sent["X-CMO-Signature"])
    stale = float(sent["X-CMO-Timestamp"]) + 301
    assert not verify_signature(secret, sent["X-CMO-Timestamp"], body, sent["X-CMO-Signature"], now=stale)
    # every retry carries the same body and delivery id, and waits longer than the one before
    assert first["body"] == second["body"] == body
    assert first["headers"]["X-CMO-Delivery"] == sent["X-CMO-Delivery"]
    assert second["at"] - first["at"] >= 0.025 and third["at"] - second["at"] >= 0.05

    assert [(d["attempt"], d["status_code"], d["delivered"]) for d in log] == [(1, 500, False), (2, 500, False), (3, 200, True)]
    assert {d["delivery_id"] for d in log} == {sent["X-CMO-Delivery"]}
    assert all(d["event"] == "job.created" and d["url"] == receiver.url for d in log)
    assert log[0]["error"] == "HTTP 500" and log[2]["error"] is None
    assert all(d["duration_ms"] >= 0 for d in log)
    assert other_tenant.status_code == 404


def test_worker_events_reach_the_tenant_default_url_and_give_up_after_max_attempts(
    make_settings: Callable[..., Settings], stream: str, receiver: Receiver
) -> None:
    """prospect.enriched and campaign.completed, dispatched the way a worker does, to the tenant's
    default URL (the job has none); a receiver that keeps failing gets exactly max_attempts tries."""
    receiver.fail_first = 3
    settings = make_settings(cmo_webhook_max_attempts=3)
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream))) as client:
        headers = auth(settings)
        assert client.put("/api/webhooks", json={"url": receiver.url}, headers=headers).status_code == 200
        job_id = client.post("/api/jobs", json={"goal": GOAL}, headers=headers).json()["id"]
        receiver.wait_for(3)  # job.created: three failures, then it gives up
        log = deliveries(client, headers, job_id, lambda items: len(items) == 3)
        assert [(d["attempt"], d["delivered"]) for d in log] == [(1, False), (2, False), (3, False)]

    enriched = {
        "prospect_id": "gh_octocat",
        "email": "octocat@github.com",
        "confidence_score": 0.95,
        "signals": ["active_maintainer"],
    }
    completed = {
        "duration_seconds": 12.5,
        "prospects_found": 1,
        "emails_contactable": 1,
        "conversion_rate": None,
        "artifacts": ["leads_full.json"],
    }

    async def play_worker(db: Database) -> None:
        await dispatch_for_event(db, job_id, "prospect.enriched", {"agent": "enricher", **enriched})  # as logged
        await dispatch_for_event(db, job_id, "campaign.completed", completed)
        await dispatch_for_event(db, job_id, "agent.reasoning", {"text": "not a webhook event"})
        await drain_deliveries(db, timeout_seconds=10)

    run_with_database(settings, play_worker)
    received = {json.loads(r["body"])["event"]: json.loads(r["body"]) for r in receiver.wait_for(5)[3:]}
    assert len(receiver.requests) == 5
    assert received["prospect.enriched"]["data"] == enriched and received["campaign.completed"]["data"] == completed
    assert all(e["job_id"] == job_id for e in received.values())


def test_a_process_that_dies_between_attempts_leaves_its_retries_to_the_next_one(
    make_settings: Callable[..., Settings], stream: str, receiver: Receiver
) -> None:
    """The first process fails an attempt and dies while sleeping on the retry; the next process's
    sweep claims the delivery once the lease has run out and carries it on: same webhook-id, same
    body, the attempt numbers continuing. Before migration 0016 the retries died with the process."""
    receiver.fail_first = 1
    settings = make_settings(
        cmo_webhook_max_attempts=5, cmo_webhook_backoff_seconds=0.4, cmo_webhook_lease_seconds=0.3, cmo_webhook_sweep_seconds=0.1
    )
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream))) as client:
        headers = auth(settings)
        job_id = client.post("/api/jobs", json={"goal": GOAL}, headers=headers).json()["id"]  # before the URL: no job.created
        assert client.put("/api/webhooks", json={"url": receiver.url}, headers=headers).status_code == 200

    async def die_after_the_first_attempt(db: Database) -> None:
        await dispatch_for_event(db, job_id, "campaign.completed", {"duration_seconds": 3, "prospects_found": 0})
        deadline = time.monotonic() + 10
        while sum(json.loads(r["body"])["event"] == "campaign.completed" for r in receiver.requests) < 1:
            assert time.monotonic() < deadline, "the first attempt never came"
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # it failed and is sleeping on the retry
        await drain_deliveries(db, timeout_seconds=0)  # killed: the task is cancelled mid-sleep

    run_with_database(settings, die_after_the_first_attempt)
    killed_at = len(receiver.requests)

    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream))) as client:
        log = deliveries(
            client, headers, job_id, lambda items: any(d["delivered"] and d["event"] == "campaign.completed" for d in items)
        )
    completed = [r for r in receiver.requests if json.loads(r["body"])["event"] == "campaign.completed"]
    assert len(completed) == 2 and len(receiver.requests) > killed_at, "resumed by the second process"
    assert completed[0]["body"] == completed[1]["body"]
    assert completed[0]["headers"]["webhook-id"] == completed[1]["headers"]["webhook-id"]
    attempts = [(d["attempt"], d["delivered"]) for d in log if d["event"] == "campaign.completed"]
    assert attempts == [(1, False), (2, True)]


def test_a_job_run_by_a_worker_reports_its_leads_and_its_end(
    make_settings: Callable[..., Settings], stream: str, receiver: Receiver, private_postgres_url: str
) -> None:
    """The whole path: an inline worker runs the job on the sandbox and its committed events reach
    the receiver, one `prospect.enriched` per lead, then `campaign.completed`."""
    # A schema of its own: the inline worker would otherwise also run jobs other tests left queued.
    settings = make_settings(sandbox_users=200, database_url=private_postgres_url)
    upgrade(settings)
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream, workers_inline=1))) as client:
        headers = auth(settings)
        body = {"goal": GOAL, "max_prospects": 5, "webhook_url": receiver.url}
        job_id = client.post("/api/jobs", json=body, headers=headers).json()["id"]
        deadline = time.monotonic() + 120  # a whole pipeline run; generous for a loaded CI machine
        while client.get(f"/api/jobs/{job_id}", headers=headers).json()["status"] != "succeeded":
            assert time.monotonic() < deadline, "the job did not complete in time"
            time.sleep(0.05)
        summary = client.get(f"/api/jobs/{job_id}/summary", headers=headers).json()["summary"]
        assert summary["prospects_found"] >= 1
        assert isinstance(summary["duration_seconds"], int), "whole seconds, as SPEC shows"
        ran = client.get(f"/api/jobs/{job_id}", headers=headers).json()
        seconds = (datetime.fromisoformat(ran["finished_at"]) - datetime.fromisoformat(ran["started_at"])).total_seconds()
        receiver.wait_for(summary["prospects_found"] + 2)  # deliveries run concurrently: no order is promised
        events = len(receiver.requests)
        second = client.post("/api/jobs", json={"goal": GOAL, "max_prospects": 10, "webhook_url": receiver.url}, headers=headers)
        estimate = json.loads(receiver.wait_for(events + 1)[events]["body"])
        assert estimate["job_id"] == second.json()["id"]
        expected = round(seconds / summary["prospects_found"] * 10)
        assert estimate["data"]["estimated_duration"] == expected, "learnt from the tenant's finished job"
        with client.stream("GET", f"/api/jobs/{second.json()['id']}/events", headers=headers) as sse:
            line = next(line for line in sse.iter_lines() if line.startswith("data:"))
        streamed = json.loads(line.removeprefix("data:"))["data"]
        assert {k: streamed[k] for k in estimate["data"]} == estimate["data"], "the SSE event and the webhook agree"

    received = [e for e in (json.loads(r["body"]) for r in receiver.requests) if e["job_id"] == job_id]
    envelopes = {(e["event"], e["data"].get("prospect_id")): e for e in received}
    assert len(envelopes) == len(received) == summary["prospects_found"] + 2, "one delivery per event"
    enriched = [e["data"] for (event, _), e in envelopes.items() if event == "prospect.enriched"]
    assert envelopes[("job.created", None)]["data"]["prospect_count"] == 5
    assert len(enriched) == summary["prospects_found"]
    assert all(set(d) == {"prospect_id", "email", "confidence_score", "signals"} for d in enriched)
    completed = envelopes[("campaign.completed", None)]["data"]
    assert set(completed) == {"duration_seconds", "prospects_found", "emails_contactable", "conversion_rate", "artifacts"}
    assert completed["prospects_found"] == summary["prospects_found"]


def test_private_addresses_are_refused_unless_allowed(
    make_settings: Callable[..., Settings], stream: str, receiver: Receiver
) -> None:
    """Refused when the job is created and when a tenant default is set (delivery-time refusal,
    for names that resolve differently later, is tests/integration/test_security_inputs.py's)."""
    settings = make_settings(cmo_webhook_allow_private=False)
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream))) as client:
        headers = auth(settings)
        refused_job = client.post("/api/jobs", json={"goal": GOAL, "webhook_url": receiver.url}, headers=headers)
        refused_default = client.put("/api/webhooks", json={"url": "http://169.254.169.254/latest/meta-data"}, headers=headers)
        assert client.get("/api/jobs", headers=headers).json()["items"] == [], "a refused job is not created"

    for refused in (refused_job, refused_default):
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/x",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data",  # the cloud metadata endpoint
        "http://[::1]:8080/",
        "http://localhost:9/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
        "ftp://example.com/",
    ],
)
def test_the_url_guard_refuses_internal_targets(url: str) -> None:
    with pytest.raises(RefusedUrl):
        asyncio.run(resolve_target(url, allow_private=False))


def test_the_url_guard_lets_public_addresses_embedded_in_ipv6_through() -> None:
    for url in ("http://[64:ff9b::808:808]/", "http://[2002:808:808::]/", "http://[2001:4860:4860::8888]/"):
        assert asyncio.run(resolve_target(url, allow_private=False)).url.host


def test_the_url_guard_pins_the_checked_address() -> None:
    pinned = asyncio.run(resolve_target("https://93.184.215.14:8443/hook?x=1", allow_private=False))
    assert str(pinned.url) == "https://93.184.215.14:8443/hook?x=1"
    assert pinned.headers == {"Host": "93.184.215.14:8443"} and pinned.extensions == {"sni_hostname": "93.184.215.14"}
    assert asyncio.run(resolve_target("http://127.0.0.1:9/", allow_private=True)).url.host == "127.0.0.1"


def test_an_erased_delivery_is_not_retried_by_the_process_waiting_to_retry_it(
    make_settings: Callable[..., Settings], stream: str, receiver: Receiver
) -> None:
    """Erasure deletes the pending rows of the person's deliveries (api/services/erasure.py); the
    process already sleeping before its next attempt holds the envelope in memory and must not send it."""
    receiver.fail_first = 100
    settings = make_settings(cmo_webhook_backoff_seconds=1.0)
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream))) as client:
        headers = auth(settings)
        job_id = client.post("/api/jobs", json={"goal": GOAL, "webhook_url": receiver.url}, headers=headers).json()["id"]
        receiver.wait_for(1)

        async def erase(db: Database) -> None:
            async with db.sessions() as session:
                await session.execute(delete(orm.WebhookPending).where(orm.WebhookPending.job_id == job_id))
                await session.commit()

        run_with_database(settings, erase)
        time.sleep(3.5)  # the retries were due after ~1 s and ~2 s more
        attempts = [r for r in receiver.requests if json.loads(r["body"])["job_id"] == job_id]
    assert len(attempts) == 1, f"{len(attempts)} attempts after the erasure"
