"""Prometheus metrics of the API process.

Defined once at import (prometheus-client registries are process-global, and tests build many
apps); request metrics are labelled by route template, never by raw path, to bound cardinality.
Job and queue gauges are refreshed when `/metrics` is scraped.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("cmo_http_requests_total", "HTTP requests answered.", ["method", "route", "status"])
LATENCY = Histogram(
    "cmo_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
JOBS = Gauge("cmo_jobs", "Jobs in the database by status (all tenants).", ["status"])
QUEUE_DEPTH = Gauge("cmo_queue_depth", "Job queue entries not yet acknowledged by a worker.")
QUEUE_OLDEST_AGE = Gauge(
    "cmo_queue_oldest_pending_age_seconds", "Age of the oldest job queue entry not yet acknowledged (0 when none; Redis only)."
)
