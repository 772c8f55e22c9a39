"""Service knobs that are not deployment settings (those live in `cmo.settings.Settings`).

They are constants of the API contract or of its infrastructure; tests override a few (a private
stream name per test, a smaller body limit) by passing their own `ApiConfig` to `create_app`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiConfig:
    """Limits and names shared by the app, its middleware and its services."""

    jobs_stream: str = "cmo:jobs"
    workers_group: str = "workers"
    max_body_bytes: int = 256 * 1024
    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_pool_recycle_seconds: int = 1800
    readiness_timeout_seconds: float = 2.0
    redis_timeout_seconds: float = 2.0
