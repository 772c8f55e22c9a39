"""Service knobs that are not deployment settings (those live in `foundation.settings.Settings`).

They are constants of the API contract or of its infrastructure; tests override a few (a private
stream name per test, a smaller body limit) by passing their own `ApiConfig` to `create_app`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from graph.runner import SandboxOpener


@dataclass(frozen=True)
class ApiConfig:
    """Limits and names shared by the app, its middleware and its services."""

    # The GitHub sandbox jobs may use when the settings configure no GitHub: handed in by `cmo serve`,
    # `cmo worker --sandbox` and the tests; None (a deployment) fails such a job with a clear error.
    github_sandbox: SandboxOpener | None = None
    jobs_stream: str = "cmo:jobs"
    workers_group: str = "workers"
    max_body_bytes: int = 256 * 1024
    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_pool_recycle_seconds: int = 1800
    readiness_timeout_seconds: float = 2.0
    redis_timeout_seconds: float = 2.0
    # Process-wide GC tuning at start (api/app.py): `cmo serve` owns its process and sets it; an app
    # embedded elsewhere (tests, another server) leaves the host's GC alone.
    tune_gc: bool = False
    # Event streams (api/routers/events.py, api/services/bus.py).
    sse_ping_seconds: float = 15.0  # keep-alive comment on an idle event stream
    sse_send_timeout_seconds: float = 30.0  # a client that takes longer to accept a chunk is dropped
    sse_resync_seconds: float = 30.0  # a silent stream re-reads the event table this often
    sse_buffer_events: int = 1024  # live events buffered per stream before it falls back to the table
    # Workers (api/services/worker.py). None: one inline worker without Redis, none with it.
    workers_inline: int | None = None
    worker_claim_idle_seconds: float = 60.0  # a silent owner this long is dead: XAUTOCLAIM, lease takeover
    worker_heartbeat_seconds: float = 1.0  # lease refresh and cancel check of each running job
    worker_max_attempts: int = 3  # a job that killed this many workers fails instead of looping
    worker_consumer_idle_seconds: float = 600.0  # consumers with no pending entry idle this long are removed
    worker_metrics_refresh_seconds: float = 5.0  # queue gauges of `cmo worker --metrics-port` are this fresh
    # API keys (api/core/key_cache.py): a principal is cached this long; 0 turns the cache off.
    auth_cache_seconds: float = 30.0  # the worst-case delay of a revocation when Redis is down
    auth_cache_entries: int = 10_000
    # Browser sessions (api/routers/session.py): a sign-in is valid this long, then the cookie is refused.
    web_session_hours: float = 12.0
    # Control messages (api/core/redis.py ChannelListener): a silent subscription is pinged this often.
    control_ping_seconds: float = 5.0
    # Retention purge (api/services/retention.py) run by every worker this often; 0 turns it off.
    retention_purge_seconds: float = 4 * 3600.0
