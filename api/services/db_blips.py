"""Which database errors are a blip worth waiting out (a restart, a failover, a killed connection, a
locked SQLite file) rather than a fault of the job: the worker resumes the job from its checkpoint
after them instead of failing the attempt (`api.services.execution`)."""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy.exc import DBAPIError

RETRY_SECONDS = 30.0  # waited out at most, per attempt, before the attempt fails as before
FIRST_DELAY, MAX_DELAY = 0.5, 8.0


def is_transient(exc: BaseException) -> bool:
    """True for a lost or refused connection, or a locked SQLite database, anywhere in the chain of
    causes (LangGraph and SQLAlchemy wrap the driver's error)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, psycopg.OperationalError | ConnectionError):
            return True  # AdminShutdown (pg_terminate_backend, a restart), "connection is closed", refused
        if isinstance(current, sqlite3.OperationalError) and ("locked" in str(current) or "busy" in str(current)):
            return True
        current = current.__cause__ or current.__context__
    return False


def delays() -> list[float]:
    """The backoff between resumes: doubling from `FIRST_DELAY`, capped, summing to `RETRY_SECONDS`."""
    found: list[float] = []
    delay = FIRST_DELAY
    while sum(found) + delay <= RETRY_SECONDS:
        found.append(delay)
        delay = min(delay * 2, MAX_DELAY)
    return found
