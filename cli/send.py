"""`cmo send RUN_DIR`: send a run's approved drafts through `CMO_SMTP_URL` or Amazon SES (see tools/mail).

Every attempt is appended to `RUN_DIR/sends.jsonl` (ids, statuses and reasons; never a body or an
address), and the outbox in `$CMO_HOME` makes a second run send nothing that was sent, bounced or is
in doubt. Exit codes as everywhere: 0 done, 2 bad input or configuration (one red line), 3 partial
(a cap, the kill switch, an unreachable server, the send window or a message in doubt held something back:
run it again later), 130 interrupted.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.markup import escape

from cli.common import EXIT_BAD_INPUT, EXIT_OK, EXIT_PARTIAL, console, fail, in_tenant, load_campaign, load_settings

if TYPE_CHECKING:
    from foundation.schemas import Prospect
    from foundation.settings import Settings
    from tools.mail.dispatch import SendPlan, SendReport
    from tools.mail.outbox import Outbox
    from tools.suppression import SuppressionList

SENDS = "sends.jsonl"


def _load_run(run_dir: Path) -> tuple[list[Prospect], str]:
    """The run's leads (ranked, as written) and its campaign key: summary.json's run id, else the
    directory's name (a run directory copied elsewhere keeps its run id)."""
    from pydantic import TypeAdapter, ValidationError

    from foundation.artifacts import LEADS_FULL, SUMMARY
    from foundation.schemas import Prospect

    try:
        prospects = TypeAdapter(list[Prospect]).validate_json((run_dir / LEADS_FULL).read_bytes())
    except OSError as exc:
        fail(f"cannot read {run_dir / LEADS_FULL}: {exc.strerror} (is {run_dir} a run directory?)")
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"invalid {run_dir / LEADS_FULL}: {'.'.join(str(x) for x in first['loc'])}: {first['msg']}")
    try:
        run_id = json.loads((run_dir / SUMMARY).read_text(encoding="utf-8")).get("run_id")
    except (OSError, ValueError, AttributeError):
        run_id = None
    return prospects, str(run_id or run_dir.resolve().name)


def people_not_to_contact(settings: Settings, tenant: str | None) -> SuppressionList:
    """`CMO_SUPPRESSION_FILE`, merged with the tenant's suppression list (objections, unsubscribes,
    bounces, erasure tombstones, as blind indexes) when a tenant is named; a bad file is one clean error.
    What `cmo send`, `cmo review` and `cmo sync` all check against."""
    from api.services.suppressions import load_suppression_list
    from tools.suppression import SuppressionFileError, SuppressionList

    try:
        suppression = SuppressionList.load(settings.cmo_suppression_file)
    except SuppressionFileError as exc:
        fail(str(exc))
    if tenant is None:
        return suppression
    return suppression.merged(
        in_tenant(tenant, lambda session, tenant_id: load_suppression_list(session, tenant_id or ""), encrypted=True)
    )


def _plan(settings: Settings, campaign_key: str, campaign: Path | None, tenant: str | None, follow_ups: bool) -> SendPlan:
    import dns.asyncresolver

    from tools.mail.dispatch import SendConfigError, SendPlan, sender_for
    from tools.mail.signing import DkimConfigError, DkimSigner
    from tools.mail.window import SendWindow

    try:
        sender = sender_for(settings, load_campaign(campaign) if campaign else None)
        signer = DkimSigner.from_settings(settings)
    except (SendConfigError, DkimConfigError) as exc:
        fail(str(exc))
    suppression = people_not_to_contact(settings, tenant)
    resolver = dns.asyncresolver.Resolver() if settings.cmo_send_check_mx else None
    try:
        window = SendWindow.parse(settings.cmo_send_window) if settings.cmo_send_window else None
    except ValueError as exc:
        fail(str(exc))
    return SendPlan(campaign_key, sender, suppression, signer, resolver, follow_ups=follow_ups, window=window)


def _resolve(outbox: Outbox, campaign_key: str, delivered: list[str], not_delivered: list[str]) -> None:
    """Settle in-doubt messages as the operator found them in the relay's log, before sending."""
    resolutions: list[tuple[Literal["sent", "deferred"], list[str]]] = [("sent", delivered), ("deferred", not_delivered)]
    for outcome, message_ids in resolutions:
        for message_id in message_ids:
            if not outbox.resolve(campaign_key, message_id, outcome):
                outbox.close()
                fail(f"campaign {campaign_key} has no message in doubt with the Message-ID {message_id}")
            console.print(
                f"{escape(message_id)}: recorded as {'delivered' if outcome == 'sent' else 'not delivered (sent again)'}"
            )


