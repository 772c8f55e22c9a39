"""`cmo suppress`: a tenant's do-not-contact list on the service database, as the API manages it.

The same service functions as `/api/suppressions` do the work (blind indexes, encryption, permanent
objections), and every command writes an audit record as the route would, with the OS user as actor.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar

import typer

from cli.common import console, fail, in_tenant

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
suppress_app = typer.Typer(
    help="The tenant's suppression list: people never to contact (or collect) again.", no_args_is_help=True
)
Tenant = Annotated[str, typer.Option("--tenant", help="Tenant name (as given to `cmo apikey create`).")]
Kind = Literal["github_id", "login", "email", "domain"]


def _run(tenant: str, action: str, work: Callable[[AsyncSession, str], Awaitable[T]]) -> T:
    """Run `work(session, tenant_id)` in one transaction with its audit record (see `in_tenant`)."""
    from api.services.audit import cli_actor, record_audit

    async def audited(session: AsyncSession, tenant_id: str | None) -> T:
        assert tenant_id is not None, "in_tenant passes None only when no tenant is named"
        result = await work(session, tenant_id)
        await record_audit(session, tenant_id=tenant_id, actor=cli_actor(), action=action, detail=_detail(result))
        await session.commit()
        return result

    return in_tenant(tenant, audited)


def _detail(result: object) -> dict[str, object] | None:
    """What the audit record names: the suppression's id, never its value."""
    from api.core.orm_privacy import Suppression

    return {"suppression_id": result.id} if isinstance(result, Suppression) else None


@suppress_app.command("add")
def add(
    kind: Annotated[Kind, typer.Argument(help="What VALUE is.")],
    value: Annotated[str, typer.Argument(help="A GitHub user id, login, email address or email domain.")],
    tenant: Tenant,
    reason: Annotated[
        Literal["manual", "objection"], typer.Option("--reason", help="`objection` (GDPR Art. 21) can never be removed.")
    ] = "manual",
) -> None:
    """Suppress one identifier (adding it again changes nothing, except to a stronger reason)."""
    from api.services.suppressions import add_suppression

    def work(session, tenant_id: str):
        return add_suppression(session, tenant_id, kind, value, reason=reason, source="cli")

    row = _run(tenant, "suppression.create", work)
    typer.echo(f"{row.id}: {row.kind} suppressed ({row.reason})")


@suppress_app.command("list")
def list_(
    tenant: Tenant,
    kind: Annotated[Kind | None, typer.Option("--kind", help="Only this kind.")] = None,
) -> None:
    """Every suppression of the tenant, newest first: id, kind, value (none for an erasure), reason, source, date."""
    from api.services.suppressions import describe, list_suppressions

    async def rows(session, tenant_id: str) -> list[str]:
        lines, cursor = [], None
        while True:
            page, cursor = await list_suppressions(session, tenant_id, limit=500, cursor=cursor, kind=kind)
            for row in (describe(session, r) for r in page):
                lines.append("\t".join([row.id, row.kind, row.value or "-", row.reason, row.source, row.created_at.isoformat()]))
            if cursor is None:
                return lines

    lines = _run(tenant, "suppression.list", rows)
    typer.echo("\t".join(["id", "kind", "value", "reason", "source", "created_at"]))
    for line in lines:
        typer.echo(line)
    console.print(f"{len(lines)} suppression(s)")


@suppress_app.command("remove")
def remove(
    suppression_id: Annotated[str, typer.Argument(help="The id printed by `add` or `list` (sup_…).")], tenant: Tenant
) -> None:
    """Lift a manual or imported suppression (objections, unsubscribes and erasures are permanent)."""
    from api.services.suppressions import delete_suppression

    _run(tenant, "suppression.delete", lambda session, tenant_id: delete_suppression(session, tenant_id, suppression_id))
    typer.echo(f"removed {suppression_id}")


@suppress_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A UTF-8 CSV with the header `kind,value`.", exists=True, dir_okay=False)],
    tenant: Tenant,
) -> None:
    """Add every row of FILE, or none of them if any row is bad (every bad line is named)."""
    from api.services.suppressions import import_csv

    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")
    rows, created = _run(
        tenant, "suppression.import", lambda session, tenant_id: import_csv(session, tenant_id, text, source="cli-import")
    )
    typer.echo(f"{rows} row(s) read, {created} new suppression(s)")


@suppress_app.command("export")
def export(
    tenant: Tenant,
    file: Annotated[
        Path | None, typer.Argument(help="Where to write the CSV (default: standard output).", dir_okay=False)
    ] = None,
) -> None:
    """The list as a `kind,value` CSV (what `import` reads); erasure tombstones hold no value and are left out."""
    from api.services.suppressions import export_csv

    text = _run(tenant, "suppression.export", export_csv)
    if file is None:
        sys.stdout.write(text)
        return
    try:
        file.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {file}: {exc}")
    console.print(f"wrote {text.count(chr(10)) - 1} suppression(s) to {file}")
