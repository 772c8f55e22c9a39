"""Workers against the real databases and Redis: a job over HTTP from creation to downloadable
artifacts (inline worker on SQLite; inline worker on Postgres + a Redis Stream, with the queue
metrics), cancelling a running job, a `cmo worker` process killed with SIGKILL mid-job whose job a
second one finishes, a stopping worker handing its job over, and a job stream deleted mid-run.

Each Redis test uses its own stream (deleted afterwards: Redis is shared with other tests), and each
Postgres test its own schema (a worker takes every unfinished job it finds in its database).
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
from sqlalchemy import Row, Select, create_engine, select
from starlette.testclient import TestClient

from api.app import create_app
from api.core import orm
from api.core.config import ApiConfig
from api.core.migrate import upgrade
from foundation.artifacts import ARTIFACTS
from foundation.schemas.run import CampaignCompleted
from foundation.settings import Settings
from graph.graph import build_graph
from graph.runner import run_job
from sandbox import open_sandbox
from storage.checkpoints import open_checkpointer
from storage.urls import sqlalchemy_url
from tests.integration.test_api_jobs import auth

GOAL = "Find Python maintainers active in ML"
# What compliance needs to approve drafts, so the contactable CSV has rows.
SENDER = {"cmo_sender_postal_address": "1 Main St, Springfield", "cmo_unsubscribe_url": "https://acme-devtools.io/unsubscribe"}
WORKER_EVENTS = {"job.created", "job.started", "job.progress", "campaign.completed"}  # not the graph's stream
VOLATILE = {"task", "duration_ms", "budget_left"}  # differ between two runs of the same step
T = TypeVar("T")


@pytest.fixture
def pg_settings(tmp_path: Path, private_postgres_url: str, redis_url: str) -> Iterator[Settings]:
    """A Postgres schema of the test's own."""
    settings = Settings(cmo_home=tmp_path / "home", database_url=private_postgres_url, redis_url=redis_url, **SENDER)
    upgrade(settings)
    yield settings


def wait_until(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def rows(settings: Settings, query: Select[Any]) -> list[Row[Any]]:
    """Read the service database directly, as the workers left it."""
    engine = create_engine(sqlalchemy_url(settings, driver_async=False))
    try:
        with engine.connect() as conn:
            return list(conn.execute(query))
    finally:
        engine.dispose()


def job_row(settings: Settings, job_id: str) -> Row[Any]:
    return rows(settings, select(orm.Job.__table__).where(orm.Job.id == job_id))[0]


def events_of(settings: Settings, job_id: str) -> list[tuple[str, dict[str, Any]]]:
    query = select(orm.JobEvent.event, orm.JobEvent.data).where(orm.JobEvent.job_id == job_id).order_by(orm.JobEvent.seq)
    return [(event, data) for event, data in rows(settings, query)]


def finished(client: TestClient, headers: dict[str, str], job_id: str) -> dict[str, Any] | None:
    job = client.get(f"/api/jobs/{job_id}", headers=headers).json()
    return job if job["status"] in orm.FINISHED_STATUSES else None


def shapes(events: list[tuple[str, dict[str, Any]]]) -> Counter[tuple[str, str]]:
    """The graph's events, comparable across runs: what happened, without ids and timings."""
    return Counter(
        (name, json.dumps({k: v for k, v in data.items() if k not in VOLATILE}, sort_keys=True))
        for name, data in events
        if name not in WORKER_EVENTS
    )


def downloads(client: TestClient, headers: dict[str, str], job_id: str) -> dict[str, bytes]:
    items = client.get(f"/api/jobs/{job_id}/artifacts", headers=headers).json()["items"]
    return {item["name"]: client.get(item["download_url"], headers=headers).content for item in items}


def test_embedded_mode_runs_the_whole_job_in_the_api_process(tmp_path: Path) -> None:
    settings = Settings(cmo_home=tmp_path / "home", **SENDER)
    # no DATABASE_URL, no REDIS_URL: SQLite + one inline worker
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox))) as client:
        headers = auth(settings)
        body = {"goal": GOAL, "max_prospects": 10, "campaign": {"id": "cmp_embedded"}}
        job_id = client.post("/api/jobs", json=body, headers=headers).json()["id"]
        job = wait_until(lambda: finished(client, headers, job_id), 60, "the job to finish")
        assert job["status"] == "succeeded" and job["error"] is None and job["started_at"] <= job["finished_at"]

        summary = client.get(f"/api/jobs/{job_id}/summary", headers=headers).json()
        assert summary["summary"]["prospects_found"] == 10 and summary["summary"]["artifacts"] == ARTIFACTS
        counts = summary["counts"]
        assert (
            counts["repos"] > 0
            and counts["candidates"] >= 10
            and counts["enriched"] == counts["drafted"] == counts["reviewed"] == 10
        )

        files = downloads(client, headers, job_id)
        assert set(files) == set(ARTIFACTS)
        leads = json.loads(files["leads_full.json"])
        contactable = list(csv.DictReader(io.StringIO(files["leads_contactable.csv"].decode())))
        assert len(leads) == 10 and len(contactable) == summary["summary"]["emails_contactable"] > 0
        assert json.loads(files["summary.json"]) == summary["summary"]
        trace = [json.loads(line)["event"] for line in files["trace.jsonl"].decode().splitlines()]
        assert trace[:2] == ["job.created", "job.started"] and trace[-1] == "campaign.completed"
        assert trace.count("prospect.enriched") == 10 and "job.progress" in trace

        stats = client.get("/api/analytics/campaigns", headers=headers).json()
        assert stats["items"][0]["prospects_found"] == 10, "prospects are stored rows"
    events = events_of(settings, job_id)
    assert [name for name, _ in events] == trace
    assert events[-1] == ("campaign.completed", {k: summary["summary"][k] for k in CampaignCompleted.model_fields}), "SPEC's"


