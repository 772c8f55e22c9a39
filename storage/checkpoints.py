"""LangGraph checkpoints: the saver for the settings (SQLite under `$CMO_HOME`, or Postgres), their
encryption, and deleting a run's threads (erasure, retention).

`open_checkpointer` is what runs and the service use: the settings' store, always encrypted.
`open_saver` builds the saver of any backend (`memory`, `sqlite`, `postgres`) around a given
serializer, so one test body can run over every store with and without encryption.

Our state holds pydantic models; the serializer may revive only the classes of `foundation.schemas`,
so checkpoints never deserialise arbitrary classes. Checkpoints hold every prospect of a run, so
their values are encrypted with the run's tenant data key: a service job's tenant, `local` for a
CLI run. The tenant is given to the serializer, not read from a context variable, because LangGraph
saves from its own worker threads. langgraph's `EncryptedSerializer` marks the type as
`<type>+<cipher name>`, so checkpoints written before encryption was turned on still load; our
cipher refuses a blob of another tenant even when that tenant's key could open it.

Limits of the savers: `PostgresSaver` keeps bare `str`/`int`/`float`/`bool` channel values inline in
the `checkpoints` JSONB column, past the serializer; `_SealedPostgresSaver` sends strings (the goal)
through the serializer like any other value. Checkpoint metadata stays plain JSON in both savers: it
holds only the step, its source and the thread id (a job id), never state. Personal data must
therefore never live in a bare number channel or in the run config's metadata.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, ChannelVersions, Checkpoint, CheckpointMetadata
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.serde.base import CipherProtocol, SerializerProtocol
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from psycopg import Connection
from psycopg.rows import dict_row

from foundation.schemas import campaign, github, plan, prospect, run
from foundation.settings import Settings
from privacy.crypto import DecryptionError, read_header
from storage.keyring import Keyring, get_keyring
from storage.urls import CHECKPOINTS_FILE, postgres_conninfo

if TYPE_CHECKING:
    from langgraph.checkpoint.sqlite import SqliteSaver

_ALLOWED = [
    (module.__name__, name)
    for module in (campaign, github, plan, prospect, run)
    for name, obj in vars(module).items()
    if isinstance(obj, type) and getattr(obj, "__module__", None) == module.__name__
]
CIPHER_NAME = "cmo-aes256gcm"
_AAD = b"langgraph-checkpoint"

Backend = Literal["memory", "sqlite", "postgres"]


def serializer() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=_ALLOWED)


class KeyringCipher(CipherProtocol):
    """Seals checkpoint bytes for one tenant; the blob names its data-key version, so rotation is free."""

    def __init__(self, keyring: Keyring, tenant_id: str) -> None:
        self.keyring, self.tenant_id = keyring, tenant_id

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        return CIPHER_NAME, self.keyring.encrypt(self.tenant_id, plaintext, _AAD)

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        if ciphername != CIPHER_NAME:
            raise DecryptionError(f"checkpoint encrypted with unsupported cipher {ciphername!r}")
        if read_header(ciphertext).tenant_id != self.tenant_id:
            raise DecryptionError(f"checkpoint belongs to another tenant than {self.tenant_id!r}")
        return self.keyring.decrypt(ciphertext, _AAD)


def encrypted_serializer(keyring: Keyring, tenant_id: str, serde: SerializerProtocol | None = None) -> SerializerProtocol:
    """The serializer to give a checkpoint saver (`SqliteSaver(conn, serde=...)`, `PostgresSaver`):
    `serde` (default: the project's allow-listed JsonPlus serializer) wrapped in the tenant's cipher."""
    return EncryptedSerializer(KeyringCipher(keyring, tenant_id), serde or serializer())


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


def backend_of(settings: Settings) -> Backend:
    """The store the settings name: Postgres for a Postgres `DATABASE_URL`, else SQLite under `$CMO_HOME`."""
    return "postgres" if settings.uses_postgres else "sqlite"


@contextmanager
def open_checkpointer(settings: Settings, tenant_id: str) -> Iterator[BaseCheckpointSaver]:
    """The checkpointer the settings ask for, encrypting for `tenant_id`, set up and closed with the
    context. A `KeyringError` says what is missing (a key file with Postgres, `cmo db upgrade`)."""
    with open_saver(backend_of(settings), settings, encrypted_serializer(get_keyring(settings), tenant_id)) as saver:
        yield saver


@contextmanager
def open_saver(backend: Backend, settings: Settings, serde: SerializerProtocol) -> Iterator[BaseCheckpointSaver]:
    """The saver of `backend` with `serde` (`serializer()` for plain checkpoints, `encrypted_serializer`
    for sealed ones), its tables set up, closed with the context. `memory` keeps checkpoints in this
    saver alone, for as long as the context; `sqlite` is the file under `$CMO_HOME`; `postgres` the
    settings' `DATABASE_URL`, which must name Postgres."""
    opened: AbstractContextManager[BaseCheckpointSaver]
    if backend == "memory":
        opened = InMemorySaver(serde=serde)
    elif backend == "sqlite":
        opened = _sqlite_saver(settings, serde)
    elif backend == "postgres":
        opened = _postgres_saver(settings, serde)
    else:
        raise ValueError(f"unknown checkpointer backend {backend!r}")
    with opened as saver:
        yield saver


@contextmanager
def _sqlite_saver(settings: Settings, serde: SerializerProtocol) -> Iterator[SqliteSaver]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(str(settings.home / CHECKPOINTS_FILE), check_same_thread=False, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        saver = SqliteSaver(conn, serde=serde)
        saver.setup()
        yield saver
    finally:
        conn.close()


@contextmanager
def _postgres_saver(settings: Settings, serde: SerializerProtocol) -> Iterator[_SealedPostgresSaver]:
    if not (settings.database_url and settings.uses_postgres):
        raise ValueError("the postgres checkpointer needs a Postgres DATABASE_URL")
    conninfo = postgres_conninfo(settings.database_url)
    with Connection.connect(conninfo, autocommit=True, prepare_threshold=0, row_factory=dict_row) as conn:
        saver = _SealedPostgresSaver(conn, serde)
        saver.setup()
        yield saver


def _stored_threads(conn: sqlite3.Connection | Connection[Any]) -> set[str]:
    """Thread ids the checkpointer holds (both savers name their table `checkpoints`)."""
    rows = conn.execute("SELECT DISTINCT thread_id FROM checkpoints").fetchall()
    return {row["thread_id"] if isinstance(row, dict) else row[0] for row in rows}


def delete_threads(settings: Settings, tenant_id: str, thread_ids: Iterable[str], *, dry_run: bool = False) -> set[str]:
    """Delete the LangGraph threads (every checkpoint, blob and write) of these jobs of the tenant;
    returns those that existed. SQLite overwrites what it frees and truncates its WAL, so no copy is
    left in the file."""
    wanted = set(thread_ids)
    if not wanted:
        return set()
    serde = encrypted_serializer(get_keyring(settings), tenant_id)
    opened = _postgres_saver(settings, serde) if settings.uses_postgres else _sqlite_saver(settings, serde)
    with opened as saver:
        conn = saver.conn
        if not isinstance(conn, sqlite3.Connection | Connection):  # our Postgres saver holds one connection, never a pool
            raise TypeError(f"unexpected checkpointer connection {type(conn).__name__}")
        present = _stored_threads(conn) & wanted
        if dry_run or not present:
            return present
        if isinstance(conn, sqlite3.Connection):
            conn.execute("PRAGMA secure_delete=ON")
        for thread_id in sorted(present):
            saver.delete_thread(thread_id)
        if isinstance(conn, sqlite3.Connection):
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return present
