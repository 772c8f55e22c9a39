"""The keyring: per-tenant data keys (envelope encryption) and the tenant scope of the current work.

Why envelope encryption: every tenant has its own AES-256 data keys (versioned: `cmo keys rotate
--data-keys` starts a new one for new writes, old ones keep decrypting) and one blind-index key
(never rotated, so equality lookups keep matching). They are created on first use and stored in
the service database's `data_keys` table only WRAPPED by the key-encryption key of a `KeyProvider`
(a local key file, or AWS KMS). Unwrapped keys stay in this process's memory; a process notices a
newer data-key version within `refresh_seconds` (or at once when it meets an unknown version while
decrypting), so rotating needs no restart.

Usage: `keyring = get_keyring(settings)` once per process; code that writes tenant data runs inside
`with tenant_scope(tenant_id):` so lower layers (SQLAlchemy types, checkpoints) know whose key to
use; a CLI run is the `local` tenant. The keyring is synchronous: only a cache miss (a tenant's first
use, a new key version, every `refresh_seconds` per tenant) touches the database or KMS, so async
code may call it directly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import create_engine, func, inspect, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.schema import CreateTable

from foundation.settings import Settings
from privacy import crypto
from privacy.crypto import DecryptionError, KeyringError
from privacy.key_providers import KeyProvider, default_kek_file, provider_from_settings
from storage.tables import data_keys
from storage.urls import describe, sqlalchemy_url

__all__ = [
    "LOCAL_TENANT",
    "DecryptionError",
    "KeyInfo",
    "Keyring",
    "KeyringError",
    "current_tenant",
    "get_keyring",
    "tenant_scope",
]

log = logging.getLogger(__name__)

LOCAL_TENANT = "local"
DATA, INDEX = "data", "index"
INDEX_VERSION = 1

_tenant: ContextVar[str | None] = ContextVar("cmo_tenant", default=None)


@contextmanager
def tenant_scope(tenant_id: str) -> Iterator[str]:
    """Run the block on behalf of `tenant_id` (nested scopes restore the outer one on exit)."""
    if not tenant_id:
        raise ValueError("tenant_scope needs a tenant id")
    token = _tenant.set(tenant_id)
    try:
        yield tenant_id
    finally:
        _tenant.reset(token)


def current_tenant() -> str:
    """The tenant of the enclosing `tenant_scope`, else `LOCAL_TENANT` (a CLI run)."""
    return _tenant.get() or LOCAL_TENANT


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key's description, for `cmo keys status`: never its material."""

    tenant_id: str
    purpose: str
    version: int
    kek_id: str
    created_at: datetime


