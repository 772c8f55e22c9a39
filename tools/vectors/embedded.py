"""The embedded vector store of the SQLite mode: one SQLite file under `$CMO_HOME`, exact cosine
search in numpy.

Why not sqlite-vec, usearch or LanceDB (measured in bench/vectors.py, bench/README.md): sqlite-vec is
a loadable extension, and Python builds without `enable_load_extension` (pyenv's default, this
machine's, macOS's system Python) cannot load it at all; usearch's HNSW answers faster but is
approximate, filters only by a per-candidate Python callback and keeps its index in a file beside
the data that two processes cannot share; LanceDB's wheel is 77 MB plus pyarrow. Rows in SQLite give
transactions, several processes on one file (WAL), and erasure with `secure_delete`; exact search
over 100,000 rows of 256 floats is one matrix-vector product (milliseconds), and filters pick rows
from in-memory inverted lists before the product, so a selective filter is exact, never a
post-filter of an approximate top-k.

Each (space, namespace) is loaded into memory on first query and reloaded when its generation
(bumped in the same transaction as every write, by any process) has moved on; this process's own
writes are applied to the loaded copy instead, so a lookalike search that stores candidates and
then queries does not reload 100,000 rows each time.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tools.etag_cache import empty_wal
from tools.vectors.base import PERSON_KEY, MetadataValue, VectorMatch, VectorRecord
from tools.vectors.filters import Condition, parse_filter

VECTORS_FILE = "vectors.sqlite3"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS vectors (space TEXT NOT NULL, namespace TEXT NOT NULL, id TEXT NOT NULL,"
    " embedding BLOB NOT NULL, metadata TEXT NOT NULL, person TEXT, PRIMARY KEY (space, namespace, id))",
    "CREATE INDEX IF NOT EXISTS vectors_person ON vectors (person)",
    "CREATE TABLE IF NOT EXISTS generations (space TEXT NOT NULL, namespace TEXT NOT NULL,"
    " generation INTEGER NOT NULL, PRIMARY KEY (space, namespace))",
)


@dataclass
class _Loaded:
    """One namespace in memory: row i is ids[i], matrix[i], metadata[i]."""

    generation: int
    ids: list[str]
    matrix: np.ndarray
    metadata: list[dict[str, MetadataValue]]
    postings: dict[str, dict[object, np.ndarray]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rows = {vector_id: row for row, vector_id in enumerate(self.ids)}

    def put(self, records: Sequence[VectorRecord]) -> None:
        """This process's upsert, applied in place (new ids appended)."""
        fresh: list[VectorRecord] = []
        for record in records:
            row = self.rows.get(record.id)
            if row is None:
                self.rows[record.id] = len(self.ids) + len(fresh)
                fresh.append(record)
            else:
                self.matrix[row] = _unit(np.asarray([record.values], dtype=np.float32))[0]
                self.metadata[row] = dict(record.metadata)
        if fresh:
            self.matrix = np.vstack([self.matrix, _unit(np.asarray([r.values for r in fresh], dtype=np.float32))])
            self.ids += [r.id for r in fresh]
            self.metadata += [dict(r.metadata) for r in fresh]
        self.postings.clear()

    def drop(self, ids: Sequence[str]) -> None:
        """This process's delete, applied in place."""
        keep = np.ones(len(self.ids), dtype=bool)
        keep[[self.rows[i] for i in set(ids) if i in self.rows]] = False
        self.matrix = self.matrix[keep]
        self.ids = [vector_id for vector_id, kept in zip(self.ids, keep, strict=True) if kept]
        self.metadata = [meta for meta, kept in zip(self.metadata, keep, strict=True) if kept]
        self.__post_init__()
        self.postings.clear()

    def rows_with(self, key: str) -> dict[object, np.ndarray]:
        """Value -> rows holding it under `key` (built on first use; list items each count)."""
        if key not in self.postings:
            lists: dict[object, list[int]] = {}
            for row, meta in enumerate(self.metadata):
                value = meta.get(key)
                for item in value if isinstance(value, list) else ([] if value is None else [value]):
                    lists.setdefault(_posting_key(item), []).append(row)
            self.postings[key] = {value: np.asarray(rows, dtype=np.int64) for value, rows in lists.items()}
        return self.postings[key]

    def mask(self, conditions: list[Condition]) -> np.ndarray:
        keep = np.ones(len(self.ids), dtype=bool)
        for condition in conditions:
            postings = self.rows_with(condition.key)
            hit = np.zeros(len(self.ids), dtype=bool)
            for value in condition.values:
                rows = postings.get(_posting_key(value))
                if rows is not None:
                    hit[rows] = True
            keep &= ~hit if condition.op == "$nin" else hit
        return keep


