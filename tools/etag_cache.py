"""Conditional-request cache: URL -> (ETag, body). A 304 answer costs nothing against the limit.

SQLite under `$CMO_HOME` by default, Redis when `REDIS_URL` is set (shared by every worker).
Cached bodies are GitHub profiles and commits, with names and emails: `SealedETagCache` encrypts
them at rest under the keyring's `_cache` tenant, since one cache serves every tenant's jobs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from privacy.crypto import TOKEN_PREFIX, DecryptionError, from_token, to_token

if TYPE_CHECKING:
    from storage.keyring import Keyring

CACHE_TENANT = "_cache"  # the keyring's tenant of shared caches (no service tenant id starts with "_")


@dataclass(frozen=True)
class CachedResponse:
    etag: str
    body: bytes
    headers: dict[str, str]


class ETagCache(Protocol):
    def get(self, key: str) -> CachedResponse | None: ...

    def put(self, key: str, entry: CachedResponse) -> None: ...

    def forget(self, matches: Callable[[str, bytes], bool]) -> int:
        """Delete the entries `matches(key, body)` selects (erasure of a person); returns how many."""
        ...


class SQLiteETagCache:
    """One table in a local SQLite file; safe across threads (one connection per thread)."""

    def __init__(self, path: Path, busy_wait_seconds: float = 30.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path, self._busy_wait = str(path), busy_wait_seconds
        self._local = threading.local()
        with self._conn() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS etags (key TEXT PRIMARY KEY, etag TEXT NOT NULL,"
                " body BLOB NOT NULL, headers TEXT NOT NULL)"
            )

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA secure_delete=ON")  # a replaced body leaves no stale bytes behind
            self._local.conn = conn
        return conn

    def get(self, key: str) -> CachedResponse | None:
        with closing(self._conn().execute("SELECT etag, body, headers FROM etags WHERE key = ?", (key,))) as cursor:
            row = cursor.fetchone()  # closed at once: a cursor left open keeps a snapshot that stalls erasure
        return CachedResponse(row[0], bytes(row[1]), json.loads(row[2])) if row else None

    def put(self, key: str, entry: CachedResponse) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO etags (key, etag, body, headers) VALUES (?, ?, ?, ?)",
            (key, entry.etag, entry.body, json.dumps(entry.headers)),
        )

    def forget(self, matches: Callable[[str, bytes], bool]) -> int:
        conn = self._conn()
        keys = [(key,) for key, body in conn.execute("SELECT key, body FROM etags").fetchall() if matches(key, bytes(body))]
        conn.executemany("DELETE FROM etags WHERE key = ?", keys)
        if keys:
            conn.execute("VACUUM")  # rebuilt pages carry no leftovers of cells freed before secure_delete
        empty_wal(conn, self._busy_wait, "the ETag cache")
        return len(keys)


def empty_wal(conn: sqlite3.Connection, wait_seconds: float, store: str) -> None:
    """Copy the WAL into the database file and truncate it. A reader still on an older snapshot
    makes the checkpoint report busy and leave the old pages (and the erased person) in place,
    so it is retried until every reader has moved on; past `wait_seconds` the erasure fails loudly."""
    deadline = time.monotonic() + wait_seconds
    while conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{store} stayed busy: its erased entries are still in the file")
        time.sleep(0.05)


def _as_bytes(value: bytes | str) -> bytes:
    """redis-py types hash values as `bytes | str` since it cannot see `decode_responses`; ours is off."""
    return value if isinstance(value, bytes) else value.encode()


class RedisETagCache:
    """A Redis hash per URL, expiring after `ttl_seconds` so the cache cannot grow without bound."""

    def __init__(self, url: str, prefix: str = "cmo:etag:", ttl_seconds: int = 7 * 24 * 3600) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix
        self._ttl = ttl_seconds

    def get(self, key: str) -> CachedResponse | None:
        raw = self._redis.hgetall(self._prefix + key)
        if not raw:
            return None
        return CachedResponse(_as_bytes(raw[b"etag"]).decode(), _as_bytes(raw[b"body"]), json.loads(raw[b"headers"]))

    def put(self, key: str, entry: CachedResponse) -> None:
        name = self._prefix + key
        pipe = self._redis.pipeline()
        pipe.hset(name, mapping={"etag": entry.etag, "body": entry.body, "headers": json.dumps(entry.headers)})
        pipe.expire(name, self._ttl)
        pipe.execute()

    def forget(self, matches: Callable[[str, bytes], bool]) -> int:
        keys = (name.decode().removeprefix(self._prefix) for name in self._redis.scan_iter(match=self._prefix + "*", count=500))
        names = [self._prefix + key for key in keys if (entry := self.get(key)) and matches(key, entry.body)]
        return int(self._redis.delete(*names)) if names else 0


class SealedETagCache:
    """Any cache, with bodies encrypted on the way in and decrypted on the way out (bound to their
    URL: a body moved to another key fails to decrypt). A body cached before encryption was turned
    on is served, and stored again sealed."""

    _prefix = TOKEN_PREFIX.encode()

    def __init__(self, inner: ETagCache, keyring: Keyring) -> None:
        self.inner, self.keyring = inner, keyring

    def get(self, key: str) -> CachedResponse | None:
        entry = self.inner.get(key)
        if entry is not None and not entry.body.startswith(self._prefix):
            self.put(key, entry)
            return entry
        body = self._open(key, entry.body) if entry else None
        return CachedResponse(entry.etag, body, entry.headers) if entry and body is not None else None

    def put(self, key: str, entry: CachedResponse) -> None:
        sealed = to_token(self.keyring.encrypt(CACHE_TENANT, entry.body, key.encode())).encode()
        self.inner.put(key, CachedResponse(entry.etag, sealed, entry.headers))

    def forget(self, matches: Callable[[str, bytes], bool]) -> int:
        return self.inner.forget(lambda key, body: matches(key, self._open(key, body) or b""))

    def _open(self, key: str, body: bytes) -> bytes | None:
        """The plaintext body; None when it was sealed by another deployment sharing this Redis
        (a miss, overwritten by the next answer)."""
        if not body.startswith(self._prefix):
            return body
        try:
            return self.keyring.decrypt(from_token(body.decode()), key.encode())
        except DecryptionError:
            return None


def open_etag_cache(home: Path, redis_url: str | None, keyring: Keyring) -> ETagCache:
    """The cache the settings ask for, encrypted with `keyring`."""
    inner: ETagCache = RedisETagCache(redis_url) if redis_url else SQLiteETagCache(home / "cache" / "github_etags.sqlite")
    return SealedETagCache(inner, keyring)
