"""Checkpointer factory: a SQLite file under `$CMO_HOME` by default, Postgres for a Postgres URL.

Our state holds pydantic models; the serializer is told which modules it may revive, so
checkpoints never deserialise arbitrary classes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from cmo.schemas import campaign, github, plan, prospect
from graph import state

_ALLOWED = [
    (module.__name__, name)
    for module in (campaign, github, plan, prospect, state)
    for name, obj in vars(module).items()
    if isinstance(obj, type) and getattr(obj, "__module__", None) == module.__name__
]


def serializer() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=_ALLOWED)


def postgres_conninfo(database_url: str) -> str:
    """psycopg wants a libpq URL; accept SQLAlchemy-style `postgresql+psycopg://` too."""
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1).replace("postgres+psycopg://", "postgresql://", 1)


def is_postgres(database_url: str | None) -> bool:
    return bool(database_url) and database_url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


@contextmanager
def open_checkpointer(database_url: str | None, home: Path) -> Iterator[BaseCheckpointSaver]:
    """The checkpointer the settings ask for, set up and closed with the context."""
    if is_postgres(database_url):
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg import Connection
        from psycopg.rows import dict_row

        with Connection.connect(
            postgres_conninfo(database_url), autocommit=True, prepare_threshold=0, row_factory=dict_row
        ) as conn:
            saver = PostgresSaver(conn, serde=serializer())
            saver.setup()
            yield saver
        return
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    path = home / "checkpoints.sqlite"
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        saver = SqliteSaver(conn, serde=serializer())
        saver.setup()
        yield saver
    finally:
        conn.close()
