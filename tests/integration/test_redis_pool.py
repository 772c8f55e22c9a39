"""The service's Redis client waits for a free connection instead of failing a command, on the real
Redis (api/core/redis.py): redis-py's default pool raised "Too many connections" at once."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from api.core.redis import open_redis


async def test_commands_beyond_the_pool_wait_their_turn(redis_url: str) -> None:
    redis = open_redis(redis_url, timeout_seconds=5, max_connections=2)
    key = f"cmo:test:pool:{uuid.uuid4().hex}"
    try:
        # each BLPOP holds its connection until it times out: 8 of them need 4 turns of 2
        results = await asyncio.gather(*(redis.blpop([key], timeout=0.2) for _ in range(8)))
        assert results == [None] * 8
    finally:
        await redis.aclose()


async def test_a_command_that_waits_longer_than_the_timeout_fails_as_a_redis_error(redis_url: str) -> None:
    redis = open_redis(redis_url, timeout_seconds=0.3, max_connections=1)
    held = await redis.connection_pool.get_connection()  # a pub/sub or a blocking read holds it so
    try:
        with pytest.raises(RedisConnectionError):  # a RedisError: the callers' handling applies
            await redis.ping()
        await redis.connection_pool.release(held)
        assert await redis.ping() is True
    finally:
        await redis.aclose()
