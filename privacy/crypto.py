"""The ciphertext format of encryption at rest, and keyed blind indexes.

Why a self-describing blob: a value is decrypted long after it was written, by another process,
after key rotations, and without knowing which tenant it belongs to (a checkpoint, an event row).
So each blob carries what is needed to find its key — the tenant id and the data-key version — in
a header that is authenticated as AES-GCM associated data: moving a blob to another tenant, or
changing its version, makes decryption fail instead of silently using another key.

Layout (all integers big-endian):

    0x01 | len(tenant) (1 byte) | tenant (UTF-8) | key version (4 bytes) | nonce (12 bytes) | ciphertext+tag

The associated data is the header (everything before the nonce) followed by the caller's `aad`.
Text columns and JSON documents hold the blob as the ASCII token `enc1:<base64url>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96-bit random nonces: safe far beyond 2^32 messages per key with GCM's limits
TOKEN_PREFIX = "enc1:"
MAX_TENANT_BYTES = 255


class KeyringError(Exception):
    """Encryption cannot work as configured (no key file, no table, KMS unreachable): the message
    says what to do, and is fit to show a user as one line."""


class DecryptionError(ValueError):
    """A ciphertext is malformed, was tampered with, belongs to another tenant or context, or its key
    is unknown. Never says anything about the plaintext."""


@dataclass(frozen=True, slots=True)
class BlobHeader:
    tenant_id: str
    key_version: int
    header: bytes  # the authenticated prefix, up to the nonce


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def check_tenant_id(tenant_id: str) -> bytes:
    """The tenant id as header bytes; a ValueError when it cannot be one."""
    tenant = tenant_id.encode()
    if not tenant or len(tenant) > MAX_TENANT_BYTES:
        raise ValueError(f"tenant id must be 1..{MAX_TENANT_BYTES} bytes of UTF-8")
    return tenant


def _header(tenant_id: str, key_version: int) -> bytes:
    tenant = check_tenant_id(tenant_id)
    return bytes([FORMAT_VERSION, len(tenant)]) + tenant + struct.pack(">I", key_version)


def read_header(blob: bytes) -> BlobHeader:
    """The tenant and key version a blob claims (authenticated only once it decrypts)."""
    if len(blob) < 2 or blob[0] != FORMAT_VERSION:
        raise DecryptionError("not a cmo ciphertext (unknown format version)")
    end = 2 + blob[1] + 4
    if blob[1] == 0 or len(blob) < end + NONCE_BYTES + 16:
        raise DecryptionError("ciphertext is truncated")
    try:
        tenant_id = blob[2 : 2 + blob[1]].decode()
    except UnicodeDecodeError as exc:
        raise DecryptionError("ciphertext header is corrupt") from exc
    (version,) = struct.unpack(">I", blob[end - 4 : end])
    return BlobHeader(tenant_id, version, blob[:end])


def seal(key: bytes, tenant_id: str, key_version: int, plaintext: bytes, aad: bytes = b"") -> bytes:
    """Encrypt `plaintext` for `tenant_id` under data key `key_version`."""
    header = _header(tenant_id, key_version)
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header + aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes = b"") -> bytes:
    """Decrypt a blob made by `seal` with the key its header names; tampering is a DecryptionError."""
    header = read_header(blob)
    start = len(header.header)
    nonce, ciphertext = blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, header.header + aad)
    except InvalidTag as exc:
        raise DecryptionError(
            f"ciphertext of tenant {header.tenant_id!r} failed authentication "
            "(tampered with, moved from another tenant or record, or encrypted with another key)"
        ) from exc


def to_token(blob: bytes) -> str:
    """A blob as ASCII, safe in text columns, JSON and logs."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(blob).decode().rstrip("=")


def is_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def from_token(token: str) -> bytes:
    if not is_token(token):
        raise DecryptionError(f"not an encrypted token (expected the {TOKEN_PREFIX!r} prefix)")
    body = token[len(TOKEN_PREFIX) :]
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError("encrypted token is not valid base64url") from exc


def normalize_for_index(value: str) -> str:
    """What equality means for a blind index: case and surrounding blanks never matter."""
    return value.strip().lower()


def blind_index(index_key: bytes, value: str) -> str:
    """Hex HMAC-SHA256 of the normalised value: equal inputs give equal digests under one tenant's
    key, and nothing about the value can be learnt without that key."""
    return hmac.new(index_key, normalize_for_index(value).encode(), hashlib.sha256).hexdigest()
