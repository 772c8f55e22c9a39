"""Encryption at rest against the real databases: the keyring on SQLite and Postgres, rotation,
concurrent first use, AWS KMS through a local stub of its HTTP API, the `cmo keys` CLI and the
encrypted column types. Encrypted LangGraph checkpoints: test_checkpoint_backends.py."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text
from sqlalchemy.exc import StatementError
from typer.testing import CliRunner

from api.core.migrate import upgrade
from cli.main import app
from foundation.settings import Settings
from privacy import crypto
from privacy.crypto import DecryptionError, KeyringError
from privacy.key_providers import LocalKeyFileProvider, default_kek_file
from storage.encrypted_types import EncryptedJSON, EncryptedText, bind_keyring
from storage.keyring import Keyring, forget_keyrings, get_keyring, open_keyring, tenant_scope
from storage.urls import sqlalchemy_url
from tests.support.kms_stub import KmsStub

pytestmark = pytest.mark.own_keys  # makes its key files as `cmo keys init` would
EMAIL, NAME = "ada.lovelace@example.org", "Ada Lovelace"
runner = CliRunner()


def _cli(*args: str) -> tuple[int, str]:
    """Exit code and output with rich's line wrapping undone."""
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture(autouse=True)
def _no_shared_keyrings() -> Iterator[None]:
    yield
    bind_keyring(None)
    forget_keyrings()


def _settings(monkeypatch: pytest.MonkeyPatch, home: Path, database_url: str | None = None, **extra: str) -> Settings:
    """Settings, mirrored in the environment so the CLI under test sees the same ones."""
    monkeypatch.setenv("CMO_HOME", str(home))
    if database_url:
        monkeypatch.setenv("DATABASE_URL", database_url)
    for name, value in extra.items():
        monkeypatch.setenv(name.upper(), value)
    return Settings()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The embedded SQLite database (its key file appears on first use), or a migrated Postgres
    schema of this test alone with a key file made by `cmo keys init`'s code path."""
    if request.param == "sqlite":
        return _settings(monkeypatch, tmp_path / "home")
    settings = _settings(monkeypatch, tmp_path / "home", request.getfixturevalue("private_postgres_url"))
    upgrade(settings)
    LocalKeyFileProvider.create(default_kek_file(settings))
    return settings


@pytest.fixture
def keyrings(settings: Settings) -> Iterator[Callable[..., Keyring]]:
    """Independent keyrings on one database, as separate processes would have."""
    opened: list[Keyring] = []

    def make(refresh_seconds: float = 5.0) -> Keyring:
        keyring = open_keyring(settings)
        keyring.refresh_seconds = refresh_seconds
        opened.append(keyring)
        return keyring

    yield make
    for keyring in opened:
        keyring.close()


def test_round_trip_across_processes_and_tenants(keyrings: Callable[..., Keyring]) -> None:
    writer, reader = keyrings(), keyrings()
    blob = writer.encrypt("acme", EMAIL.encode(), b"prospects.email")
    token = writer.encrypt_text("globex", NAME)
    assert EMAIL.encode() not in blob and NAME not in token and token.startswith("enc1:")
    assert reader.decrypt(blob, b"prospects.email") == EMAIL.encode()
    assert reader.decrypt_text(token) == NAME
    with pytest.raises(DecryptionError):
        reader.decrypt(blob, b"prospects.name")
    assert {(k.tenant_id, k.purpose, k.version) for k in reader.status()} == {("acme", "data", 1), ("globex", "data", 1)}


def test_a_blob_relabelled_for_another_tenant_fails_even_with_a_valid_key(keyrings: Callable[..., Keyring]) -> None:
    keyring = keyrings()
    blob = keyring.encrypt("acme", EMAIL.encode())
    keyring.encrypt("evil", b"the evil tenant has a data key too")
    relabelled = bytes([blob[0], 4]) + b"evil" + blob[6:]
    with pytest.raises(DecryptionError, match="evil"):
        keyring.decrypt(relabelled)
    tampered = bytearray(blob)
    tampered[-3] ^= 0xFF
    with pytest.raises(DecryptionError):
        keyring.decrypt(bytes(tampered))
    with pytest.raises(DecryptionError, match="no data key version 9"):
        keyring.decrypt(crypto.seal(crypto.new_key(), "acme", 9, b"x"))


