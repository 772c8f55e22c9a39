"""`cmo sync` and `cmo destinations`: push a run's leads into a CRM, marketing or analytics tool.

`cmo sync DESTINATION RUN_DIR --config FILE` pushes the approved leads (every lead with a verdict
under `--all`) through the connector the config names (tools/destinations). Suppressed people are
never sent. Each record's outcome is appended to `RUN_DIR/syncs.jsonl` (ids and outcomes, no
personal data), and every delivery to `$CMO_HOME/destinations/deliveries.json`, so `cmo erase`
reaches the destination too. Exit codes: 0 done, 2 bad input or a refused connection, 3 partial
(some records failed; the rest went through), 1 internal error.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from cli.common import EXIT_BAD_INPUT, EXIT_OK, EXIT_PARTIAL, console, fail, load_settings

if TYPE_CHECKING:
    from tools.destinations.base import Destination
    from tools.destinations.config import DestinationConfig
    from tools.destinations.sync import SyncReport

SYNCS = "syncs.jsonl"
ConfigFile = Annotated[Path, typer.Option("--config", help="Destination config (YAML or JSON; `cmo schema destination`).")]
destinations_app = typer.Typer(help="Configured destinations (CRMs, marketing automation, analytics).", no_args_is_help=True)


def _configs(path: Path) -> dict[str, DestinationConfig]:
    from tools.destinations.config import DestinationConfigError, load_configs

    try:
        return load_configs(path)
    except DestinationConfigError as exc:
        fail(str(exc))


def _connect(config: DestinationConfig) -> Destination:
    from tools.destinations.config import DestinationConfigError
    from tools.destinations.registry import build

    try:
        return build(config)
    except DestinationConfigError as exc:
        fail(str(exc))


def _report(report: SyncReport, run_dir: Path) -> int:
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.counts.items())) or "nothing to sync"
    console.print(
        f"[bold]{report.destination}[/] ({report.platform}){' dry run' if report.dry_run else ''}: {counts}", highlight=False
    )
    if report.list_id:
        console.print(f"  list/segment: {report.list_id}", highlight=False)
    for result in report.results:
        if result.outcome == "failed":
            console.print(f"  [red]failed[/] {result.prospect_id}: {escape(result.detail)}", highlight=False)
        elif result.conflicts:
            fields = ", ".join(sorted(result.conflicts))
            console.print(f"  [yellow]conflict[/] {result.prospect_id}: kept theirs for {fields}", highlight=False)
        elif report.dry_run:
            console.print(f"  {result.prospect_id}: {escape(result.detail)}", highlight=False)
    if report.failed:
        console.print(
            f"[yellow]{len(report.failed)} record(s) failed[/]: run the same command again to retry them (nothing is duplicated)"
        )
        return EXIT_PARTIAL
    return EXIT_OK


def _record(
    report: SyncReport, config: DestinationConfig, config_path: Path, run_dir: Path, emails: dict[str, str | None]
) -> None:
    from tools.destinations.ledger import Delivery, Ledger, email_hash

    at = datetime.now(UTC).isoformat()
    with (run_dir / SYNCS).open("a", encoding="utf-8") as handle:
        for result in report.results:
            line = {"at": at, "destination": report.destination, "platform": report.platform} | result.model_dump(
                include={"prospect_id", "outcome", "remote_id"}
            )
            handle.write(json.dumps(line) + "\n")
    deliveries = [
        Delivery(
            destination=config.label,
            platform=config.platform,
            config_path=str(config_path.resolve()),
            prospect_id=r.prospect_id,
            remote_id=r.remote_id or "",
            email_sha256=email_hash(emails.get(r.prospect_id)),
        )
        for r in report.delivered
    ]
    if deliveries:
        Ledger(load_settings().home).record(deliveries)


def sync(
    destination: Annotated[str, typer.Argument(help="The destination's name in the config file (or its platform).")],
    run_dir: Annotated[Path, typer.Argument(help="A run's out directory (with leads_full.json).", file_okay=False)],
    config: ConfigFile,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be sent; contact no one.")] = False,
    include_all: Annotated[bool, typer.Option("--all", help="Every lead with a verdict, not only the approved ones.")] = False,
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Also honour this tenant's suppression list (service database).")
    ] = None,
) -> None:
    """Push RUN_DIR's approved leads (or --all) into DESTINATION."""
    from cli.send import _load_run, people_not_to_contact
    from tools.destinations.config import DestinationConfigError, load_config
    from tools.destinations.sync import eligible
    from tools.destinations.sync import sync as run_sync

    settings = load_settings()
    try:
        chosen = load_config(config, destination)
    except DestinationConfigError as exc:
        fail(str(exc))
    prospects, _ = _load_run(run_dir)
    suppression = people_not_to_contact(settings, tenant)
    leads = eligible(prospects, include_all=include_all)
    connector = _connect(chosen)
    if not dry_run:
        status = connector.test_connection()
        if not status.ok:
            fail(f"{chosen.label}: {status.detail}")
    console.print(f"syncing {len(leads)} of {len(prospects)} lead(s) into {chosen.label} ({chosen.platform})", highlight=False)

    def progress(done: int, total: int) -> None:
        console.print(f"  {done}/{total}", highlight=False)

    try:
        report = run_sync(connector, chosen, leads, suppression=suppression, dry_run=dry_run, progress=progress)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: run `cmo sync` again; records already pushed are found, not duplicated")
        raise typer.Exit(130) from None
    except Exception as exc:  # a vendor answer no connector expected, or a bug: one line
        if settings.cmo_debug:
            raise
        console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc)[:300])} (CMO_DEBUG=1 shows the traceback)"
        )
        raise typer.Exit(1) from None
    if not dry_run:
        _record(report, chosen, config, run_dir, {p.id: p.email for p in leads})
    raise typer.Exit(_report(report, run_dir))


