"""Privacy commands of `cmo` (keys, suppressions, audit, erasure, retention), one module each, and
what the tenant-scoped ones share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer

from cmo.cli_common import fail, load_settings
from cmo.cli_service import _service_call

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


def register_privacy_commands(app: typer.Typer) -> None:
    """Attach the privacy command groups to the main `cmo` app."""
    from cmo.cli_audit import audit_app
    from cmo.cli_erase import erase, export, purge
    from cmo.cli_keys import keys_app
    from cmo.cli_suppress import suppress_app

    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")
    app.add_typer(suppress_app, name="suppress")
    for command in (erase, export, purge):
        app.command(command.__name__)(command)


def in_tenant(tenant: str | None, work: Callable[[AsyncSession, str | None], Awaitable[T]], *, encrypted: bool = False) -> T:
    """Run `work(session, tenant_id)` on the service database, TENANT given by name (None: every
    tenant), with the keyring bound first when it reads or writes `encrypted` columns; a user error
    (unknown tenant or id, a bad value, a running job, missing keys) is one red line."""
    from sqlalchemy import select

    from api.core.database import Database
    from api.core.encrypted_types import bind_keyring
    from api.core.errors import Problem
    from api.core.orm import Tenant as TenantRow
    from cmo.privacy.crypto import KeyringError
    from cmo.privacy.keys import get_keyring

    settings = load_settings()

    async def act(database: Database) -> T:
        if encrypted:
            bind_keyring(get_keyring(settings))
        async with database.sessions() as session:
            tenant_id = None
            if tenant is not None:
                tenant_id = await session.scalar(select(TenantRow.id).where(TenantRow.name == tenant))
                if tenant_id is None:
                    raise Problem(404, f"no tenant {tenant!r} (create it with `cmo apikey create --tenant {tenant}`)")
            return await work(session, tenant_id)

    try:
        return _service_call(settings, act)
    except Problem as exc:
        fail(str(exc.detail))
    except (ValueError, KeyringError) as exc:
        fail(str(exc))
