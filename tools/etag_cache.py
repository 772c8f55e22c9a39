"""Conditional-request cache: URL -> (ETag, body). A 304 answer costs nothing against the limit.

SQLite under `$CMO_HOME` by default, Redis when `REDIS_URL` is set (shared by every worker).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class CachedResponse:
    etag: str
    body: bytes
    headers: dict[str, str]


class ETagCache(Protocol):
    def get(self, key: str) -> CachedResponse | None: ...

    def put(self, key: str, entry: CachedResponse) -> None: ...


class SQLiteETagCache:
    """One table in a local SQLite file; safe across threads (one connection per thread)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = str(path)
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
            self._local.conn = conn
        return conn

    def get(self, key: str) -> CachedResponse | None:
        row = self._conn().execute("SELECT etag, body, headers FROM etags WHERE key = ?", (key,)).fetchone()
        return CachedResponse(row[0], bytes(row[1]), json.loads(row[2])) if row else None

    def put(self, key: str, entry: CachedResponse) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO etags (key, etag, body, headers) VALUES (?, ?, ?, ?)",
            (key, entry.etag, entry.body, json.dumps(entry.headers)),
        )


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
        return CachedResponse(raw[b"etag"].decode(), raw[b"body"], json.loads(raw[b"headers"]))

    def put(self, key: str, entry: CachedResponse) -> None:
        name = self._prefix + key
        pipe = self._redis.pipeline()
        pipe.hset(name, mapping={"etag": entry.etag, "body": entry.body, "headers": json.dumps(entry.headers)})
        pipe.expire(name, self._ttl)
        pipe.execute()


def open_etag_cache(home: Path, redis_url: str | None) -> ETagCache:
    """The cache the settings ask for."""
    if redis_url:
        return RedisETagCache(redis_url)
    return SQLiteETagCache(home / "cache" / "github_etags.sqlite")