def test_worker_on_postgres_and_redis_streams(pg_settings: Settings, stream: str, redis_url: str) -> None:
    config = ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream, workers_inline=1)
    with TestClient(create_app(pg_settings, config)) as client:
        headers = auth(pg_settings)
        job_id = client.post("/api/jobs", json={"goal": GOAL, "max_prospects": 5}, headers=headers).json()["id"]
        job = wait_until(lambda: finished(client, headers, job_id), 60, "the job to finish")
        assert job["status"] == "succeeded"
        assert json.loads(downloads(client, headers, job_id)["leads_full.json"])[4]["id"]
        metrics = client.get("/metrics").text
        assert "cmo_queue_depth 0.0" in metrics and "cmo_queue_oldest_pending_age_seconds 0.0" in metrics
    row = job_row(pg_settings, job_id)
    assert row.attempts == 1 and row.worker_id and row.heartbeat_at is not None
    client_redis = redis.Redis.from_url(redis_url)
    assert client_redis.xlen(stream) == 0, "the entry is acknowledged and deleted once the job finished"
    assert Counter(name for name, _ in events_of(pg_settings, job_id))["prospect.enriched"] == 5


def test_oldest_pending_age_follows_the_stream(pg_settings: Settings, stream: str, redis_url: str) -> None:
    config = ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream, workers_inline=0)
    with TestClient(create_app(pg_settings, config)) as client:
        client.post("/api/jobs", json={"goal": GOAL}, headers=auth(pg_settings))
        time.sleep(0.3)
        gauge = next(
            line for line in client.get("/metrics").text.splitlines() if line.startswith("cmo_queue_oldest_pending_age_seconds ")
        )
        assert float(gauge.split()[1]) >= 0.3


