"""The job API over HTTP on both databases (like langgraph's checkpointer tests): the lifecycle,
cancellation, results (artifacts, prospects, engagement analytics) and tenant isolation.

No worker runs here (`workers_inline=0`; test_api_worker.py runs real ones), so a test plays the
worker by writing through the same service functions (`save_prospects`, `save_artifact`) and by
moving the job's status.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select, update
from starlette import testclient
from starlette.testclient import TestClient

from api.core import orm
from api.core.database import Database, run_with_database
from api.services.artifacts import save_artifact
from api.services.prospects import save_prospects
from foundation.schemas import ComplianceReview, Prospect, SearchPlan, TargetAudience
from foundation.schemas.prospect import Verdict
from foundation.schemas.run import RunSummary
from foundation.settings import Settings
from tests.support.tenants import auth

GOAL = "Find Python maintainers active in ML"


def play_worker(settings: Settings, job_id: str, status: str, **changes: Any) -> None:
    """Move a job the way a worker would: status, timestamps, counts, summary."""

    async def act(db: Database) -> None:
        async with db.sessions() as session:
            values = {"status": status, "started_at": orm.utcnow(), **changes}
            await session.execute(update(orm.Job).where(orm.Job.id == job_id).values(**values))
            await session.commit()

    run_with_database(settings, act)


def store_results(settings: Settings, tenant_headers: dict[str, str], client: TestClient, job_id: str) -> dict[str, str]:
    """Write three prospects (two approved) and two artifacts; returns artifact ids by name."""
    reviewed: list[tuple[str, float, Verdict]] = [("ada", 0.9, "approved"), ("bob", 0.7, "approved"), ("cy", 0.4, "needs_review")]
    prospects = [
        Prospect(id=f"gh_{login}", username=login, score=score, compliance=ComplianceReview(verdict=verdict))
        for login, score, verdict in reviewed
    ]

    async def act(db: Database) -> None:
        async with db.sessions() as session:
            job = await session.get_one(orm.Job, job_id)
            await save_prospects(session, job, prospects)
            await save_artifact(session, job, "leads_full.json", "application/json", b'[{"id": "gh_ada"}]')
            await save_artifact(session, job, "leads_contactable.csv", "text/csv", b"id\ngh_ada\n")
            await session.commit()

    run_with_database(settings, act)
    listed = client.get(f"/api/jobs/{job_id}/artifacts", headers=tenant_headers).json()["items"]
    return {item["name"]: item["id"] for item in listed}


def create(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/api/jobs", json={"goal": GOAL, **body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_lifecycle_create_get_list_summary_cancel(client: TestClient, settings: Settings) -> None:
    headers = auth(settings)
    campaign = {"id": "cmp_123", "name": "Q1 Python ML Outreach", "target_audience": {"languages": ["Python"]}}
    job = create(
        client, headers, campaign=campaign, max_prospects=25, webhook_url="https://hooks.example/cmo", metadata={"team": "devrel"}
    )
    assert job["id"].startswith("cmo_") and job["status"] == "queued"
    assert job["campaign"]["target_audience"]["languages"] == ["Python"] and job["metadata"] == {"team": "devrel"}

    fetched = client.get(f"/api/jobs/{job['id']}", headers=headers)
    assert fetched.status_code == 200 and fetched.json() == job

    ids = [job["id"]] + [create(client, headers, goal=f"Find Rust developers #{i}")["id"] for i in range(4)]
    seen: list[str] = []
    cursor = None
    while True:
        page = client.get("/api/jobs", params={"limit": 2} | ({"cursor": cursor} if cursor else {}), headers=headers).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids)), "newest first, every job exactly once across pages"

    summary = client.get(f"/api/jobs/{job['id']}/summary", headers=headers).json()
    assert summary == {"job_id": job["id"], "status": "queued", "counts": {}, "summary": None}

    cancelled = client.delete(f"/api/jobs/{job['id']}", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["finished_at"] is not None
    again = client.delete(f"/api/jobs/{job['id']}", headers=headers)
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    only_cancelled = client.get("/api/jobs", params={"status": "cancelled"}, headers=headers).json()["items"]
    assert [item["id"] for item in only_cancelled] == [job["id"]]


def test_running_job_counts_cancel_request_and_completed_summary(client: TestClient, settings: Settings) -> None:
    headers = auth(settings)
    running = create(client, headers)["id"]
    play_worker(settings, running, "running", counts={"prospects_found": 7})
    summary = client.get(f"/api/jobs/{running}/summary", headers=headers).json()
    assert summary["status"] == "running" and summary["counts"] == {"prospects_found": 7} and summary["summary"] is None

    response = client.delete(f"/api/jobs/{running}", headers=headers)
    assert response.status_code == 202
    assert response.json()["status"] == "running" and response.json()["cancel_requested"] is True

    done = create(client, headers)["id"]
    completed = RunSummary(
        duration_seconds=12.5,
        prospects_found=3,
        emails_contactable=2,
        artifacts=["leads_full.json"],
        run_id=done,
        status="complete",
        goal=GOAL,
        plan=SearchPlan(audience=TargetAudience(languages=["Python"]), max_prospects=3),
        api_requests=40,
    ).model_dump(mode="json")
    play_worker(settings, done, "succeeded", finished_at=orm.utcnow(), summary=completed)
    assert client.get(f"/api/jobs/{done}/summary", headers=headers).json()["summary"] == completed, "served as stored"
    assert client.delete(f"/api/jobs/{done}", headers=headers).status_code == 409


def test_artifacts_download_and_delete(client: TestClient, settings: Settings) -> None:
    headers = auth(settings)
    job_id = create(client, headers)["id"]
    artifacts = store_results(settings, headers, client, job_id)
    assert sorted(artifacts) == ["leads_contactable.csv", "leads_full.json"]

    download = client.get(f"/api/artifacts/{artifacts['leads_full.json']}", headers=headers)
    assert download.status_code == 200 and download.headers["content-type"] == "application/json"
    assert 'filename="leads_full.json"' in download.headers["content-disposition"]
    assert json.loads(download.content) == [{"id": "gh_ada"}]
    csv = client.get(f"/api/artifacts/{artifacts['leads_contactable.csv']}", headers=headers)
    assert csv.headers["content-type"].startswith("text/csv") and csv.text == "id\ngh_ada\n"

    assert store_results(settings, headers, client, job_id) == artifacts, "a rewrite keeps ids and adds no rows"
    assert client.delete(f"/api/artifacts/{artifacts['leads_full.json']}", headers=headers).status_code == 204
    assert client.get(f"/api/artifacts/{artifacts['leads_full.json']}", headers=headers).status_code == 404
    assert [a["name"] for a in client.get(f"/api/jobs/{job_id}/artifacts", headers=headers).json()["items"]] == [
        "leads_contactable.csv"
    ]


def test_engagement_drives_analytics(client: TestClient, settings: Settings) -> None:
    headers = auth(settings)
    job_id = create(client, headers, campaign={"id": "cmp_q1", "name": "Q1"})["id"]
    store_results(settings, headers, client, job_id)
    events = [("gh_ada", "opened"), ("gh_ada", "replied"), ("gh_ada", "demo_booked"), ("gh_cy", "replied"), ("gh_cy", "replied")]
    for prospect, kind in events:
        response = client.post("/api/events", json={"job_id": job_id, "prospect_id": prospect, "type": kind}, headers=headers)
        assert response.status_code == 201, response.text
    unknown = client.post("/api/events", json={"job_id": job_id, "prospect_id": "gh_nobody", "type": "opened"}, headers=headers)
    assert unknown.status_code == 404
    for when in ("1900-01-01T00:00:00Z", "2999-01-01T00:00:00Z"):  # issue 14: both were accepted and counted
        dated = {"job_id": job_id, "prospect_id": "gh_ada", "type": "replied", "occurred_at": when}
        refused = client.post("/api/events", json=dated, headers=headers)
        assert refused.status_code == 422 and "outside the job's life" in refused.json()["detail"], refused.text

    [stats] = client.get("/api/analytics/campaigns", headers=headers).json()["items"]
    assert stats["campaign_id"] == "cmp_q1" and stats["prospects_found"] == 3 and stats["contactable"] == 2
    assert stats["contacted"] == 3, "the needs_review prospect replied, so it was contacted"
    assert stats["engagement"] == {"opened": 1, "replied": 2, "demo_booked": 1}
    assert stats["conversions"] == 1 and stats["conversion_rate"] == pytest.approx(1 / 3, abs=1e-4)

    conversions = client.get("/api/analytics/conversions", headers=headers).json()
    assert conversions["jobs"] == 1 and conversions["conversions"] == 1 and conversions["by_goal"] == {"demo_booked": 1}

    prospects = client.get("/api/analytics/prospects", params={"top": 2}, headers=headers).json()
    assert prospects["total"] == 3 and prospects["by_verdict"] == {"approved": 2, "needs_review": 1}
    assert prospects["engaged"] == 2 and prospects["average_score"] == pytest.approx(2.0 / 3, abs=1e-4)
    assert [(p["username"], p["events"]) for p in prospects["top"]] == [
        ("ada", {"opened": 1, "replied": 1, "demo_booked": 1}),
        ("bob", {}),
    ]


def test_campaign_conversion_goals_are_respected(client: TestClient, settings: Settings) -> None:
    headers = auth(settings)
    job_id = create(client, headers, campaign={"analytics": {"conversion_goals": ["replied"]}})["id"]
    store_results(settings, headers, client, job_id)
    for prospect in ("gh_ada", "gh_bob"):
        client.post("/api/events", json={"job_id": job_id, "prospect_id": prospect, "type": "replied"}, headers=headers)
    [stats] = client.get("/api/analytics/campaigns", headers=headers).json()["items"]
    assert stats["conversion_goals"] == ["replied"] and stats["conversions"] == 2 and stats["conversion_rate"] == 1.0


def test_the_job_shows_the_conversion_goals_analytics_uses(client: TestClient, settings: Settings) -> None:
    """Issue 14: a job showed `["contact_made"]` while analytics counted SPEC's three defaults, and a
    goal that is no engagement type was accepted and then silently dropped."""
    headers = auth(settings)
    job = create(client, headers, campaign={"name": "Q1"})
    store_results(settings, headers, client, job["id"])
    [stats] = client.get("/api/analytics/campaigns", headers=headers).json()["items"]
    shown = client.get(f"/api/jobs/{job['id']}", headers=headers).json()["campaign"]["analytics"]["conversion_goals"]
    assert shown == stats["conversion_goals"] == ["demo_booked", "trial_started", "contact_made"]
    refused = client.post(
        "/api/jobs", json={"goal": GOAL, "campaign": {"analytics": {"conversion_goals": ["signed_contract"]}}}, headers=headers
    )
    assert refused.status_code == 422 and "conversion_goals" in refused.text


def test_tenants_are_isolated_on_every_route(client: TestClient, settings: Settings) -> None:
    alice, mallory = auth(settings), auth(settings)
    job_id = create(client, alice)["id"]
    artifact_id = store_results(settings, alice, client, job_id)["leads_full.json"]
    client.post("/api/events", json={"job_id": job_id, "prospect_id": "gh_ada", "type": "opened"}, headers=alice)
    create(client, mallory, goal="Find Go developers")

    missing_job, missing_artifact = "cmo_" + "0" * 20, "art_" + "0" * 20

    def scrubbed(response: testclient.httpx.Response) -> dict[str, Any]:
        """The problem body with ids and request id blanked, to compare foreign with missing."""
        text = response.text
        for value in (job_id, artifact_id, missing_job, missing_artifact):
            text = text.replace(value, "<id>")
        return {k: v for k, v in json.loads(text).items() if k != "request_id"}

    for method, path in (
        ("GET", f"/api/jobs/{job_id}"),
        ("GET", f"/api/jobs/{job_id}/summary"),
        ("GET", f"/api/jobs/{job_id}/artifacts"),
        ("DELETE", f"/api/jobs/{job_id}"),
        ("GET", f"/api/artifacts/{artifact_id}"),
        ("DELETE", f"/api/artifacts/{artifact_id}"),
    ):
        foreign = client.request(method, path, headers=mallory)
        absent = client.request(method, path.replace(job_id, missing_job).replace(artifact_id, missing_artifact), headers=mallory)
        assert foreign.status_code == absent.status_code == 404, (method, path)
        assert scrubbed(foreign) == scrubbed(absent), "a foreign id must read exactly like a missing one"
    event = {"job_id": job_id, "prospect_id": "gh_ada", "type": "replied"}
    assert client.post("/api/events", json=event, headers=mallory).status_code == 404

    assert [j["goal"] for j in client.get("/api/jobs", headers=mallory).json()["items"]] == ["Find Go developers"]
    assert client.get("/api/analytics/prospects", headers=mallory).json()["total"] == 0
    assert client.get("/api/analytics/conversions", headers=mallory).json()["engagement"] == {}
    assert [s["goal"] for s in client.get("/api/analytics/campaigns", headers=mallory).json()["items"]] == ["Find Go developers"]
    assert client.get(f"/api/jobs/{job_id}", headers=alice).json()["status"] == "queued", "mallory's DELETE changed nothing"
    assert client.get(f"/api/artifacts/{artifact_id}", headers=alice).status_code == 200


def test_job_created_event_is_logged(client: TestClient, settings: Settings) -> None:
    headers = auth(settings)
    job_id = create(client, headers, max_prospects=5)["id"]
    client.delete(f"/api/jobs/{job_id}", headers=headers)

    async def events(db: Database) -> list[tuple[int, str, dict[str, Any]]]:
        async with db.sessions() as session:
            rows = await session.execute(
                select(orm.JobEvent.seq, orm.JobEvent.event, orm.JobEvent.data)
                .where(orm.JobEvent.job_id == job_id)
                .order_by(orm.JobEvent.seq)
            )
            return [(seq, event, data) for seq, event, data in rows]

    logged = run_with_database(settings, events)
    assert [(seq, event) for seq, event, _ in logged] == [(1, "job.created"), (2, "job.cancelled")]
    # SPEC's job.created data is in the stored event (and so on the SSE stream), not only the webhook.
    created = logged[0][2]
    assert created["goal"] == GOAL and created["prospect_count"] == 5 and created["estimated_duration"] is None, created
