"""`cmo audit verify`: recompute the audit trail's hash chain and name the first broken link.

The database refuses UPDATE and DELETE on `audit_log`, but an owner or superuser can disable that;
the chain is how such tampering (an edited, removed or inserted record) still comes to light.
Exit 0: intact; 1: broken (the seq is printed); 2: bad input or an unreachable database.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import console, load_settings, service_call

audit_app = typer.Typer(help="The audit trail of personal-data access (append-only, hash-chained).", no_args_is_help=True)
EXIT_BROKEN = 1


@audit_app.command("verify")
def verify(
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Judge only this tenant's records (name, or id of a deleted tenant).")
    ] = None,
) -> None:
    """Recompute every record's hash and link; report the first broken one."""
    from sqlalchemy import or_, select

    from api.core.database import Database
    from api.core.orm import Tenant
    from api.services.audit import ChainReport, verify_chain

    async def check(database: Database) -> ChainReport:
        async with database.sessions() as session:
            tenant_id = None
            if tenant is not None:
                found = select(Tenant.id).where(or_(Tenant.name == tenant, Tenant.id == tenant))
                tenant_id = await session.scalar(found) or tenant
            return await verify_chain(session, tenant_id)

    report: ChainReport = service_call(load_settings(), check)
    scope = f" of tenant {tenant}" if tenant is not None else ""
    if report.broken_seq is not None:
        console.print(
            f"[bold red]audit chain broken at seq {report.broken_seq}:[/] {report.reason} "
            f"({report.records} records{scope} before it verified)"
        )
        raise typer.Exit(EXIT_BROKEN)
    typer.echo(f"{report.records} records{scope}, chain intact")