class Keyring:
    """Encrypts and decrypts for any tenant, with data keys kept in one database. Thread-safe."""

    def __init__(self, engine: Engine, provider: KeyProvider, *, where: str, refresh_seconds: float = 5.0) -> None:
        self.engine, self.provider, self.where = engine, provider, where
        self.refresh_seconds = refresh_seconds
        self._table = data_keys
        self._lock = threading.RLock()
        self._keys: dict[tuple[str, str, int], bytes] = {}
        self._current: dict[str, tuple[int, float]] = {}  # tenant -> (data-key version, checked at)
        self._checked_schema = False

    # --- the public API -------------------------------------------------------------------------
    def encrypt(self, tenant_id: str, plaintext: bytes, aad: bytes = b"") -> bytes:
        version, key = self._current_data_key(tenant_id)
        return crypto.seal(key, tenant_id, version, plaintext, aad)

    def decrypt(self, blob: bytes, aad: bytes = b"") -> bytes:
        header = crypto.read_header(blob)
        key = self._key(header.tenant_id, DATA, header.key_version)
        if key is None:
            raise DecryptionError(f"tenant {header.tenant_id!r} has no data key version {header.key_version} in {self.where}")
        return crypto.open_sealed(key, blob, aad)

    def encrypt_text(self, tenant_id: str, text: str, aad: bytes = b"") -> str:
        return crypto.to_token(self.encrypt(tenant_id, text.encode(), aad))

    def decrypt_text(self, token: str, aad: bytes = b"") -> str:
        return self.decrypt(crypto.from_token(token), aad).decode()

    def blind_index(self, tenant_id: str, value: str) -> str:
        key = self._key(tenant_id, INDEX, INDEX_VERSION) or self._create(tenant_id, INDEX, INDEX_VERSION)
        return crypto.blind_index(key, value)

    # --- administration (cmo keys) --------------------------------------------------------------
    def status(self) -> list[KeyInfo]:
        table = self._ready()
        query = select(table.c.tenant_id, table.c.purpose, table.c.version, table.c.kek_id, table.c.created_at)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(table.c.tenant_id, table.c.purpose, table.c.version)).all()
        return [KeyInfo(*row) for row in rows]

    def rewrap(self, target: KeyProvider) -> int:
        """Re-wrap every stored key whose KEK is not `target`'s, one row per transaction, then wrap
        new keys with `target`. The data keys themselves do not change, so readers never stop."""
        table, done = self._ready(), 0
        with self.engine.connect() as conn:
            rows = conn.execute(select(table).where(table.c.kek_id != target.key_id)).all()
        for row in rows:
            rewrapped = target.wrap(self.provider.unwrap(row.wrapped_key))
            match = (table.c.tenant_id == row.tenant_id) & (table.c.purpose == row.purpose) & (table.c.version == row.version)
            statement = update(table).where(match & (table.c.wrapped_key == row.wrapped_key))
            with self.engine.begin() as conn:  # unchanged meanwhile (a concurrent rotation wins otherwise)
                done += conn.execute(statement.values(wrapped_key=rewrapped, kek_id=target.key_id)).rowcount
        self.provider = target
        return done

    def start_new_data_keys(self) -> dict[str, int]:
        """A new data-key version for every tenant: new writes use it, old ciphertexts keep theirs."""
        table = self._ready()
        with self.engine.connect() as conn:
            latest = conn.execute(
                select(table.c.tenant_id, func.max(table.c.version)).where(table.c.purpose == DATA).group_by(table.c.tenant_id)
            ).all()
        started = {tenant: version + 1 for tenant, version in latest}
        for tenant, version in started.items():
            self._create(tenant, DATA, version)
        with self._lock:
            self._current.clear()
        return started

    def close(self) -> None:
        self.engine.dispose()

    def keys_are_ready(self, tenant_id: str) -> bool:
        """True while the tenant's index key is in memory and its current data key is known and will
        not need re-checking for at least half the refresh period: encryptions and blind indexes
        then touch neither the database nor KMS."""
        known = self._current.get(tenant_id)
        fresh = known is not None and time.monotonic() - known[1] < self.refresh_seconds / 2
        return fresh and (tenant_id, INDEX, INDEX_VERSION) in self._keys

    def prepare(self, tenant_id: str) -> None:
        """Create or load the tenant's data and index keys now (blocking: call it off the event loop,
        before a transaction that writes: on SQLite a key created inside one would wait on it)."""
        self.encrypt(tenant_id, b"")
        self.blind_index(tenant_id, "")

    # --- internals ------------------------------------------------------------------------------
    def _current_data_key(self, tenant_id: str) -> tuple[int, bytes]:
        known = self._current.get(tenant_id)
        if known and time.monotonic() - known[1] < self.refresh_seconds:
            return known[0], self._keys[(tenant_id, DATA, known[0])]
        with self._lock:
            table = self._ready()
            try:
                with self.engine.connect() as conn:
                    version = conn.execute(
                        select(func.max(table.c.version)).where(table.c.tenant_id == tenant_id, table.c.purpose == DATA)
                    ).scalar_one_or_none()
            except SQLAlchemyError:
                if not known:
                    raise
                log.warning("could not check for a newer data key of tenant %s; keeping version %d", tenant_id, known[0])
                return known[0], self._keys[(tenant_id, DATA, known[0])]  # a database blip never stops writes
            key: bytes | None
            if version is None:
                version, key = 1, self._create(tenant_id, DATA, 1)
            else:
                key = self._key(tenant_id, DATA, version)
            if key is None:  # only when the row was deleted between the two reads
                raise KeyringError(f"data key {version} of tenant {tenant_id!r} vanished from {self.where}")
            self._current[tenant_id] = (version, time.monotonic())
            return version, key

    def _key(self, tenant_id: str, purpose: str, version: int) -> bytes | None:
        """An unwrapped key from memory, else from the table (None when there is no such row)."""
        cached = self._keys.get((tenant_id, purpose, version))
        if cached is not None:
            return cached
        with self._lock:
            table = self._ready()
            with self.engine.connect() as conn:
                wrapped = conn.execute(
                    select(table.c.wrapped_key).where(
                        table.c.tenant_id == tenant_id, table.c.purpose == purpose, table.c.version == version
                    )
                ).scalar_one_or_none()
            if wrapped is None:
                return None
            key = self.provider.unwrap(wrapped)
            self._keys[(tenant_id, purpose, version)] = key
            return key

    def _create(self, tenant_id: str, purpose: str, version: int) -> bytes:
        """Store a new wrapped key; when another process stored that version first, use theirs."""
        crypto.check_tenant_id(tenant_id)
        row = {
            "tenant_id": tenant_id,
            "purpose": purpose,
            "version": version,
            "wrapped_key": self.provider.wrap(crypto.new_key()),
            "kek_id": self.provider.key_id,
        }
        table = self._ready()
        try:
            with self.engine.begin() as conn:
                conn.execute(table.insert().values(row))
        except IntegrityError:
            pass  # lost the race: the winner's key is the one everybody uses
        key = self._key(tenant_id, purpose, version)
        if key is None:
            raise KeyringError(f"could not store a data key for tenant {tenant_id!r} in {self.where}")
        return key

    def _ready(self) -> Any:
        """The table, once it is known to exist (Postgres is migrated explicitly, never implicitly)."""
        if not self._checked_schema:
            try:
                with self.engine.connect() as conn:
                    present = inspect(conn).has_table("data_keys")
            except SQLAlchemyError as exc:
                raise KeyringError(f"cannot reach the key table in {self.where}: {exc.__class__.__name__}") from exc
            if not present and self.engine.dialect.name != "sqlite":
                raise KeyringError(f"{self.where} has no data_keys table: run `cmo db upgrade`")
            if not present:  # the embedded database: an offline run needs this one table, not the service's
                with self.engine.begin() as conn:  # IF NOT EXISTS: two processes may meet a new file at once
                    conn.execute(CreateTable(data_keys, if_not_exists=True))
            self._checked_schema = True
        return self._table


