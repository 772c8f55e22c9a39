"""`cmo inbox import PATH`: read back what the sent mail brought: bounces, complaints, replies.

PATH is the sending address's bounce and reply mail as an mbox file or a Maildir directory (an
export, or a folder a mail client syncs). Everything is applied to the outbox in `$CMO_HOME` that
`cmo send` uses (see tools/mail/inbox.py); with `--tenant NAME` also to that tenant's suppression
list and engagement events (api/services/mail_feedback.py), which `cmo send --tenant` and the
service's jobs honour. A second import of the same mail changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import console, fail, in_tenant, load_settings

if TYPE_CHECKING:
    from collections import Counter

    from tools.mail.inbox import Feedback

inbox_app = typer.Typer(
    help="Mail that came back: bounces, complaints and replies to what `cmo send` sent.", no_args_is_help=True
)


@inbox_app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="An mbox file or a Maildir directory.")],
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Also apply it to this tenant's suppression list and engagement events.")
    ] = None,
) -> None:
    """Apply PATH's delivery status notifications, complaint reports, replies and objections to the outbox."""
    import mailbox

    from tools.mail.inbox import import_returns, read_mailbox
    from tools.mail.outbox import OUTBOX_FILE, Caps, Outbox

    settings = load_settings()
    if not path.exists():
        fail(f"{path} does not exist (give an mbox file or a Maildir directory)")
    outbox = Outbox(settings.home / OUTBOX_FILE, Caps.from_settings(settings))
    try:
        report = import_returns(read_mailbox(path), outbox)
    except (OSError, mailbox.Error) as exc:
        fail(f"cannot read {path} as an mbox file or a Maildir: {exc}")
    finally:
        outbox.close()
    c = report.counts
    console.print(
        f"{report.read} message(s): {c['bounce']} hard bounce(s) ({c['bounce_new']} new for our messages), "
        f"{c['complaint']} complaint(s) ({c['complaint_new']} new), {c['reply']} repl(ies) ({c['reply_new']} new), "
        f"{c['ignored']} other",
        highlight=False,
    )
    if c["objection"] or c["unsubscribe"]:
        console.print(
            f"{c['objection']} repl(ies) objecting and {c['unsubscribe']} mailto: unsubscribe(s): never mailed again (GDPR Art. 21)",
            highlight=False,
        )
    if c["reply_new"]:
        console.print("replies are for a person to read; sequences stop for everyone who replied")
    for campaign, why in report.paused.items():
        console.print(f"[yellow]paused[/] campaign {campaign}: {why}", highlight=False)
    if tenant is not None:
        done = _apply_to_tenant(tenant, report.feedback)
        console.print(
            f"tenant {tenant}: {done['bounce']} bounce(s), {done['complaint']} complaint(s), {done['objection']} objection(s) and "
            f"{done['unsubscribe']} unsubscribe(s) suppressed; {done['replied']} replied event(s)"
            + (
                f" ({done['reply_not_of_a_job']} repl(ies) to messages of no job of the tenant)"
                if done["reply_not_of_a_job"]
                else ""
            ),
            highlight=False,
        )


def _apply_to_tenant(tenant: str, feedback: list[Feedback]) -> Counter[str]:
    from api.services.audit import cli_actor
    from api.services.mail_feedback import apply_inbox_feedback

    async def work(session, tenant_id: str | None) -> Counter[str]:
        assert tenant_id is not None, "in_tenant passes None only when no tenant is named"
        return await apply_inbox_feedback(session, tenant_id, feedback, actor=cli_actor())

    return in_tenant(tenant, work, encrypted=True)
