"""Column types that encrypt personal data at rest: `EncryptedText`, `EncryptedJSON`, `EncryptedBytes`.

Why TypeDecorators: the services keep reading and writing plain `str` and JSON values, and every
value is sealed on its way into the database and opened on its way out, so no query site can forget.
A value is encrypted for the tenant of the enclosing `tenant_scope(...)` (`storage.keyring`; a CLI
run is the `local` tenant) and decrypted with the tenant and key version its ciphertext names. It is
stored as the ASCII token `enc1:...` in a TEXT column (a binary column for files), the same on SQLite
and Postgres (hence no JSONB operators on encrypted JSON: filter on a plain or blind index column).

Once per process, before the first query, bind the keyring the types use:

    from storage.encrypted_types import bind_keyring
    bind_keyring(get_keyring(settings))          # create_app's lifespan, `cmo worker`, CLI commands

Values written before a column became encrypted (no `enc1:` prefix) are read back as they are, so
turning encryption on needs no downtime; they are sealed the next time they are written.

A tenant's first data key is created on its first write, by the keyring's own connection. On SQLite
that insert waits for any open write transaction, so it must never happen inside one (it would wait
for itself): code that opens a tenant's scope calls `await ensure_tenant_keys(tenant_id)` first.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import LargeBinary, Text, TypeDecorator
from sqlalchemy.engine import Dialect

from privacy.crypto import TOKEN_PREFIX, KeyringError, from_token, is_token, to_token
from storage.keyring import Keyring, current_tenant

_keyring: Keyring | None = None


def bind_keyring(keyring: Keyring | None) -> None:
    """Set (or, with None, clear) the keyring every encrypted column of this process uses."""
    global _keyring
    _keyring = keyring


async def ensure_tenant_keys(tenant_id: str) -> None:
    """Create (or re-check) the tenant's data and index keys now, off the event loop, unless they
    are ready in memory: then the encryptions and blind indexes of this request are in-memory work
    and no thread hop is needed."""
    keyring = bound_keyring()
    if not keyring.keys_are_ready(tenant_id):
        await asyncio.to_thread(keyring.prepare, tenant_id)


def bound_keyring() -> Keyring:
    if _keyring is None:
        raise KeyringError(
            "encrypted columns need a keyring: call storage.encrypted_types.bind_keyring(get_keyring(settings)) "
            "once at process start"
        )
    return _keyring


class EncryptedText(TypeDecorator[str]):
    """A `str` column stored as an encrypted token."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else bound_keyring().encrypt_text(current_tenant(), value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not is_token(value):
            return value
        return bound_keyring().decrypt_text(value)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document (dict, list, scalar) stored as an encrypted token."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        document = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return bound_keyring().encrypt_text(current_tenant(), document)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(bound_keyring().decrypt_text(value) if is_token(value) else value)


class EncryptedBytes(TypeDecorator[bytes]):
    """A file (`bytes`) stored as the ASCII bytes of an encrypted token in a binary column."""

    impl = LargeBinary
    cache_ok = True
    _prefix = TOKEN_PREFIX.encode()

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        return None if value is None else to_token(bound_keyring().encrypt(current_tenant(), value)).encode()

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None or not bytes(value).startswith(self._prefix):
            return value
        return bound_keyring().decrypt(from_token(bytes(value).decode()))
