"""Prometheus metrics of the API and worker processes.

Defined once at import (prometheus-client registries are process-global, and tests build many
apps); request metrics are labelled by route template, never by raw path, to bound cardinality.
Job and queue gauges are refreshed when the API's `/metrics` is scraped, and every few seconds by a
`cmo worker` that serves its own (`--metrics-port`). An API process running inline workers shows
the worker metrics too.

`cmo serve --processes N` runs N API processes: prometheus-client's multiprocess mode
(`PROMETHEUS_MULTIPROC_DIR`, set by the CLI before the processes start) keeps each process's values
in files and `exposition` sums them, so whichever process answers `/metrics` reports all of them.
Gauges say how to combine: database-derived ones take the most recent value, per-process counts of
open things add up over live processes.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

REQUESTS = Counter("cmo_http_requests_total", "HTTP requests answered.", ["method", "route", "status"])
LATENCY = Histogram(
    "cmo_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
KEY_LOOKUPS = Counter("cmo_api_key_lookups_total", "API key checks, by where the answer came from.", ["source"])
JOBS = Gauge("cmo_jobs", "Jobs in the database by status (all tenants).", ["status"], multiprocess_mode="mostrecent")
QUEUE_DEPTH = Gauge("cmo_queue_depth", "Job queue entries not yet acknowledged by a worker.", multiprocess_mode="mostrecent")
QUEUE_OLDEST_AGE = Gauge(
    "cmo_queue_oldest_pending_age_seconds",
    "Age of the oldest job queue entry not yet acknowledged (0 when none; Redis only).",
    multiprocess_mode="mostrecent",
)

# Workers: what this process ran. An attempt ends `succeeded`, `failed` or `cancelled` (the job's
# final status), `released` (handed back at shutdown) or `lost` (another worker took the lease over).
WORKER_JOBS_RUNNING = Gauge("cmo_worker_jobs_running", "Jobs this process is running.", multiprocess_mode="livesum")
WORKER_JOBS_ENDED = Counter("cmo_worker_jobs_total", "Job attempts this process ended, by how they ended.", ["status"])
WORKER_JOB_DURATION = Histogram(
    "cmo_worker_job_duration_seconds",
    "Duration of the job attempts this process ran, by how they ended.",
    ["status"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600),
)
WORKER_GITHUB_REQUESTS = Counter(
    "cmo_worker_github_requests_total",
    "GitHub requests of the jobs this process finished (counted when a job ends), by who answered.",
    ["answered_by"],
)


def exposition() -> tuple[bytes, str]:
    """The scrape body and its content type: this process's registry, or with several API processes
    (`PROMETHEUS_MULTIPROC_DIR` set) the sum of all of theirs."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
