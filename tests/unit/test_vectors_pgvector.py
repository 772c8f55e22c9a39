"""pgvector's SQL, which could not run against a live pgvector here (the extension is not
installable on this machine): statements checked as text, and the jsonb filters (no extension
needed) run against the real Postgres with the same cases as the shared store tests."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest

from tools.vectors.filters import parse_filter, without_people
from tools.vectors.pgvector_store import TABLE, filter_sql, query_sql, schema_statements, upsert_sql, vector_literal


def test_schema_creates_the_extension_an_unsized_column_and_a_partial_hnsw_index_per_space() -> None:
    statements = schema_statements("wordllama-l2_supercat-256", 256)
    assert statements[0] == "CREATE EXTENSION IF NOT EXISTS vector"
    assert "embedding vector NOT NULL" in statements[1] and "metadata jsonb NOT NULL" in statements[1]
    assert statements[-1].endswith(
        "USING hnsw ((embedding::vector(256)) vector_cosine_ops) WHERE space = 'wordllama-l2_supercat-256'"
    )
    assert schema_statements("openai:text-embedding-3-small:1536", 1536)[-1] != statements[-1]
    with pytest.raises(ValueError):
        schema_statements("x'; DROP TABLE users; --", 4)


def test_query_orders_by_cosine_distance_on_the_indexed_expression() -> None:
    sql, params = query_sql("s", "t1", [1.0, 0.5], 2, 10, parse_filter({"kind": "profile"}))
    assert sql == (
        f"SELECT id, metadata, 1 - (embedding::vector(2) <=> %s::vector(2)) AS score FROM {TABLE}"
        " WHERE space = %s AND namespace = %s AND (metadata @> %s::jsonb OR metadata @> %s::jsonb)"
        " ORDER BY embedding::vector(2) <=> %s::vector(2), id LIMIT %s"
    )
    assert params == ["[1.0,0.5]", "s", "t1", '{"kind": "profile"}', '{"kind": ["profile"]}', "[1.0,0.5]", 10]
    assert vector_literal([0.1, 2]) == "[0.1,2.0]"
    assert "ON CONFLICT (space, namespace, id) DO UPDATE" in upsert_sql()


_ROWS = {
    "repo:a/x": {"kind": "repository", "topics": ["ml", "python"]},
    "repo:b/y": {"kind": "repository", "topics": ["web"]},
    "profile:alice": {"kind": "profile", "person": "alice", "stars": 5},
    "profile:bob": {"kind": "profile", "person": "bob", "active": True},
    "profile:carol": {"kind": "profile", "person": "carol", "stars": 1},
}


@pytest.fixture
def metadata_table(postgres_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE meta (id text, metadata jsonb)")
        for vector_id, metadata in _ROWS.items():
            conn.execute("INSERT INTO meta VALUES (%s, %s::jsonb)", [vector_id, json.dumps(metadata)])
        yield conn


@pytest.mark.parametrize(
    ("metadata_filter", "expected"),
    [
        ({"kind": "profile"}, {"profile:alice", "profile:bob", "profile:carol"}),
        ({"kind": {"$eq": "repository"}}, {"repo:a/x", "repo:b/y"}),
        ({"person": {"$in": ["alice", "carol"]}}, {"profile:alice", "profile:carol"}),
        ({"topics": "ml"}, {"repo:a/x"}),
        ({"topics": {"$in": ["web", "go"]}}, {"repo:b/y"}),
        ({"stars": 5}, {"profile:alice"}),
        ({"stars": 5.0}, {"profile:alice"}),
        ({"active": True}, {"profile:bob"}),
        ({"kind": "profile", "stars": {"$in": [1, 5]}}, {"profile:alice", "profile:carol"}),
        (without_people(["Alice", "bob"]), {"repo:a/x", "repo:b/y", "profile:carol"}),
        ({"kind": "nothing"}, set()),
        ({}, set(_ROWS)),
    ],
)
def test_jsonb_filters_match_the_shared_semantics_on_a_real_postgres(
    metadata_table: psycopg.Connection, metadata_filter: dict[str, object], expected: set[str]
) -> None:
    where, params = filter_sql(parse_filter(metadata_filter))
    rows = metadata_table.execute(f"SELECT id FROM meta WHERE {where}", params).fetchall()  # type: ignore[call-overload]
    assert {row[0] for row in rows} == expected