@destinations_app.command("list")
def list_destinations(config: ConfigFile) -> None:
    """The destinations of a config file and the fields each one receives."""
    from tools.destinations.config import DestinationConfigError
    from tools.destinations.registry import FACTORIES, mapping_for

    for name, one in _configs(config).items():
        try:
            mapping = mapping_for(one)
        except DestinationConfigError as exc:
            fail(str(exc))
        sent = sorted({*mapping.fields.values(), *mapping.custom.values()})
        known = "" if one.platform in FACTORIES else " (unknown platform)"
        typer.echo(f"{name}\t{one.platform}{known}\t{one.base_url or 'vendor default'}\tsends: {', '.join(sent)}")


@destinations_app.command("test")
def test_destinations(config: ConfigFile) -> None:
    """Check that every destination of the config file accepts its credentials."""
    failed = 0
    for name, one in _configs(config).items():
        status = _connect(one).test_connection()
        failed += not status.ok
        typer.echo(f"{name}\t{'ok' if status.ok else 'FAILED'}\t{status.detail}")
    raise typer.Exit(EXIT_BAD_INPUT if failed else EXIT_OK)


def forget_everywhere(*, prospect_ids: set[str], email: str | None) -> list[str]:
    """Propagate an erasure to every destination `cmo sync` delivered the person to (the ledger);
    one line per destination, for `cmo erase` to print."""
    from tools.destinations.base import ForgetResult
    from tools.destinations.config import DestinationConfigError, load_config
    from tools.destinations.ledger import Ledger
    from tools.destinations.registry import build

    ledger = Ledger(load_settings().home)
    lines = []
    for delivery in ledger.recipients(prospect_ids=prospect_ids, email=email):
        login = delivery.prospect_id.removeprefix("gh_")
        try:
            connector = build(load_config(Path(delivery.config_path), delivery.destination))
            result = connector.forget(email=email, github_url=f"https://github.com/{login}", prospect_id=delivery.prospect_id)
        except (DestinationConfigError, OSError) as exc:
            result = ForgetResult(destination=delivery.destination, outcome="failed", detail=str(exc))
        ledger.settle(delivery, result)
        lines.append(
            f"{delivery.destination} ({delivery.platform}): {result.outcome} {len(result.remote_ids)} record(s) {result.detail}".rstrip()
        )
    return lines


def register_sync_commands(app: typer.Typer) -> None:
    app.command()(sync)
    app.add_typer(destinations_app, name="destinations")