def _print_sequences(report: SendReport) -> None:
    """Per step: this run's counts; then the sequences that ended, the steps held back and what is due next."""
    steps = report.by_step()
    if len(steps) > 1 or any(step > 1 for step in steps) or report.waiting:
        for step, counts in steps.items():
            shown = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(counts.items()))
            console.print(f"  step {step}: {shown}", highlight=False)
    if report.ended:
        ended = ", ".join(f"{n} {reason}" for reason, n in sorted(report.ended.items()))
        console.print(f"sequences ended: {ended}", highlight=False)
    for step, n in sorted(report.held.items()):
        console.print(f"  step {step} held for {n}: the follow-up is not approved", highlight=False)
    due: dict[int, list[datetime]] = {}
    for step, at in report.waiting:
        due.setdefault(step, []).append(at)
    for step, times in sorted(due.items()):
        console.print(
            f"next: step {step} for {len(times)} people, due from {min(times):%Y-%m-%d %H:%M} UTC "
            f"(last {max(times):%Y-%m-%d %H:%M} UTC); run `cmo send` again then",
            highlight=False,
        )


def _print(report: SendReport, run_dir: Path, dry_run: bool) -> int:
    """The counts, the reasons, why it stopped; the exit code."""
    from tools.mail.dispatch import CONFIG_STOPS

    counts = report.counts()
    if dry_run:
        line = f"dry run: [bold]{counts['would_send']} would be sent[/]"
    else:
        line = f"[bold]{counts['sent']} sent[/], {counts['bounced']} bounced, {counts['rejected']} rejected"
        line += f", {counts['deferred']} deferred, {counts['in_doubt']} in doubt"
    line += f", {counts['skipped']} skipped; {report.already_sent} already sent before, {report.not_approved} not approved"
    console.print(line, highlight=False)
    for reason, n in sorted(report.skipped().items()):
        console.print(f"  skipped {n}: {reason}", highlight=False)
    _print_sequences(report)
    if counts["in_doubt"]:
        console.print(
            "[yellow]in doubt:[/] a send was interrupted after its claim: it is not sent again; look its message_id "
            f"({run_dir / SENDS}) up in the relay's log, then run again with --delivered or --not-delivered MESSAGE_ID",
            highlight=False,
        )
    if report.stopped is not None:
        code, why = report.stopped
        console.print(f"[yellow]stopped ({code}):[/] {escape(why)}", highlight=False)  # the mail server's words
        return EXIT_BAD_INPUT if code in CONFIG_STOPS else EXIT_PARTIAL
    retry_later = sum(report.skipped()[reason] for reason in ("check_unavailable", "domain_throttled", "outside_send_window"))
    held_back = counts["deferred"] + counts["in_doubt"] + retry_later
    return EXIT_PARTIAL if held_back else EXIT_OK


def send(
    run_dir: Annotated[Path, typer.Argument(help="A run's out directory (with leads_full.json).", file_okay=False)],
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Send at most N messages.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and build every message; send nothing.")] = False,
    campaign: Annotated[Path | None, typer.Option("--campaign", help="Campaign JSON whose sender profile sends.")] = None,
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Also honour this tenant's suppression list (service database).")
    ] = None,
    delivered: Annotated[
        list[str] | None, typer.Option("--delivered", help="An in-doubt MESSAGE_ID the relay's log shows delivered.")
    ] = None,
    not_delivered: Annotated[
        list[str] | None, typer.Option("--not-delivered", help="An in-doubt MESSAGE_ID the relay never took: send it again.")
    ] = None,
    no_follow_ups: Annotated[
        bool, typer.Option("--no-follow-ups", help="Send first messages only; no follow-up step of a sequence.")
    ] = False,
) -> None:
    """Send RUN_DIR's approved drafts through CMO_SMTP_URL or Amazon SES (once each, within the caps)."""
    from tools.mail.dispatch import send_campaign
    from tools.mail.outbox import OUTBOX_FILE, Caps, Outbox
    from tools.mail.transports import TransportConfigError, describe_transport, open_transports

    settings = load_settings()
    prospects, campaign_key = _load_run(run_dir)
    via = None
    if not dry_run:
        try:
            via = describe_transport(settings)
        except TransportConfigError as exc:
            fail(str(exc))
    plan = _plan(settings, campaign_key, campaign, tenant, follow_ups=not no_follow_ups)
    outbox = Outbox(settings.home / OUTBOX_FILE, Caps.from_settings(settings))
    _resolve(outbox, campaign_key, delivered or [], not_delivered or [])
    console.print(f"sending campaign {campaign_key} from {plan.sender.email}" + (f" via {via}" if via else " (dry run)"))

    async def go(log) -> SendReport:
        transports = open_transports(settings) if via else None
        try:
            senders = transports.senders if transports else None
            return await send_campaign(prospects, plan, outbox, senders, limit=limit, on_record=log)
        finally:
            if transports is not None:
                await transports.aclose()

    try:
        if dry_run:
            report = asyncio.run(go(lambda record: None))
        else:
            with (run_dir / SENDS).open("a", encoding="utf-8") as handle:

                def log(record) -> None:
                    handle.write(record.model_dump_json(exclude_none=True) + "\n")
                    handle.flush()

                report = asyncio.run(go(log))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: run `cmo send` again; a message in flight is reported as in doubt")
        raise typer.Exit(130) from None
    finally:
        outbox.close()
    raise typer.Exit(_print(report, run_dir, dry_run))


def register_send_command(app: typer.Typer) -> None:
    """`cmo send` and `cmo inbox`."""
    from cli.inbox import inbox_app

    app.command()(send)
    app.add_typer(inbox_app, name="inbox")
