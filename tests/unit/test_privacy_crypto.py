"""The ciphertext format, blind indexes, the local key file and the tenant scope (no database)."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from privacy import crypto
from privacy.crypto import DecryptionError, KeyringError
from privacy.key_providers import LocalKeyFileProvider
from storage.keyring import LOCAL_TENANT, current_tenant, tenant_scope

KEY = crypto.new_key()


def test_seal_round_trips_and_names_its_tenant_and_key_version() -> None:
    blob = crypto.seal(KEY, "acme", 7, b"ada@example.com", b"prospects.email")
    header = crypto.read_header(blob)
    assert (header.tenant_id, header.key_version) == ("acme", 7)
    assert b"ada@example.com" not in blob
    assert crypto.open_sealed(KEY, blob, b"prospects.email") == b"ada@example.com"
    assert crypto.seal(KEY, "acme", 7, b"same") != crypto.seal(KEY, "acme", 7, b"same"), "random nonces"


@pytest.mark.parametrize("position", [2, 6, 9, 20, -1], ids=["tenant", "version", "nonce", "ciphertext", "tag"])
def test_any_flipped_byte_is_detected(position: int) -> None:
    blob = bytearray(crypto.seal(KEY, "acme", 1, b"ada@example.com"))
    blob[position] ^= 0x01
    with pytest.raises(DecryptionError):
        crypto.open_sealed(KEY, bytes(blob))


def test_moving_a_blob_to_another_tenant_or_context_fails() -> None:
    blob = crypto.seal(KEY, "acme", 1, b"secret", b"row-1")
    moved = bytes([blob[0], 4]) + b"evil" + blob[6:]  # same length tenant id, same key, other tenant
    with pytest.raises(DecryptionError, match="evil"):
        crypto.open_sealed(KEY, moved, b"row-1")
    with pytest.raises(DecryptionError):
        crypto.open_sealed(KEY, blob, b"row-2")
    with pytest.raises(DecryptionError):
        crypto.open_sealed(crypto.new_key(), blob, b"row-1")


@pytest.mark.parametrize("blob", [b"", b"\x02acme", b"\x01\x04acme\x00\x00\x00\x01short", b"\x01\x00"])
def test_malformed_blobs_are_decryption_errors(blob: bytes) -> None:
    with pytest.raises(DecryptionError):
        crypto.open_sealed(KEY, blob)


def test_tokens_are_ascii_and_reject_foreign_text() -> None:
    blob = crypto.seal(KEY, "acme", 1, "Zoë".encode())
    token = crypto.to_token(blob)
    assert token.startswith("enc1:") and token.isascii() and json.loads(json.dumps(token)) == token
    assert crypto.from_token(token) == blob
    for bad in ("ada@example.com", "enc1:***"):
        with pytest.raises(DecryptionError):
            crypto.from_token(bad)


def test_tenant_ids_must_fit_the_header() -> None:
    for bad in ("", "x" * 256):
        with pytest.raises(ValueError, match="tenant id"):
            crypto.seal(KEY, bad, 1, b"x")


def test_blind_index_ignores_case_and_blanks_and_depends_on_the_key() -> None:
    digest = crypto.blind_index(KEY, "Ada@Example.com ")
    assert digest == crypto.blind_index(KEY, "ada@example.com") and len(digest) == 64
    assert digest != crypto.blind_index(crypto.new_key(), "ada@example.com")
    assert digest != crypto.blind_index(KEY, "bob@example.com")


def test_local_key_file_is_private_refuses_overwrite_and_keeps_old_versions(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "kek.json"
    provider = LocalKeyFileProvider.create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and provider.key_id.startswith("local:v1:")
    with pytest.raises(KeyringError, match="already exists"):
        LocalKeyFileProvider.create(path)
    wrapped_v1 = provider.wrap(KEY)

    other_process = LocalKeyFileProvider(path)  # loaded before the rotation
    assert provider.add_version().startswith("local:v2:") and provider.versions == [1, 2]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    wrapped_v2 = provider.wrap(KEY)
    assert provider.unwrap(wrapped_v1) == provider.unwrap(wrapped_v2) == KEY
    assert other_process.unwrap(wrapped_v2) == KEY, "an unknown KEK version makes a process re-read the file"


def test_another_machines_key_file_is_a_clear_error(tmp_path: Path) -> None:
    wrapped = LocalKeyFileProvider.create(tmp_path / "a.json").wrap(KEY)
    with pytest.raises(KeyringError, match="same file"):
        LocalKeyFileProvider.create(tmp_path / "b.json").unwrap(wrapped)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(KeyringError, match="corrupt"):
        LocalKeyFileProvider(tmp_path / "bad.json")
    with pytest.raises(KeyringError, match="cmo keys init"):
        LocalKeyFileProvider(tmp_path / "missing.json")


def test_tenant_scope_nests_and_does_not_leak_into_other_threads() -> None:
    assert current_tenant() == LOCAL_TENANT
    seen: list[str] = []
    with tenant_scope("acme"):
        with tenant_scope("globex"):
            assert current_tenant() == "globex"
        assert current_tenant() == "acme"
        thread = threading.Thread(target=lambda: seen.append(current_tenant()))
        thread.start()
        thread.join()
    assert current_tenant() == LOCAL_TENANT and seen == [LOCAL_TENANT]
