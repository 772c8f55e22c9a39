"""Where the data lives: database URLs for psycopg and SQLAlchemy, and a password-free description.

One home for these so the checkpointer, the keyring and the service database agree on the same
Postgres (any of `postgresql://`, `postgres://`, `postgresql+psycopg://`) or the same SQLite file.
"""

from __future__ import annotations

from foundation.settings import Settings

SQLITE_FILE = "service.sqlite"
CHECKPOINTS_FILE = "checkpoints.sqlite"


def postgres_conninfo(database_url: str) -> str:
    """psycopg wants a libpq URL; accept SQLAlchemy-style `postgresql+psycopg://` too."""
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1).replace("postgres+psycopg://", "postgresql://", 1)


def sqlalchemy_url(settings: Settings, *, driver_async: bool) -> str:
    """The SQLAlchemy URL of the service database (psycopg 3 for Postgres, sync or async)."""
    if settings.database_url and settings.uses_postgres:
        return "postgresql+psycopg://" + postgres_conninfo(settings.database_url).split("://", 1)[1]
    return f"sqlite{'+aiosqlite' if driver_async else ''}:///{settings.home / SQLITE_FILE}"


def describe(settings: Settings) -> str:
    """Where the data lives, for messages: never prints a password."""
    if settings.database_url and settings.uses_postgres:
        return "Postgres at " + settings.database_url.split("://", 1)[-1].split("@")[-1].split("?")[0]
    return str(settings.home / SQLITE_FILE)
