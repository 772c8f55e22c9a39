"""`cmo erase`, `cmo export`, `cmo purge`: data-subject rights and retention on the service database.

Why in the CLI as well as the API: an operator answers an erasure or access request that arrived by
email, and can run the retention purge from cron when no worker runs (the embedded mode between
`cmo serve` runs). The same services as `/api/prospects` and the workers do the work, and every
command writes its audit record with the OS user as actor (`cli:<user>`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import fail, in_tenant, load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from api.services.erasure import ErasureReport, Person

Tenant = Annotated[str, typer.Option("--tenant", help="Tenant name (as given to `cmo apikey create`).")]
Email = Annotated[str | None, typer.Option("--email", help="The person's email address.")]
Login = Annotated[str | None, typer.Option("--login", help="The person's GitHub login.")]
ProspectId = Annotated[str | None, typer.Option("--id", help="The prospect id of the leads (gh_<login>).")]


def _person(email: str | None, login: str | None, prospect_id: str | None) -> Person:
    from api.services.erasure import Person

    given = [value for value in (email, login, prospect_id) if value]
    if len(given) != 1:
        fail("name the person with exactly one of --email, --login or --id")
    if prospect_id and not prospect_id.startswith("gh_"):
        fail(f"--id {prospect_id!r} is not a prospect id (gh_<login>)")
    return Person.of(prospect_id=prospect_id, login=login, email=email)


def erase(tenant: Tenant, email: Email = None, login: Login = None, prospect_id: ProspectId = None) -> None:
    """Erase one person from every store of the tenant and tombstone them (GDPR Art. 17)."""
    from api.services.audit import cli_actor
    from api.services.erasure import erase as erase_person
    from api.services.errors import NotFound
    from cli.sync import forget_everywhere

    person = _person(email, login, prospect_id)
    # First the destinations `cmo sync` delivered them to (its ledger in $CMO_HOME; GDPR Art. 17(2)),
    # which hold them whether or not the tenant's database does.
    reached = forget_everywhere(prospect_ids=person.prospect_ids | {f"gh_{login}" for login in person.logins}, email=email)
    for line in reached:
        typer.echo(f"destination (cmo sync) {line}")

    async def work(session: AsyncSession, tenant_id: str | None) -> ErasureReport | None:
        try:
            return await erase_person(session, tenant_id or "", person, actor=cli_actor())
        except NotFound:
            if reached:  # only `cmo sync` destinations held them
                return None
            raise

    report = in_tenant(tenant, work, encrypted=True)
    if report is None:
        typer.echo("the tenant's database holds nothing about them: erased from the destinations above only")
        return
    detail = report.detail()
    for line in detail.get("destinations", []):
        typer.echo(f"destination {line['destination']}: {line['outcome']} {line['records']} record(s)")
    typer.echo(
        f"erased from {len(detail['jobs'])} job(s): {detail['prospect_rows']} prospect record(s), "
        f"{detail['events_deleted']} event(s) deleted, {detail['records_redacted']} record(s) redacted, "
        f"{detail['artifacts_regenerated']} artifact(s) regenerated, {detail['checkpoint_threads']} checkpoint thread(s), "
        f"{detail['cache_entries']} cache entr(ies) and {detail['vectors']} vector(s) deleted; tombstones: {', '.join(report.suppression_ids) or 'none'}; "
        f"audit record {report.audit_id}"
    )


def export(
    tenant: Tenant,
    file: Annotated[Path | None, typer.Argument(help="Write the JSON here (default: standard output).")] = None,
    login: Login = None,
    email: Email = None,
    prospect_id: ProspectId = None,
) -> None:
    """Everything the tenant holds about one person, as JSON (GDPR Art. 15)."""
    from api.services.audit import cli_actor, record_audit
    from api.services.subject_export import export_person

    person = _person(email, login, prospect_id)

    async def work(session: AsyncSession, tenant_id: str | None) -> str:
        document = await export_person(session, tenant_id or "", person)
        await record_audit(
            session, tenant_id=tenant_id, actor=cli_actor(), action="prospect.export", prospect_ids=document.prospect_ids
        )
        await session.commit()
        return document.model_dump_json(indent=2)

    text = in_tenant(tenant, work, encrypted=True)
    if file is None:
        typer.echo(text)
        return
    file.write_text(text + "\n", encoding="utf-8")
    typer.echo(f"wrote {file}", err=True)


def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be deleted; change nothing.")] = False,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant (default: every tenant).")] = None,
) -> None:
    """Delete what is past its retention: prospect records, finished jobs, idle chat threads, old checkpoints."""
    from api.services.audit import cli_actor
    from api.services.retention import purge as run_purge

    settings = load_settings()
    report = in_tenant(
        tenant,
        lambda session, tenant_id: run_purge(session, settings, tenant_id=tenant_id, dry_run=dry_run, actor=cli_actor()),
        encrypted=True,
    )
    if report.skipped:
        fail("another purge is running (a worker's periodic purge); try again in a minute")
    counts = report.counts
    verb = "would delete" if dry_run else "deleted"
    typer.echo(
        f"{verb}: {counts.prospects} expired prospect record(s), {counts.jobs} job(s), "
        f"{counts.chat_threads} chat thread(s), {counts.checkpoints} checkpoint thread(s)"
    )
