"""The process's Redis client (one connection pool, opened in the app lifespan).

Timeouts are short on purpose: a Redis outage must turn into a fast error or a 503 from `/readyz`,
never into requests that hang; `health_check_interval` re-checks idle pooled connections.
"""

from __future__ import annotations

from redis.asyncio import Redis


def open_redis(url: str, timeout_seconds: float) -> Redis:
    return Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        health_check_interval=30,
        decode_responses=True,
    )