def test_cancelling_a_running_job_stops_it_and_keeps_partial_results(tmp_path: Path) -> None:
    # REST: one enricher branch per person, so a dozen finish while the job is still running.
    settings = Settings(cmo_home=tmp_path / "home", sandbox_latency_ms=60, github_graphql=False)
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox))) as client:
        headers = auth(settings)
        job_id = client.post("/api/jobs", json={"goal": GOAL}, headers=headers).json()["id"]
        enriched = lambda: sum(e == "agent.finished" and d["agent"] == "enricher" for e, d in events_of(settings, job_id))  # noqa: E731
        wait_until(lambda: enriched() >= 12, 60, "a dozen enrichments")
        asked = time.monotonic()
        assert client.delete(f"/api/jobs/{job_id}", headers=headers).status_code == 202
        job = wait_until(lambda: finished(client, headers, job_id), 10, "the job to stop")
        assert job["status"] == "cancelled" and time.monotonic() - asked < 3, "stopped within seconds"
        files = downloads(client, headers, job_id)
        leads = json.loads(files["leads_full.json"])
        assert set(files) == set(ARTIFACTS) and len(leads) > 0, "the leads found before the cancel are kept"
        assert json.loads(files["summary.json"])["status"] == "cancelled"
        time.sleep(1)  # the graph thread must have stopped: nothing is written after the terminal event
    events = events_of(settings, job_id)
    names = [name for name, _ in events]
    assert names[-1] == "job.cancelled" and events[-1][1]["prospects_found"] == len(leads)
    assert "campaign.completed" not in names and not any(d.get("agent") == "finalize" for _, d in events)


def unsaved_tasks(settings: Settings, job_id: str) -> set[str]:
    """Tasks of the job's next step whose results are not checkpointed: a resumed run runs them again."""
    with open_checkpointer(settings, job_row(settings, job_id).tenant_id) as saver:
        state = build_graph(saver).get_state({"configurable": {"thread_id": job_id}})
    return {task.id for task in state.tasks if task.result is None}


def worker_process(settings: Settings, stream: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "CMO_HOME": str(settings.cmo_home),
        **{name.upper(): value for name, value in SENDER.items()},
        "SANDBOX_LATENCY_MS": "80",
        "GITHUB_GRAPHQL": "false",  # REST: one enricher branch per person, so a kill lands mid-wave
    }
    command = [sys.executable, "-m", "cli", "worker", "--sandbox", "--concurrency", "1", "--claim-idle", "2", "--stream", stream]
    return subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_killed_worker_job_is_finished_by_another_from_its_checkpoint(
    pg_settings: Settings, stream: str, redis_url: str, tmp_path: Path
) -> None:
    reference = run_job(
        GOAL,
        Settings(cmo_home=tmp_path / "reference", github_graphql=False, **SENDER),
        sandbox=open_sandbox,
        out_dir=tmp_path / "ref",
    )
    first = worker_process(pg_settings, stream, tmp_path / "worker-1.log")
    second: subprocess.Popen[bytes] | None = None
    try:
        with TestClient(
            create_app(pg_settings, ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream, workers_inline=0))
        ) as client:
            headers = auth(pg_settings)
            job_id = client.post("/api/jobs", json={"goal": GOAL}, headers=headers).json()["id"]

            def enrichments() -> int:
                return sum(e == "agent.finished" and d["agent"] == "enricher" for e, d in events_of(pg_settings, job_id))

            wait_until(lambda: enrichments() >= 15, 60, "worker 1 to enrich 15 candidates")
            first.send_signal(signal.SIGKILL)
            first.wait()
            before_kill = events_of(pg_settings, job_id)
            rerun = unsaved_tasks(pg_settings, job_id)
            second = worker_process(pg_settings, stream, tmp_path / "worker-2.log")
            job = wait_until(lambda: finished(client, headers, job_id), 60, "the second worker to finish the job")
            assert job["status"] == "succeeded", (tmp_path / "worker-2.log").read_text()[-3000:]
            leads = json.loads(downloads(client, headers, job_id)["leads_full.json"])
            summary = client.get(f"/api/jobs/{job_id}/summary", headers=headers).json()["summary"]
    finally:
        stop(first)
        if second is not None:
            stop(second)

    assert [lead["id"] for lead in leads] == [p.id for p in reference.prospects], "same leads as an uninterrupted run"
    row = job_row(pg_settings, job_id)
    assert row.attempts == 2 and row.worker_id.split("-")[-2] == str(second.pid)
    # Only the calls of steps whose results were not checkpointed may be made again.
    done = sum(e == "tool.result" for e, _ in before_kill)
    redone = sum(e == "tool.result" and d["task"] in rerun for e, d in before_kill)
    sent = summary["api_requests"] + summary["api_requests_saved_by_cache"]  # the shared Redis ETag cache answers 304s
    # The reference's own revalidations count too: two people's events in one repo look it up twice (a 304).
    whole = (reference.summary.api_requests or 0) + (reference.summary.api_requests_saved_by_cache or 0)
    assert done - redone > 0 and sent <= whole - done + redone, "checkpointed calls were repeated"
    events = events_of(pg_settings, job_id)
    uninterrupted = [json.loads(line) for line in (tmp_path / "ref" / "trace.jsonl").read_text().splitlines()]
    expected = shapes([(e["event"], {"agent": e["agent"], **e["data"]}) for e in uninterrupted])
    assert not shapes(events) - expected, "events the uninterrupted run does not have (re-emitted by the resumed steps)"
    # Every task's events are stored before its results are checkpointed: the kill loses none.
    assert not expected - shapes(events), f"lost: {expected - shapes(events)}"
    names = Counter(name for name, _ in events)
    assert names["job.started"] == 2 and names["campaign.completed"] == 1
    assert names["prospect.enriched"] == len(reference.prospects)
    assert redis.Redis.from_url(redis_url).xlen(stream) == 0


