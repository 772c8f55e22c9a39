"""pgvector: vectors in the service's own Postgres (`DATABASE_URL`), when the server has the
`vector` extension.

NOT RUN AGAINST A LIVE pgvector: the extension is not in this machine's Debian sources nor on any
registry reachable from it, so this adapter is written against pgvector's documented SQL
(https://github.com/pgvector/pgvector, README: `CREATE EXTENSION vector`, the `vector` type and its
text form `[1,2,3]`, `<=>` cosine distance, HNSW indexes with `vector_cosine_ops`, and "Can I store
vectors with different dimensions in the same column?": an unsized `vector` column with expression
and partial indexes per dimension). Its statements are tested as text, and its metadata filters
(plain jsonb) against the real Postgres (tests/unit/test_vectors_pgvector.py).

One table for every embedding space: rows carry their `space`, and each space gets a partial HNSW
index over `embedding::vector(<dims>)`; queries cast the same way so the planner can use it.
Filters are jsonb containment, which matches a scalar and an item of a list alike when both forms
are asked (`{"k": v}` or `{"k": [v]}`), and compares numbers as numbers and booleans apart.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tools.vectors.base import PERSON_KEY, VectorMatch, VectorRecord
from tools.vectors.filters import Condition, parse_filter

if TYPE_CHECKING:
    import psycopg

    from foundation.settings import Settings

TABLE = "cmo_vectors"
_SPACE = re.compile(r"^[A-Za-z0-9_.:-]{0,200}$")


def schema_statements(space: str, dimensions: int) -> list[str]:
    """The extension, the table, the erasure and filter indexes, and this space's HNSW index."""
    if not _SPACE.match(space) or dimensions <= 0:
        raise ValueError(f"embedding space {space!r} / {dimensions} dimensions cannot name an index")
    index = f"{TABLE}_hnsw_{hashlib.sha256(space.encode()).hexdigest()[:12]}"
    return [
        "CREATE EXTENSION IF NOT EXISTS vector",
        f"CREATE TABLE IF NOT EXISTS {TABLE} (space text NOT NULL, namespace text NOT NULL, id text NOT NULL,"
        " embedding vector NOT NULL, metadata jsonb NOT NULL, person text, PRIMARY KEY (space, namespace, id))",
        f"CREATE INDEX IF NOT EXISTS {TABLE}_person ON {TABLE} (person)",
        f"CREATE INDEX IF NOT EXISTS {TABLE}_metadata ON {TABLE} USING gin (metadata jsonb_path_ops)",
        f"CREATE INDEX IF NOT EXISTS {index} ON {TABLE} USING hnsw ((embedding::vector({dimensions})) vector_cosine_ops)"
        f" WHERE space = '{space}'",
    ]


def vector_literal(values: Sequence[float]) -> str:
    """pgvector's text form, `[0.1,0.2]` (repr keeps every float's full precision)."""
    return "[" + ",".join(repr(float(v)) for v in values) + "]"


def filter_sql(conditions: list[Condition]) -> tuple[str, list[Any]]:
    """`AND`ed jsonb containment tests for the conditions ("TRUE" when there are none)."""
    parts: list[str] = []
    params: list[Any] = []
    for condition in conditions:
        alternatives = []
        for value in condition.values:
            alternatives.append("metadata @> %s::jsonb OR metadata @> %s::jsonb")
            params += [json.dumps({condition.key: value}), json.dumps({condition.key: [value]})]
        either = " OR ".join(alternatives)
        parts.append(f"NOT ({either})" if condition.op == "$nin" else f"({either})")
    return (" AND ".join(parts) or "TRUE"), params


def query_sql(
    space: str, namespace: str, vector: Sequence[float], dimensions: int, top_k: int, conditions: list[Condition]
) -> tuple[str, list[Any]]:
    where, params = filter_sql(conditions)
    distance = f"embedding::vector({dimensions}) <=> %s::vector({dimensions})"
    literal = vector_literal(vector)
    sql = (
        f"SELECT id, metadata, 1 - ({distance}) AS score FROM {TABLE}"
        f" WHERE space = %s AND namespace = %s AND {where} ORDER BY {distance}, id LIMIT %s"
    )
    return sql, [literal, space, namespace, *params, literal, top_k]


def upsert_sql() -> str:
    return (
        f"INSERT INTO {TABLE} (space, namespace, id, embedding, metadata, person) VALUES (%s, %s, %s, %s::vector, %s::jsonb, %s)"
        " ON CONFLICT (space, namespace, id) DO UPDATE SET embedding = excluded.embedding,"
        " metadata = excluded.metadata, person = excluded.person"
    )