def test_rotation_keeps_old_ciphertexts_and_blind_indexes_and_live_processes_follow(
    keyrings: Callable[..., Keyring],
) -> None:
    live = keyrings(refresh_seconds=0)  # a long-running worker that never restarts
    before = live.encrypt_text("acme", EMAIL)
    index_before = live.blind_index("acme", EMAIL.upper())

    operator = keyrings()
    local = operator.provider
    assert isinstance(local, LocalKeyFileProvider)
    new_kek = local.add_version()
    assert operator.rewrap(local) == 2, "the data key and the index key"
    assert operator.start_new_data_keys() == {"acme": 2}

    after = live.encrypt_text("acme", NAME)
    assert crypto.read_header(crypto.from_token(after)).key_version == 2, "new writes use the new data key"
    fresh = keyrings()
    assert fresh.decrypt_text(before) == EMAIL and fresh.decrypt_text(after) == NAME
    assert live.decrypt_text(before) == EMAIL
    assert fresh.blind_index("acme", f"  {EMAIL}") == index_before, "blind indexes survive rotation"
    assert fresh.blind_index("globex", EMAIL) != index_before, "each tenant has its own index key"
    assert {k.kek_id for k in fresh.status() if k.tenant_id == "acme"} == {new_kek}


def test_concurrent_first_use_creates_one_key_per_tenant(keyrings: Callable[..., Keyring]) -> None:
    rings = [keyrings() for _ in range(4)]
    barrier = threading.Barrier(len(rings))
    blobs: dict[int, bytes] = {}
    indexes: dict[int, str] = {}

    def first_use(number: int, keyring: Keyring) -> None:
        barrier.wait()
        blobs[number] = keyring.encrypt("newco", str(number).encode())
        indexes[number] = keyring.blind_index("newco", EMAIL)

    threads = [threading.Thread(target=first_use, args=pair) for pair in enumerate(rings)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [(k.purpose, k.version) for k in rings[0].status()] == [("data", 1), ("index", 1)]
    assert len(set(indexes.values())) == 1
    assert all(rings[(n + 1) % 4].decrypt(blob) == str(n).encode() for n, blob in blobs.items())


def test_get_keyring_is_shared_per_database_and_provider(settings: Settings, tmp_path: Path) -> None:
    assert get_keyring(settings) is get_keyring(settings.model_copy())
    other = settings.model_copy(update={"cmo_kek_file": tmp_path / "other-kek.json"})
    if settings.database_url:
        LocalKeyFileProvider.create(other.cmo_kek_file)  # type: ignore[arg-type]
    assert get_keyring(other) is not get_keyring(settings)


@pytest.mark.postgres
def test_postgres_needs_a_key_file_and_a_migrated_schema(
    private_postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(monkeypatch, tmp_path / "home", private_postgres_url)
    with pytest.raises(KeyringError, match="cmo keys init"):
        get_keyring(settings)
    code, output = _cli("keys", "status")
    assert code == 2 and "run `cmo keys init`" in output and "Traceback" not in output

    assert _cli("keys", "init")[0] == 0
    with pytest.raises(KeyringError, match="cmo db upgrade"):
        get_keyring(settings).encrypt("acme", b"x")
    code, output = _cli("keys", "status")
    assert code == 2 and "no data_keys table: run `cmo db upgrade`" in output and "Traceback" not in output


def test_cli_init_rotate_status(settings: Settings) -> None:
    if not settings.database_url:
        code, output = _cli("keys", "init")
        assert code == 0 and "created key file" in output
    code, output = _cli("keys", "init")
    assert code == 2 and "already exists" in output and "Traceback" not in output
    live = open_keyring(settings)
    live.refresh_seconds = 0
    try:
        before = live.encrypt_text("acme", EMAIL)
        code, output = _cli("keys", "rotate", "--data-keys")
        assert code == 0 and "re-wrapped 1 key(s) under local:v2:" in output and "acme v2" in output, output
        code, output = _cli("keys", "status")
        assert code == 0 and "local:v2:" in output and "acme: data keys v1, v2 (new writes: v2)" in output, output
        assert "older KEKs" not in output
        kek_file = json.loads(default_kek_file(settings).read_text())
        assert not any(entry["key"] in output for entry in kek_file["keys"]), "never key material"
        assert live.decrypt_text(before) == EMAIL
        assert crypto.read_header(crypto.from_token(live.encrypt_text("acme", NAME))).key_version == 2
    finally:
        live.close()
    code, output = _cli("keys", "rotate", "--kms-key-id", "alias/x")
    assert code == 2 and "CMO_KEY_PROVIDER=aws-kms" in output


@pytest.fixture
def kms(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[KmsStub]:
    """The KMS stub, and dummy AWS credentials so no real account or config file is ever used."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    with KmsStub() as stub:
        yield stub


def test_aws_kms_wraps_keys_and_rotates_to_a_new_key(
    kms: KmsStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_internet: None
) -> None:
    old_arn = kms.create_key(alias="cmo")
    config = {"cmo_key_provider": "aws-kms", "cmo_kms_endpoint_url": kms.url, "aws_region": "eu-west-1"}
    settings = _settings(monkeypatch, tmp_path / "home", cmo_kms_key_id="alias/cmo", **config)
    keyring = get_keyring(settings)
    token = keyring.encrypt_text("acme", EMAIL)
    index = keyring.blind_index("acme", EMAIL)
    assert {k.kek_id for k in keyring.status()} == {"alias/cmo"} and kms.calls.count("Encrypt") == 2
    assert not (tmp_path / "home" / "keys").exists(), "no local key file with KMS"
    assert _cli("keys", "init") == (0, f"KMS key {old_arn} is enabled and reachable; nothing to create")

    new_arn = kms.create_key()
    code, output = _cli("keys", "rotate", "--kms-key-id", new_arn)
    assert code == 0 and "re-wrapped 2 key(s)" in output and f"CMO_KMS_KEY_ID={new_arn}" in output, output
    kms.disabled.add(old_arn)  # from now on only the new key can unwrap anything
    forget_keyrings()
    monkeypatch.setenv("CMO_KMS_KEY_ID", new_arn)
    restarted = get_keyring(Settings())
    assert restarted.decrypt_text(token) == EMAIL and restarted.blind_index("acme", EMAIL) == index
    assert kms.calls.count("Decrypt") >= 3

    monkeypatch.setenv("CMO_KMS_KEY_ID", "alias/missing")
    code, output = _cli("keys", "init")
    assert code == 2 and "NotFoundException" in output and "Traceback" not in output
    with pytest.raises(KeyringError, match="NotFoundException"):
        get_keyring(Settings()).encrypt("newco", b"x")


def test_encrypted_column_types_on_a_throwaway_table(settings: Settings) -> None:
    notes = Table(
        "privacy_test_notes",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("email", EncryptedText()),
        Column("profile", EncryptedJSON()),
    )
    engine = create_engine(sqlalchemy_url(settings, driver_async=False))
    notes.create(engine)
    profile = {"name": NAME, "links": ["https://example.org/ada"], "followers": 3}
    try:
        with pytest.raises(StatementError, match="bind_keyring"), engine.begin() as conn:
            conn.execute(insert(notes).values(id=9, email=EMAIL))  # no keyring bound in this process yet
        bind_keyring(get_keyring(settings))
        with tenant_scope("acme"), engine.begin() as conn:
            conn.execute(insert(notes).values(id=1, email=EMAIL, profile=profile))
            conn.execute(insert(notes).values(id=2, email=None, profile=None))
            conn.execute(text("INSERT INTO privacy_test_notes VALUES (3, 'legacy@example.org', '{\"a\": 1}')"))
        with engine.connect() as conn:
            rows = {row.id: row for row in conn.execute(select(notes))}
            raw = conn.execute(text("SELECT email, profile FROM privacy_test_notes WHERE id = 1")).one()
        assert (rows[1].email, rows[1].profile) == (EMAIL, profile)
        assert (rows[2].email, rows[2].profile) == (None, None)
        assert (rows[3].email, rows[3].profile) == ("legacy@example.org", {"a": 1}), "pre-encryption rows read as they are"
        assert all(value.startswith("enc1:") and EMAIL not in value and NAME not in value for value in raw)
        assert crypto.read_header(crypto.from_token(raw.email)).tenant_id == "acme"
    finally:
        notes.drop(engine)
        engine.dispose()