def test_jobs_survive_their_stream_being_deleted_mid_run(pg_settings: Settings, stream: str, redis_url: str) -> None:
    settings = pg_settings.model_copy(update={"sandbox_latency_ms": 20})
    config = ApiConfig(
        github_sandbox=open_sandbox, jobs_stream=stream, workers_inline=1
    )  # the periodic sweep (every 60 s) comes too late
    with TestClient(create_app(settings, config)) as client:
        headers = auth(settings)
        running = client.post("/api/jobs", json={"goal": GOAL, "max_prospects": 5}, headers=headers).json()["id"]
        waiting = client.post(
            "/api/jobs", json={"goal": "Find Rust developers in Germany", "max_prospects": 5}, headers=headers
        ).json()["id"]
        wait_until(lambda: job_row(settings, running).status == "running", 30, "the first job to start")
        redis.Redis.from_url(redis_url).delete(stream)  # as if Redis restarted empty: the waiting job's entry is gone
        for job_id in (running, waiting):
            assert (
                wait_until(lambda job_id=job_id: finished(client, headers, job_id), 30, f"{job_id} to finish")["status"]
                == "succeeded"
            )
    assert job_row(settings, waiting).attempts == 1


def test_a_stopping_worker_hands_its_running_job_to_the_next_at_once(pg_settings: Settings, stream: str, redis_url: str) -> None:
    settings = pg_settings.model_copy(update={"sandbox_latency_ms": 40})
    config = ApiConfig(
        github_sandbox=open_sandbox, jobs_stream=stream, workers_inline=1
    )  # the default claim-idle (60 s) is never waited for
    with TestClient(create_app(settings, config)) as client:
        headers = auth(settings)
        job_id = client.post("/api/jobs", json={"goal": GOAL, "max_prospects": 5}, headers=headers).json()["id"]
        wait_until(lambda: len(events_of(settings, job_id)) > 30, 30, "the job to get going")
    released = job_row(settings, job_id)  # the app (and its worker) stopped mid-job
    assert released.status == "running" and released.worker_id is None and released.heartbeat_at is None
    assert redis.Redis.from_url(redis_url).xinfo_consumers(stream, "workers") == [], "a stopped worker leaves no consumer"
    with TestClient(create_app(settings, config)) as client:
        job = wait_until(lambda: finished(client, headers, job_id), 30, "the next worker to finish the job")
    assert job["status"] == "succeeded" and job_row(settings, job_id).attempts == 1, "a clean stop is no failed attempt"
    events = events_of(settings, job_id)
    assert [data["resumed"] for name, data in events if name == "job.started"] == [False, True]
    started = Counter(data["task"] for name, data in events if name == "agent.started")
    assert max(started.values()) == 1, "the steps run again after the hand-over are not logged twice"
    assert Counter(name for name, _ in events)["prospect.enriched"] == 5
