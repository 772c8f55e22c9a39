"""`cmo inbox import PATH`: read back what the sent mail brought: bounces, complaints, replies.

PATH is the sending address's bounce and reply mail as an mbox file or a Maildir directory (an
export, or a folder a mail client syncs). Everything is applied to the outbox in `$CMO_HOME` that
`cmo send` uses (see tools/mail/inbox.py); a second import of the same mail changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import console, fail, load_settings

inbox_app = typer.Typer(
    help="Mail that came back: bounces, complaints and replies to what `cmo send` sent.", no_args_is_help=True
)


@inbox_app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="An mbox file or a Maildir directory.")],
) -> None:
    """Apply PATH's delivery status notifications, complaint reports and replies to the outbox."""
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
    if c["reply_new"]:
        console.print("replies are for a person to read: record an objection with `cmo suppress add ... --reason objection`")
    for campaign, why in report.paused.items():
        console.print(f"[yellow]paused[/] campaign {campaign}: {why}", highlight=False)