_keyrings: dict[tuple[str, ...], Keyring] = {}
_keyrings_lock = threading.Lock()


def _cache_key(settings: Settings) -> tuple[str, ...]:
    """What makes two keyrings different: the database, and which KEK wraps its keys."""
    provider: tuple[str, ...]
    if settings.cmo_key_provider == "aws-kms":
        region = settings.cmo_kms_region or settings.aws_region
        provider = (str(settings.cmo_kms_key_id), str(settings.cmo_kms_endpoint_url), str(region))
    else:
        provider = (str(default_kek_file(settings)),)
    return (sqlalchemy_url(settings, driver_async=False), settings.cmo_key_provider, *provider)


def open_keyring(settings: Settings) -> Keyring:
    """A new keyring on the settings' service database (Postgres: migrated by `cmo db upgrade`)."""
    url = sqlalchemy_url(settings, driver_async=False)
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30}  # wait out a concurrent writer instead of failing
    return Keyring(create_engine(url, **options), provider_from_settings(settings), where=describe(settings))


def get_keyring(settings: Settings) -> Keyring:
    """The process-wide keyring of these settings' database and key provider."""
    key = _cache_key(settings)
    with _keyrings_lock:
        if key not in _keyrings:
            _keyrings[key] = open_keyring(settings)
        return _keyrings[key]


def forget_keyrings() -> None:
    """Close every cached keyring (tests, and a CLI command that changed the key configuration)."""
    with _keyrings_lock:
        for keyring in _keyrings.values():
            keyring.close()
        _keyrings.clear()
