"""Encryption at rest of files and cached GitHub answers, on the embedded SQLite database: the
`EncryptedBytes` column type and the sealed ETag cache (what is stored, what reads back)."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text

from foundation.settings import Settings
from privacy import crypto
from storage.encrypted_types import EncryptedBytes, bind_keyring
from storage.keyring import Keyring, get_keyring, tenant_scope
from tools.etag_cache import CACHE_TENANT, CachedResponse, SealedETagCache, SQLiteETagCache

PROFILE = b'{"login": "ada", "name": "Ada Lovelace", "email": "ada.lovelace@example.org"}'
URL = "https://api.github.com/users/ada"


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return get_keyring(Settings(cmo_home=tmp_path / "home"))


def test_encrypted_bytes_seal_files_for_the_scope_tenant_and_read_old_ones(keyring: Keyring, tmp_path: Path) -> None:
    files = Table("files", MetaData(), Column("id", Integer, primary_key=True), Column("content", EncryptedBytes()))
    engine = create_engine(f"sqlite:///{tmp_path / 'files.sqlite'}")
    files.create(engine)
    bind_keyring(keyring)
    with tenant_scope("ten_acme"), engine.begin() as conn:
        conn.execute(insert(files).values(id=1, content=PROFILE))
        conn.execute(text("INSERT INTO files VALUES (2, :old)"), {"old": b"written before encryption"})
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT content FROM files WHERE id = 1")).scalar_one()
        read = dict(conn.execute(select(files.c.id, files.c.content)).all())
    engine.dispose()
    assert b"Ada" not in raw and crypto.read_header(crypto.from_token(raw.decode())).tenant_id == "ten_acme"
    assert read == {1: PROFILE, 2: b"written before encryption"}


def test_the_etag_cache_stores_bodies_sealed_and_bound_to_their_url(keyring: Keyring, tmp_path: Path) -> None:
    path = tmp_path / "etags.sqlite"
    cache = SealedETagCache(SQLiteETagCache(path), keyring)
    cache.put(URL, CachedResponse('"v1"', PROFILE, {"Content-Type": "application/json"}))
    assert cache.get(URL) == CachedResponse('"v1"', PROFILE, {"Content-Type": "application/json"})
    with sqlite3.connect(path) as conn:
        raw = conn.execute("SELECT body FROM etags WHERE key = ?", (URL,)).fetchone()[0]
        conn.execute("INSERT INTO etags SELECT ?, etag, body, headers FROM etags WHERE key = ?", (URL + "/moved", URL))
    assert b"Ada" not in raw and crypto.read_header(crypto.from_token(raw.decode())).tenant_id == CACHE_TENANT
    assert cache.get(URL + "/moved") is None, "a body copied to another URL does not decrypt: a miss"


def test_the_etag_cache_serves_old_plaintext_and_ignores_other_deployments(keyring: Keyring, tmp_path: Path) -> None:
    shared = SQLiteETagCache(tmp_path / "etags.sqlite")
    shared.put("https://api.github.com/users/old", CachedResponse('"old"', b"{}", {}))
    other = get_keyring(Settings(cmo_home=tmp_path / "other-home", cmo_kek_file=tmp_path / "other-kek.json"))
    SealedETagCache(shared, other).put(URL, CachedResponse('"v1"', PROFILE, {}))
    cache = SealedETagCache(shared, keyring)
    assert cache.get("https://api.github.com/users/old") == CachedResponse('"old"', b"{}", {})
    assert shared.get("https://api.github.com/users/old").body.startswith(b"enc1:"), "stored again, sealed"  # type: ignore[union-attr]
    assert cache.get(URL) is None, "sealed with another deployment's keys: a miss, not an error"


def test_forgetting_matches_the_decrypted_bodies(keyring: Keyring, tmp_path: Path) -> None:
    cache = SealedETagCache(SQLiteETagCache(tmp_path / "etags.sqlite"), keyring)
    cache.put(URL, CachedResponse('"v1"', PROFILE, {}))
    cache.put("https://api.github.com/users/bob", CachedResponse('"v2"', b'{"login": "bob"}', {}))
    assert cache.forget(lambda key, body: b"ada.lovelace@example.org" in body) == 1
    assert cache.get(URL) is None and cache.get("https://api.github.com/users/bob") is not None


def _cache_with_a_reader_on_the_old_snapshot(path: Path, busy_wait_seconds: float) -> tuple[SQLiteETagCache, sqlite3.Connection]:
    cache = SQLiteETagCache(path, busy_wait_seconds=busy_wait_seconds)
    for number in range(40):
        cache.put(f"https://api.github.com/users/other{number}", CachedResponse('"e"', b"x" * 300, {}))
    cache.put("https://api.github.com/users/zara1303", CachedResponse('"e"', b'{"login": "zara1303"}', {}))
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM etags").fetchone()
    return cache, reader


def test_forgetting_waits_for_readers_on_an_old_snapshot_so_no_bytes_stay_in_the_file(tmp_path: Path) -> None:
    """A reader still in a transaction makes the checkpoint report busy; left at that, the erased
    login stays in the database file's old page (a CI run found it there)."""
    cache, reader = _cache_with_a_reader_on_the_old_snapshot(tmp_path / "etags.sqlite", busy_wait_seconds=10)
    threading.Timer(0.3, reader.rollback).start()
    assert cache.forget(lambda key, body: "zara1303" in key) == 1
    for file in tmp_path.iterdir():
        assert b"zara1303" not in file.read_bytes(), file.name


def test_forgetting_fails_loudly_when_a_reader_never_lets_go(tmp_path: Path) -> None:
    cache, reader = _cache_with_a_reader_on_the_old_snapshot(tmp_path / "etags.sqlite", busy_wait_seconds=0.3)
    with pytest.raises(TimeoutError, match="still in the file"):
        cache.forget(lambda key, body: "zara1303" in key)
    reader.rollback()
