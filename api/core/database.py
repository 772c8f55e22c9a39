"""The service database: Postgres when `DATABASE_URL` says so, else one SQLite file under `$CMO_HOME`.

One async engine per process, opened in the app lifespan (or by a CLI command) and disposed at the
end; connections are checked before use (`pool_pre_ping`) and replaced after `pool_recycle`
seconds, so a restarted Postgres or a proxy that drops idle connections costs no failed request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.dml import Insert

from api.core.config import ApiConfig
from api.core.fair_pool import FairAsyncQueuePool
from foundation.settings import Settings
from storage.urls import sqlalchemy_url

T = TypeVar("T")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite enforces foreign keys (cascading deletes) only when asked, per connection; WAL lets
    readers proceed while a writer commits, and the busy timeout waits out a concurrent writer. The
    timeout comes first: switching a new file to WAL needs the lock that the keyring's own connection
    may hold while it stores a tenant's first key ("database is locked" otherwise). WAL is set only
    on a file not yet in it: the mode is persistent, and asking again can meet a busy writer."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode")
    if str(cursor.fetchone()[0]).lower() != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class Database:
    """The process's engine and session factory."""

    def __init__(self, settings: Settings, config: ApiConfig) -> None:
        url = sqlalchemy_url(settings, driver_async=True)
        options: dict[str, Any] = {"pool_pre_ping": True, "pool_recycle": config.db_pool_recycle_seconds}
        if settings.uses_postgres:
            # first come, first served: SQLAlchemy's own queue let some requests wait seconds (fair_pool.py)
            options |= {"poolclass": FairAsyncQueuePool, "pool_size": config.db_pool_size, "max_overflow": config.db_max_overflow}
        self.settings, self.config = settings, config  # what background work (webhooks) runs with
        self.engine: AsyncEngine = create_async_engine(url, **options)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        # `info` lets services reach the settings (the tenant keyring) from a session alone.
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, info={"foundation.settings": settings})
        # The audit trail's group commit (api/services/audit.py), which every audited request waits
        # for, has a connection of its own on Postgres: in the shared pool it queued behind the very
        # requests waiting for it. SQLite has one writer at a time whatever the connection.
        self.serial_engine = self.engine
        if settings.uses_postgres:
            self.serial_engine = create_async_engine(
                url, pool_pre_ping=True, pool_recycle=config.db_pool_recycle_seconds, pool_size=1, max_overflow=0
            )
        self.serial_sessions = async_sessionmaker(self.serial_engine, expire_on_commit=False)  # audit rows need no keyring

    def bind_session_info(self, key: str, value: Any) -> None:
        """Put `value` in the `info` of every session opened from now on (process-wide services:
        the event bus, the cancel publisher), keeping what is already there."""
        info = dict(self.sessions.kw.get("info") or {})
        info[key] = value
        self.sessions.configure(info=info)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.serial_engine is not self.engine:
            await self.serial_engine.dispose()


def run_with_database(settings: Settings, action: Callable[[Database], Awaitable[T]]) -> T:
    """Run one async database action from synchronous code (the CLI), with its own short-lived engine."""

    async def main() -> T:
        database = Database(settings, ApiConfig())
        try:
            return await action(database)
        finally:
            await database.dispose()

    return asyncio.run(main())


def upsert(
    session: AsyncSession,
    table: type[DeclarativeBase],
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
) -> Insert:
    """INSERT ... ON CONFLICT (keys) DO UPDATE: the idempotent write a resumed worker relies on
    (Postgres and SQLite spell it the same way, through their own dialect's `insert`)."""
    dialect_insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(table).values(list(rows))
    return statement.on_conflict_do_update(index_elements=list(keys), set_={c: statement.excluded[c] for c in update})
