"""What every `cmo` command shares: the stderr console, one-line failures, validated settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from api.core.database import Database
    from foundation.schemas import Campaign
    from foundation.settings import Settings

T = TypeVar("T")
# Exit codes of every command (README): done, bad input (one clear line), partial results.
EXIT_OK, EXIT_BAD_INPUT, EXIT_PARTIAL = 0, 2, 3
console = Console(stderr=True)


def fail(message: str) -> NoReturn:
    """A user error: one red line on stderr and exit code 2, never a traceback."""
    # one line, however narrow the terminal; the message is text (it may quote a vendor's or GitHub's words)
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def bind_keys(settings: Settings) -> None:
    """Give the service database's encrypted columns their keyring, for a command that reads or
    writes personal data through the ORM; missing keys (`cmo keys init`) are one red line."""
    from privacy.crypto import KeyringError
    from storage.encrypted_types import bind_keyring
    from storage.keyring import get_keyring

    try:
        bind_keyring(get_keyring(settings))
    except KeyringError as exc:
        fail(str(exc))


def load_settings() -> Settings:
    """The environment's settings; an invalid value is a user error, not a crash."""
    from pydantic import ValidationError

    from foundation.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        fail(f"invalid environment setting: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")


def load_campaign(path: Path) -> Campaign:
    """A Campaign Configuration JSON file; unreadable or invalid is one red line."""
    from pydantic import ValidationError

    from foundation.schemas import Campaign

    try:
        return Campaign.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"cannot read campaign file {path}: {exc.strerror}")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "(top level)"
        fail(f"invalid campaign file {path}: {where}: {first['msg']}")


def service_call(settings: Settings, action: Callable[[Database], Awaitable[T]]) -> T:
    """Run one service-database action; a database that is unreachable or not migrated is one red line."""
    from sqlalchemy.exc import DBAPIError

    from api.core.database import run_with_database
    from api.core.migrate import ensure_embedded_schema
    from storage.urls import describe

    try:
        ensure_embedded_schema(settings)
        return run_with_database(settings, action)
    except DBAPIError as exc:
        fail(f"database {describe(settings)}: {exc.orig} (is it reachable and migrated with `cmo db upgrade`?)")


def in_tenant(tenant: str | None, work: Callable[[AsyncSession, str | None], Awaitable[T]], *, encrypted: bool = False) -> T:
    """Run `work(session, tenant_id)` on the service database, TENANT given by name (None: every
    tenant), with the keyring bound first when it reads or writes `encrypted` columns; a user error
    (unknown tenant or id, a bad value, a running job, missing keys) is one red line."""
    from sqlalchemy import select

    from api.core.orm import Tenant as TenantRow
    from api.services.errors import NotFound, ServiceError
    from privacy.crypto import KeyringError
    from storage.encrypted_types import bind_keyring
    from storage.keyring import get_keyring

    settings = load_settings()

    async def act(database: Database) -> T:
        if encrypted:
            bind_keyring(get_keyring(settings))
        async with database.sessions() as session:
            tenant_id = None
            if tenant is not None:
                tenant_id = await session.scalar(select(TenantRow.id).where(TenantRow.name == tenant))
                if tenant_id is None:
                    raise NotFound(f"no tenant {tenant!r} (create it with `cmo apikey create --tenant {tenant}`)")
            return await work(session, tenant_id)

    try:
        return service_call(settings, act)
    except ServiceError as exc:
        fail(exc.message)
    except (ValueError, KeyringError) as exc:
        fail(str(exc))
