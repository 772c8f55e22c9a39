"""Encrypted LangGraph checkpoints: a `CipherProtocol` backed by the keyring.

Why: checkpoints hold the whole graph state (prospects, emails, drafts) in the checkpoint tables of
SQLite or Postgres. langgraph's `EncryptedSerializer` encrypts what its inner serializer produces
and marks the type as `<type>+<cipher name>`, so checkpoints written before encryption was turned on
still load. Our cipher seals with the job's tenant data key (AES-256-GCM, `cmo.privacy.crypto`),
and refuses a blob of another tenant even when that tenant's key could open it.

Limit of the savers, not of this module: `PostgresSaver` stores primitive channel values (a bare
`int`, `float`, `bool` or `None` in the state) inline in the `checkpoints` JSONB column without
calling the serializer (bare strings are routed through it by `graph.checkpointer`'s
`_SealedPostgresSaver`), and both savers store checkpoint `metadata` as plain JSON. Personal data
must therefore never live in a bare number channel or in the run config's metadata.
"""

from __future__ import annotations

from langgraph.checkpoint.serde.base import CipherProtocol, SerializerProtocol
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

from cmo.privacy.crypto import DecryptionError, read_header
from cmo.privacy.keys import Keyring
from graph.checkpointer import serializer as default_serializer

CIPHER_NAME = "cmo-aes256gcm"
_AAD = b"langgraph-checkpoint"


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


def encrypted_serializer(
    keyring: Keyring, tenant_id: str, serde: SerializerProtocol | None = None
) -> SerializerProtocol:
    """The serializer to give a checkpoint saver (`SqliteSaver(conn, serde=...)`, `PostgresSaver`):
    `serde` (default: the project's allow-listed JsonPlus serializer) wrapped in the tenant's cipher."""
    return EncryptedSerializer(KeyringCipher(keyring, tenant_id), serde or default_serializer())
