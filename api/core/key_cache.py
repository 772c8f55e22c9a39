"""An in-process cache of API keys, so a request does not cost a database query to authenticate.

Every `/api` request looked its key up in Postgres, which made the key query the bottleneck of the
cheapest routes under load (bench: `GET /api/jobs/{id}` p99 3.7 s against 0.68 s bare at 200
clients). Each API process now keeps the principal of a key for `ApiConfig.auth_cache_seconds`
(30 s; least recently used entries go first beyond `auth_cache_entries`). Only valid keys are
cached: an unknown key is looked up every time, so random keys cannot evict real ones.

Revocation must not wait for the TTL. `announce_revocation` (called by `revoke_api_key`, in
whatever process revokes: `cmo apikey revoke` has its own) drops the key from every cache of its own
process and, with `REDIS_URL`, publishes the key id on `cmo:apikeys:revoked`, which every API
process follows (`ChannelListener`) and applies at once. A listener that reconnects empties its
cache, since it may have missed revocations meanwhile. What is left: while Redis is unreachable
(or without Redis, when the revoking process is not the serving one), a revoked key keeps working
on a process that cached it for at most the TTL.

A lookup that raced with a revocation (read before the revocation committed, stored after the
message was applied) would bring the key back; the cache's generation, bumped by every
invalidation, makes such a late `put` a no-op.
"""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING

import structlog
from redis.exceptions import RedisError

from api.core.config import ApiConfig
from api.core.redis import ChannelListener, publish_once
from foundation.settings import Settings

if TYPE_CHECKING:
    from api.core.principal import Principal

REVOKED_CHANNEL = "cmo:apikeys:revoked"

log = structlog.get_logger("api.auth")
_caches: weakref.WeakSet[KeyCache] = weakref.WeakSet()  # every cache of this process


class KeyCache:
    """Key hash → principal, for `ttl_seconds` at most, `max_entries` at most (0 s: no caching)."""

    def __init__(self, ttl_seconds: float, max_entries: int) -> None:
        self.ttl_seconds, self.max_entries = ttl_seconds, max_entries
        self.generation = 0  # read before a lookup, passed to `put`
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._listener: ChannelListener | None = None
        _caches.add(self)

    def get(self, key_hash: str) -> Principal | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        expires_at, principal = entry
        if time.monotonic() >= expires_at:
            del self._entries[key_hash]
            return None
        self._entries.move_to_end(key_hash)
        return principal

    def put(self, key_hash: str, principal: Principal, generation: int) -> None:
        """Remember a principal looked up when the cache was at `generation`; a lookup older than
        the last invalidation is not stored."""
        if self.ttl_seconds <= 0 or generation != self.generation:
            return
        self._entries[key_hash] = (time.monotonic() + self.ttl_seconds, principal)
        self._entries.move_to_end(key_hash)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget(self, key_id: str) -> None:
        self.generation += 1
        for key_hash in [h for h, (_, principal) in self._entries.items() if principal.key_id == key_id]:
            del self._entries[key_hash]

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()

    async def follow_revocations(self, redis_url: str, config: ApiConfig) -> None:
        """Apply the revocations published by any process from now on (until `close`)."""
        self._listener = ChannelListener(
            redis_url,
            REVOKED_CHANNEL,
            self.forget,
            on_connected=self.clear,
            timeout_seconds=config.redis_timeout_seconds,
            ping_seconds=config.control_ping_seconds,
        )
        await self._listener.start()

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()


async def open_key_cache(settings: Settings, config: ApiConfig) -> KeyCache:
    """The API process's cache (in the app lifespan), following revocations when Redis is configured."""
    cache = KeyCache(config.auth_cache_seconds, config.auth_cache_entries)
    if settings.redis_url:
        await cache.follow_revocations(settings.redis_url, config)
    return cache


async def announce_revocation(settings: Settings, config: ApiConfig, key_id: str) -> None:
    """After a revocation committed: forget the key in this process and tell every other one."""
    for cache in list(_caches):
        cache.forget(key_id)
    if not settings.redis_url:
        return
    try:
        await publish_once(settings.redis_url, REVOKED_CHANNEL, key_id, config.redis_timeout_seconds)
    except (RedisError, OSError) as exc:
        log.warning(
            "revocation not announced: API processes that cached the key accept it until their cache expires",
            key_id=key_id,
            error=str(exc),
            at_most_seconds=config.auth_cache_seconds,
        )
