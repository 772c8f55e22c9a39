"""Alembic, configured in code: `cmo db upgrade` needs no alembic.ini in the working directory.

The migrations always run on a synchronous connection (psycopg 3 or the stdlib sqlite3), so the
same scripts serve the CLI, the embedded start-up and the tests.
"""

from __future__ import annotations

import functools
import sqlite3
from contextlib import closing
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from api.core.database import Database
from foundation.settings import Settings
from storage.urls import SQLITE_FILE, sqlalchemy_url

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(settings: Settings) -> Config:
    """An in-memory Alembic config; the URL travels as an attribute (no `%` escaping games)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["sqlalchemy_url"] = sqlalchemy_url(settings, driver_async=False)
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def ensure_embedded_schema(settings: Settings) -> None:
    """The embedded SQLite database migrates itself, so a laptop needs no setup step; a Postgres
    deployment migrates once, explicitly, with `cmo db upgrade` (not every replica at start)."""
    if not settings.uses_postgres:
        upgrade(settings)
        _to_wal(settings.home / SQLITE_FILE)


def _to_wal(path: Path) -> None:
    """Turn the file to WAL here, on one connection before the app opens any: several first
    connections switching it at once (the API, its inline worker, the webhook sweep) can meet a
    busy lock the timeout does not wait out ("database is locked"). The mode is persistent."""
    with closing(sqlite3.connect(path, timeout=30)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings), revision)


@functools.cache  # the scripts ship with the code: parsing them once per process is enough (`/readyz` asks often)
def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


async def current_revision(database: Database) -> str | None:
    """The revision the database is at (None before the first `cmo db upgrade`)."""
    async with database.engine.connect() as conn:
        if not await conn.run_sync(lambda sync: inspect(sync).has_table("alembic_version")):
            return None
        return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()
