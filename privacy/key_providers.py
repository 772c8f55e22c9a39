"""Key-encryption-key (KEK) providers: who wraps and unwraps the tenants' data keys.

Why a protocol: the data keys live in the database, wrapped; whoever holds the KEK can unwrap them.
On a laptop that is a local key file (created on first use, so it just works); in production it is
either the same key file given to every machine, or AWS KMS, where the KEK never leaves the HSM and
every unwrap is an audited API call. The keyring only needs `wrap`, `unwrap` and the current
`key_id` (stored beside each wrapped key, so rotation knows which rows still need re-wrapping).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import struct
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from foundation.settings import Settings
from privacy.crypto import NONCE_BYTES, KeyringError, new_key

log = logging.getLogger(__name__)

KEK_FILE_FORMAT = 1
_WRAP_FORMAT = 1
_WRAP_AAD = b"cmo-kek-wrap"
KMS_ENCRYPTION_CONTEXT = {"cmo": "data-key"}  # KMS binds it to the ciphertext; also shows in CloudTrail


@runtime_checkable
class KeyProvider(Protocol):
    """Wraps data keys under a key-encryption key; `key_id` names the KEK new wraps use."""

    @property
    def key_id(self) -> str: ...

    def wrap(self, plaintext: bytes) -> bytes: ...

    def unwrap(self, blob: bytes) -> bytes: ...


def default_kek_file(settings: Settings) -> Path:
    return (settings.cmo_kek_file or settings.home / "keys" / "kek.json").expanduser()


def _fingerprint(key: bytes) -> str:
    """A short public name for a KEK, so a machine holding another key file is told so plainly."""
    return hashlib.sha256(b"cmo-kek-fingerprint" + key).hexdigest()[:12]


def _write_key_file(path: Path, document: dict[str, Any], *, replace: bool) -> None:
    """Write the key file owner-only (0600) and atomically: a reader never sees half a file. A new
    file is hard-linked into place, which fails if a concurrent process created it first."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".kek-", suffix=".tmp")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temp, path)
        else:
            os.link(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)