def _unit(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1, so a product is the cosine (stored values stay as given)."""
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _posting_key(value: object) -> object:
    """Booleans apart from numbers (True is not 1 in a filter), 1 and 1.0 together."""
    return ("bool", value) if isinstance(value, bool) else value


class EmbeddedVectorStore:
    """Vectors of one embedding space (`space`, e.g. the embedder's name) in `path`."""

    name = "embedded"

    def __init__(self, path: Path, *, space: str, dimensions: int, busy_wait_seconds: float = 30.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path, self._space, self._dimensions, self._busy_wait = str(path), space, dimensions, busy_wait_seconds
        self._local = threading.local()
        self._cache: dict[str, _Loaded] = {}
        self._cache_lock = threading.Lock()
        conn = self._conn()
        conn.execute("PRAGMA journal_mode=WAL")
        for statement in _SCHEMA:
            conn.execute(statement)
        path.chmod(0o600)  # vectors derived from people are personal data

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA secure_delete=ON")  # a deleted vector leaves no bytes behind in free pages
            self._local.conn = conn
        return conn

    def _generation(self, conn: sqlite3.Connection, namespace: str) -> int:
        with closing(
            conn.execute("SELECT generation FROM generations WHERE space = ? AND namespace = ?", (self._space, namespace))
        ) as cursor:
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    def _bump(self, conn: sqlite3.Connection, namespace: str) -> int:
        """Moves the namespace's generation on (inside the write's transaction); returns the one before."""
        before = self._generation(conn, namespace)
        conn.execute(
            "INSERT INTO generations (space, namespace, generation) VALUES (?, ?, 1)"
            " ON CONFLICT (space, namespace) DO UPDATE SET generation = generation + 1",
            (self._space, namespace),
        )
        return before

    def _follow(self, namespace: str, before: int, change: Callable[[_Loaded], None]) -> None:
        """Apply this process's committed write to the loaded copy when it was current before the
        write (else another process wrote in between: drop it, the next query reloads)."""
        with self._cache_lock:
            cached = self._cache.get(namespace)
            if cached is None:
                return
            if cached.generation != before:
                del self._cache[namespace]
                return
            change(cached)
            cached.generation = before + 1

    def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> None:
        if not records:
            return
        rows = []
        for record in records:
            if len(record.values) != self._dimensions or not any(record.values):
                raise ValueError(f"vector {record.id!r} must be {self._dimensions} floats, not all zero")
            person = record.metadata.get(PERSON_KEY)
            rows.append(
                (
                    self._space,
                    namespace,
                    record.id,
                    np.asarray(record.values, dtype=np.float32).tobytes(),
                    json.dumps(record.metadata, sort_keys=True),
                    person if isinstance(person, str) else None,
                )
            )
        conn = self._conn()
        with _transaction(conn):
            conn.executemany(
                "INSERT INTO vectors (space, namespace, id, embedding, metadata, person) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (space, namespace, id) DO UPDATE SET embedding = excluded.embedding,"
                " metadata = excluded.metadata, person = excluded.person",
                rows,
            )
            before = self._bump(conn, namespace)
        self._follow(namespace, before, lambda loaded: loaded.put(records))

    def _loaded(self, namespace: str) -> _Loaded:
        conn = self._conn()
        generation = self._generation(conn, namespace)
        with self._cache_lock:
            cached = self._cache.get(namespace)
            if cached is not None and cached.generation == generation:
                return cached
        with closing(
            conn.execute(
                "SELECT id, embedding, metadata FROM vectors WHERE space = ? AND namespace = ?",
                (self._space, namespace),
            )
        ) as cursor:
            rows = cursor.fetchall()
        matrix = _unit(np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), self._dimensions))
        loaded = _Loaded(generation, [r[0] for r in rows], matrix, [json.loads(r[2]) for r in rows])
        with self._cache_lock:
            self._cache[namespace] = loaded
        return loaded

    def query(
        self, namespace: str, vector: Sequence[float], top_k: int, metadata_filter: dict[str, object] | None = None
    ) -> list[VectorMatch]:
        conditions = parse_filter(metadata_filter)
        loaded = self._loaded(namespace)
        if not loaded.ids or top_k <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        if len(query) != self._dimensions or norm == 0:
            raise ValueError(f"query vector must be {self._dimensions} non-zero floats")
        rows = np.flatnonzero(loaded.mask(conditions)) if conditions else np.arange(len(loaded.ids))
        if not len(rows):
            return []
        unit = query / norm
        if len(rows) * 4 < len(loaded.ids):  # a selective filter: score only its rows
            scores = loaded.matrix[rows] @ unit
        else:  # copying most of the matrix costs more than scoring all of it
            scores = (loaded.matrix @ unit)[rows]
        k = min(top_k, len(rows))
        best = np.argpartition(-scores, k - 1)[:k]
        ranked = sorted(best.tolist(), key=lambda i: (-scores[i], loaded.ids[rows[i]]))  # ties by id: a stable order
        return [VectorMatch(id=loaded.ids[rows[i]], score=float(scores[i]), metadata=loaded.metadata[rows[i]]) for i in ranked]

    def fetch(self, namespace: str, ids: Sequence[str]) -> list[VectorRecord]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        with closing(
            self._conn().execute(
                f"SELECT id, embedding, metadata FROM vectors WHERE space = ? AND namespace = ? AND id IN ({marks})",
                (self._space, namespace, *ids),
            )
        ) as cursor:
            rows = cursor.fetchall()
        return [
            VectorRecord(id=r[0], values=np.frombuffer(r[1], dtype=np.float32).tolist(), metadata=json.loads(r[2])) for r in rows
        ]

    def delete(self, namespace: str, *, ids: Sequence[str] = (), metadata_filter: dict[str, object] | None = None) -> None:
        conditions = parse_filter(metadata_filter)
        doomed = list(ids)
        if conditions:
            loaded = self._loaded(namespace)
            doomed += [loaded.ids[row] for row in np.flatnonzero(loaded.mask(conditions))]
        if not doomed:
            return
        conn = self._conn()
        with _transaction(conn):
            conn.executemany(
                "DELETE FROM vectors WHERE space = ? AND namespace = ? AND id = ?",
                [(self._space, namespace, vector_id) for vector_id in doomed],
            )
            before = self._bump(conn, namespace)
        self._follow(namespace, before, lambda loaded: loaded.drop(doomed))

    def count(self, namespace: str) -> int:
        with closing(
            self._conn().execute("SELECT count(*) FROM vectors WHERE space = ? AND namespace = ?", (self._space, namespace))
        ) as cursor:
            return int(cursor.fetchone()[0])

    def held_about(self, login: str, namespaces: Sequence[str]) -> list[tuple[str, VectorRecord]]:
        """Every vector derived from `login` in `namespaces`, any embedding space, with its space
        (data-subject access)."""
        if not namespaces:
            return []
        marks = ",".join("?" * len(namespaces))
        with closing(
            self._conn().execute(
                f"SELECT space, id, embedding, metadata FROM vectors WHERE person = ? AND namespace IN ({marks}) ORDER BY space, id",
                (login.lower(), *namespaces),
            )
        ) as cursor:
            rows = cursor.fetchall()
        return [
            (r[0], VectorRecord(id=r[1], values=np.frombuffer(r[2], dtype=np.float32).tolist(), metadata=json.loads(r[3])))
            for r in rows
        ]

    def forget_person(self, login: str, namespaces: Sequence[str] | None = None) -> int:
        """Delete every vector derived from `login`, in every embedding space (erasure, retention);
        in `namespaces` only when given. The freed pages are overwritten and the WAL emptied, so no
        copy of the vectors stays in the file."""
        conn = self._conn()
        where, args = "person = ?", [login.lower()]
        if namespaces is not None:
            if not namespaces:
                return 0
            where += f" AND namespace IN ({','.join('?' * len(namespaces))})"
            args += list(namespaces)
        with _transaction(conn):
            touched = conn.execute(f"SELECT DISTINCT space, namespace FROM vectors WHERE {where}", args).fetchall()
            deleted = conn.execute(f"DELETE FROM vectors WHERE {where}", args).rowcount
            conn.executemany("UPDATE generations SET generation = generation + 1 WHERE space = ? AND namespace = ?", touched)
        if deleted:
            empty_wal(conn, self._busy_wait, "the vector store")
        return int(deleted)


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self._conn.execute("BEGIN IMMEDIATE")
        return self._conn

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self._conn.execute("ROLLBACK" if exc_type else "COMMIT")