class PgVectorStore:
    name = "pgvector"

    def __init__(self, conninfo: str, *, space: str, dimensions: int, timeout_seconds: float) -> None:
        self._conninfo, self._space, self._dimensions = conninfo, space, dimensions
        self._timeout_ms = int(timeout_seconds * 1000)
        if dimensions:
            with self._connect() as conn:
                for statement in schema_statements(space, dimensions):
                    conn.execute(statement)

    @classmethod
    def from_settings(cls, settings: Settings, *, space: str, dimensions: int) -> PgVectorStore:
        """`dimensions=0` opens for maintenance (erasure): no schema is created."""
        from storage.urls import postgres_conninfo

        if not settings.uses_postgres or settings.database_url is None:
            raise ValueError("CMO_VECTOR_STORE=pgvector needs DATABASE_URL to name a Postgres server")
        return cls(
            postgres_conninfo(settings.database_url),
            space=space,
            dimensions=dimensions,
            timeout_seconds=settings.cmo_vector_timeout_seconds,
        )

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg

        conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=max(1, self._timeout_ms // 1000))
        conn.execute(f"SET statement_timeout = {self._timeout_ms}")
        return conn

    def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> None:
        rows = []
        for r in records:
            if len(r.values) != self._dimensions:
                raise ValueError(f"vector {r.id!r} has {len(r.values)} dimensions, the store {self._dimensions}")
            person = r.metadata.get(PERSON_KEY)
            rows.append(
                (
                    self._space,
                    namespace,
                    r.id,
                    vector_literal(r.values),
                    json.dumps(r.metadata),
                    person if isinstance(person, str) else None,
                )
            )
        with self._connect() as conn, conn.cursor() as cursor:
            cursor.executemany(upsert_sql(), rows)

    def query(
        self, namespace: str, vector: Sequence[float], top_k: int, metadata_filter: dict[str, object] | None = None
    ) -> list[VectorMatch]:
        sql, params = query_sql(self._space, namespace, vector, self._dimensions, top_k, parse_filter(metadata_filter))
        with self._connect() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [VectorMatch(id=row[0], score=float(row[2]), metadata=row[1]) for row in rows]

    def fetch(self, namespace: str, ids: Sequence[str]) -> list[VectorRecord]:
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT id, embedding::text, metadata FROM {TABLE} WHERE space = %s AND namespace = %s AND id = ANY(%s)",
                [self._space, namespace, list(ids)],
            ).fetchall()
        return [VectorRecord(id=row[0], values=json.loads(row[1]), metadata=row[2]) for row in rows]

    def delete(self, namespace: str, *, ids: Sequence[str] = (), metadata_filter: dict[str, object] | None = None) -> None:
        conditions = parse_filter(metadata_filter)
        with self._connect() as conn:
            if ids:
                conn.execute(
                    f"DELETE FROM {TABLE} WHERE space = %s AND namespace = %s AND id = ANY(%s)",
                    [self._space, namespace, list(ids)],
                )
            if conditions:
                where, params = filter_sql(conditions)
                conn.execute(
                    f"DELETE FROM {TABLE} WHERE space = %s AND namespace = %s AND {where}", [self._space, namespace, *params]
                )

    def count(self, namespace: str) -> int:
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT count(*) FROM {TABLE} WHERE space = %s AND namespace = %s", [self._space, namespace]
            ).fetchone()
        return int(row[0]) if row else 0

    def held_about(self, login: str, namespaces: Sequence[str]) -> list[tuple[str, VectorRecord]]:
        """Every vector derived from `login` in `namespaces`, any embedding space, with its space."""
        with self._connect() as conn:
            exists = conn.execute("SELECT to_regclass(%s)", [TABLE]).fetchone()
            if not exists or exists[0] is None:
                return []
            rows = conn.execute(
                f"SELECT space, id, embedding::text, metadata FROM {TABLE} WHERE person = %s AND namespace = ANY(%s) ORDER BY space, id",
                [login.lower(), list(namespaces)],
            ).fetchall()
        return [(row[0], VectorRecord(id=row[1], values=json.loads(row[2]), metadata=row[3])) for row in rows]

    def forget_person(self, login: str, namespaces: Sequence[str]) -> int:
        """Delete every vector derived from `login` in `namespaces`, in every embedding space."""
        with self._connect() as conn:
            exists = conn.execute("SELECT to_regclass(%s)", [TABLE]).fetchone()
            if not exists or exists[0] is None:
                return 0
            cursor = conn.execute(
                f"DELETE FROM {TABLE} WHERE person = %s AND namespace = ANY(%s)", [login.lower(), list(namespaces)]
            )
            return cursor.rowcount
