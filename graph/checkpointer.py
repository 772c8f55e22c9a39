"""Checkpointer factory: a SQLite file under `$CMO_HOME` by default, Postgres for a Postgres URL.

Our state holds pydantic models; the serializer is told which modules it may revive, so
checkpoints never deserialise arbitrary classes. Checkpoints hold every prospect of a run, so
their values are encrypted with the run's tenant data key (`cmo.privacy.serde`): a service job's
tenant, `local` for a CLI run. The tenant is given to the serializer, not read from a context
variable, because LangGraph saves from its own worker threads.

`PostgresSaver` keeps bare `str`/`int`/`float`/`bool` channel values inline in the `checkpoints`
JSONB column, past the serializer; `_SealedPostgresSaver` sends strings (the goal) through the
serializer like any other value. Checkpoint metadata stays plain JSON in both savers: it holds only
the step, its source and the thread id (a job id), never state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, ChannelVersions, Checkpoint, CheckpointMetadata
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from psycopg import Connection
from psycopg.rows import dict_row

from cmo.schemas import campaign, github, plan, prospect
from cmo.settings import Settings
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


@dataclass(frozen=True, slots=True)
class _Boxed:
    """A string channel value on its way to `checkpoint_blobs` (anything but a primitive goes there)."""

    value: str


class _UnboxingSerializer(SerializerProtocol):
    """Serialises a `_Boxed` string as the string itself, so it loads back as a plain `str`."""

    def __init__(self, inner: SerializerProtocol) -> None:
        self.inner = inner

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        return self.inner.dumps_typed(obj.value if isinstance(obj, _Boxed) else obj)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        return self.inner.loads_typed(data)


class _SealedPostgresSaver(PostgresSaver):
    """A `PostgresSaver` that never stores a string channel value inline."""

    def __init__(self, conn: Connection[Any], serde: SerializerProtocol) -> None:
        super().__init__(conn, serde=_UnboxingSerializer(serde))

    def put(
        self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, new_versions: ChannelVersions
    ) -> RunnableConfig:
        values = {k: _Boxed(v) if isinstance(v, str) else v for k, v in checkpoint["channel_values"].items()}
        return super().put(config, {**checkpoint, "channel_values": values}, metadata, new_versions)


@contextmanager
def open_checkpointer(settings: Settings, tenant_id: str) -> Iterator[BaseCheckpointSaver]:
    """The checkpointer the settings ask for, encrypting for `tenant_id`, set up and closed with the
    context. A `KeyringError` says what is missing (a key file with Postgres, `cmo db upgrade`)."""
    from cmo.privacy.keys import get_keyring  # not at the top: cmo.privacy imports this module
    from cmo.privacy.serde import encrypted_serializer

    serde = encrypted_serializer(get_keyring(settings), tenant_id)
    if is_postgres(settings.database_url):
        with Connection.connect(
            postgres_conninfo(settings.database_url), autocommit=True, prepare_threshold=0, row_factory=dict_row
        ) as conn:
            saver = _SealedPostgresSaver(conn, serde)
            saver.setup()
            yield saver
        return
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    path = settings.home / "checkpoints.sqlite"
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        saver = SqliteSaver(conn, serde=serde)
        saver.setup()
        yield saver
    finally:
        conn.close()
