"""`cmo worker --metrics-port`: a worker process serves Prometheus metrics of its own jobs (running,
ended by status, durations, GitHub requests) and of the queue, scraped over HTTP like Prometheus
would; a port it cannot bind is one clear line, exit 2."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from api.app import create_app
from api.core.config import ApiConfig
from foundation.settings import Settings
from sandbox import open_sandbox
from tests.integration.test_api_jobs import auth
from tests.integration.test_api_worker import GOAL, SENDER, finished, stop, wait_until
from tests.integration.test_api_worker import pg_settings as pg_settings


def start_worker(settings: Settings, stream: str, log: Path, *options: str, latency_ms: int = 80) -> subprocess.Popen[bytes]:
    """`cmo worker` on the test's database and stream, one job at a time, dead after 2 s of silence."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "CMO_HOME": str(settings.cmo_home),
        **{name.upper(): value for name, value in SENDER.items()},
        "SANDBOX_LATENCY_MS": str(latency_ms),
        "GITHUB_GRAPHQL": "false",  # REST: one enricher branch per person, so tests can act mid-wave
    }
    command = [
        sys.executable,
        "-m",
        "cli",
        "worker",
        "--sandbox",
        "--concurrency",
        "1",
        "--claim-idle",
        "2",
        "--stream",
        stream,
        *options,
    ]
    return subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def logged(log: Path, field: str) -> object | None:
    """The first value of `field` in the worker's JSON log lines."""
    for line in log.read_text().splitlines():
        if line.startswith("{") and field in (record := json.loads(line)):
            return record[field]
    return None


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(httpx.get(url, timeout=5).text):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_a_worker_serves_metrics_of_its_jobs_and_of_the_queue(pg_settings: Settings, stream: str, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    worker = start_worker(pg_settings, stream, log, "--metrics-port", "0", "--metrics-host", "127.0.0.1")
    try:
        port = wait_until(lambda: logged(log, "metrics_port"), 30, "the worker to log its metrics port")
        url = f"http://127.0.0.1:{port}/metrics"
        with TestClient(
            create_app(pg_settings, ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream, workers_inline=0))
        ) as client:
            headers = auth(pg_settings)
            job_id = client.post("/api/jobs", json={"goal": GOAL, "max_prospects": 5}, headers=headers).json()["id"]
            wait_until(lambda: scrape(url).get(("cmo_worker_jobs_running", ())) == 1, 30, "the job to run")
            wait_until(lambda: finished(client, headers, job_id), 60, "the job to finish")
        after = wait_until(lambda: (s := scrape(url)).get(("cmo_queue_depth", ())) == 0 and s, 15, "the queue gauges to refresh")
    finally:
        stop(worker)
    succeeded = (("status", "succeeded"),)
    assert after[("cmo_worker_jobs_running", ())] == 0
    assert after[("cmo_worker_jobs_total", succeeded)] == 1
    assert (
        after[("cmo_worker_job_duration_seconds_count", succeeded)] == 1
        and after[("cmo_worker_job_duration_seconds_sum", succeeded)] > 0
    )
    assert after[("cmo_worker_github_requests_total", (("answered_by", "github"),))] > 0
    assert after[("cmo_queue_oldest_pending_age_seconds", ())] == 0


def test_a_metrics_port_in_use_is_one_clear_line(tmp_path: Path, redis_url: str, stream: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(cmo_home=tmp_path / "home", redis_url=redis_url)
        worker = start_worker(
            settings, stream, tmp_path / "worker.log", "--metrics-port", str(port), "--metrics-host", "127.0.0.1"
        )
        assert worker.wait(60) == 2
    output = (tmp_path / "worker.log").read_text()
    assert f"cannot serve metrics on 127.0.0.1:{port}" in output and "Traceback" not in output