class LocalKeyFileProvider:
    """Versioned AES-256 KEKs in a JSON file. Rotation adds a version and keeps the old ones, so keys
    wrapped before (or by a process that has not reloaded yet) still unwrap."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._loaded_mtime: int | None = None
        self._current = 0
        self._keys: dict[int, bytes] = {}
        self._reload()

    @classmethod
    def create(cls, path: Path) -> LocalKeyFileProvider:
        """A new key file with one KEK; refuses to replace an existing one (that would orphan every
        data key it wrapped)."""
        if path.exists():
            raise KeyringError(f"key file {path} already exists (`cmo keys rotate` adds a new key version)")
        try:
            _write_key_file(path, {"format": KEK_FILE_FORMAT, "current": 1, "keys": [_kek_entry(1)]}, replace=False)
        except FileExistsError as exc:
            raise KeyringError(f"key file {path} already exists (`cmo keys rotate` adds a new key version)") from exc
        return cls(path)

    @property
    def key_id(self) -> str:
        return f"local:v{self._current}:{_fingerprint(self._keys[self._current])}"

    @property
    def versions(self) -> list[int]:
        return sorted(self._keys)

    def add_version(self) -> str:
        """Make a new KEK current (old versions stay in the file); returns its key id."""
        with self._lock:
            self._reload()
            document = self._read()
            version = max(self._keys) + 1
            document["keys"].append(_kek_entry(version))
            document["current"] = version
            _write_key_file(self.path, document, replace=True)
            self._reload(force=True)
        return self.key_id

    def wrap(self, plaintext: bytes) -> bytes:
        self._reload()
        header = struct.pack(">BI", _WRAP_FORMAT, self._current)
        nonce = os.urandom(NONCE_BYTES)
        return header + nonce + AESGCM(self._keys[self._current]).encrypt(nonce, plaintext, _WRAP_AAD + header)

    def unwrap(self, blob: bytes) -> bytes:
        if len(blob) < 5 + NONCE_BYTES or blob[0] != _WRAP_FORMAT:
            raise KeyringError(f"a wrapped data key is not in the local key file's format (key file {self.path})")
        (version,) = struct.unpack(">I", blob[1:5])
        if version not in self._keys:
            self._reload(force=True)  # rotated by another process since we read the file
        if version not in self._keys:
            raise KeyringError(
                f"a data key was wrapped by KEK version {version}, which {self.path} does not hold: give every "
                "machine the same key file (copy it after `cmo keys rotate`)"
            )
        nonce, ciphertext = blob[5 : 5 + NONCE_BYTES], blob[5 + NONCE_BYTES :]
        try:
            return AESGCM(self._keys[version]).decrypt(nonce, ciphertext, _WRAP_AAD + blob[:5])
        except InvalidTag as exc:
            raise KeyringError(
                f"the key file {self.path} cannot unwrap this database's data keys (another machine's key "
                "file?): run `cmo keys init` once and give every machine the same file, or use AWS KMS"
            ) from exc

    def _read(self) -> dict[str, Any]:
        try:
            document = json.loads(self.path.read_text())
            keys = {int(entry["version"]): base64.b64decode(entry["key"]) for entry in document["keys"]}
            if document["current"] not in keys or any(len(key) != 32 for key in keys.values()):
                raise ValueError("no current key, or a key that is not 256 bits")
        except FileNotFoundError as exc:
            raise KeyringError(f"no key file at {self.path}: run `cmo keys init`") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyringError(f"key file {self.path} is unreadable or corrupt: {exc}") from exc
        return document

    def _reload(self, *, force: bool = False) -> None:
        """Re-read the file when it changed (a rotation by another process); a stat per wrap is cheap."""
        try:
            stat = self.path.stat()
        except FileNotFoundError as exc:
            raise KeyringError(f"no key file at {self.path}: run `cmo keys init`") from exc
        if not force and stat.st_mtime_ns == self._loaded_mtime:
            return
        if stat.st_mode & 0o077:
            log.warning("key file %s is readable by other users: chmod 600 it", self.path)
        document = self._read()
        self._keys = {int(entry["version"]): base64.b64decode(entry["key"]) for entry in document["keys"]}
        self._current, self._loaded_mtime = int(document["current"]), stat.st_mtime_ns


def _kek_entry(version: int) -> dict[str, Any]:
    return {"version": version, "key": base64.b64encode(new_key()).decode(), "created_at": datetime.now(UTC).isoformat()}


class AwsKmsProvider:
    """AWS KMS: wrap = Encrypt, unwrap = Decrypt. Decrypt needs no key id (the ciphertext names its
    key), so keys wrapped before a switch to a new KMS key keep unwrapping while `cmo keys rotate`
    re-wraps them."""

    def __init__(self, key_id: str, *, region: str | None = None, endpoint_url: str | None = None) -> None:
        import boto3  # here, not at the top: only CMO_KEY_PROVIDER=aws-kms loads the AWS SDK
        from botocore.exceptions import BotoCoreError

        self._key_id = key_id
        try:
            self._client = boto3.client("kms", region_name=region, endpoint_url=endpoint_url)
        except BotoCoreError as exc:
            raise KeyringError(f"AWS KMS client: {exc} (set CMO_KMS_REGION or AWS_REGION)") from exc

    @property
    def key_id(self) -> str:
        return self._key_id

    def wrap(self, plaintext: bytes) -> bytes:
        answer = self._call("Encrypt", KeyId=self._key_id, Plaintext=plaintext, EncryptionContext=KMS_ENCRYPTION_CONTEXT)
        return bytes(answer["CiphertextBlob"])

    def unwrap(self, blob: bytes) -> bytes:
        return bytes(self._call("Decrypt", CiphertextBlob=blob, EncryptionContext=KMS_ENCRYPTION_CONTEXT)["Plaintext"])

    def describe(self) -> dict[str, Any]:
        """The key's metadata (id, ARN, state): proves the key exists and these credentials reach it."""
        return dict(self._call("DescribeKey", KeyId=self._key_id)["KeyMetadata"])

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        method = {"Encrypt": self._client.encrypt, "Decrypt": self._client.decrypt, "DescribeKey": self._client.describe_key}
        try:
            return method[operation](**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise KeyringError(
                f"AWS KMS {operation} with key {self._key_id} failed: {error.get('Code')}: {error.get('Message')}"
            ) from exc
        except BotoCoreError as exc:
            raise KeyringError(f"AWS KMS {operation} with key {self._key_id} failed: {exc}") from exc


def kms_provider(settings: Settings, key_id: str | None = None) -> AwsKmsProvider:
    """The KMS provider the settings describe (or for another key id, during a rotation)."""
    key_id = key_id or settings.cmo_kms_key_id
    if not key_id:
        raise KeyringError("CMO_KEY_PROVIDER=aws-kms needs CMO_KMS_KEY_ID (a key id, ARN or alias/name)")
    return AwsKmsProvider(
        key_id, region=settings.cmo_kms_region or settings.aws_region, endpoint_url=settings.cmo_kms_endpoint_url
    )


def provider_from_settings(settings: Settings) -> KeyProvider:
    """The configured provider. A missing local key file is created in the embedded (SQLite) mode;
    with Postgres several machines share the data keys, so they must share the KEK too: an error."""
    if settings.cmo_key_provider == "aws-kms":
        return kms_provider(settings)
    path = default_kek_file(settings)
    if path.exists():
        return LocalKeyFileProvider(path)
    if settings.uses_postgres:
        raise KeyringError(
            f"no key-encryption key file at {path}: run `cmo keys init` and give every machine the same file "
            "(CMO_KEK_FILE), or set CMO_KEY_PROVIDER=aws-kms"
        )
    try:
        provider = LocalKeyFileProvider.create(path)
    except KeyringError:
        return LocalKeyFileProvider(path)  # another process created it a moment ago
    log.warning("created a new key-encryption key file at %s: back it up; without it the data cannot be read", path)
    return provider
