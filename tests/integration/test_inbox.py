"""`cmo inbox import` after a real `cmo send` (aiosmtpd): a DSN hard bounce, a complaint feedback
report and a reply are matched to the sent messages by Message-ID, from an mbox file and from a
Maildir; delayed notices, automatic replies and unrelated mail change nothing; the kill switch
pauses the campaign; the bounced and complaining addresses are never mailed again; importing the
same mail twice changes nothing.
"""

from __future__ import annotations

import mailbox
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from foundation.settings import Settings
from tests.integration.test_send import env, send, use_smtp  # noqa: F401 - the env fixture
from tests.support.outreach import SENDER_EMAIL, lead, sends, write_run
from tests.support.smtp import Mailbox, Received, smtp_server
from tools.mail.outbox import OUTBOX_FILE, Caps, Outbox

cli = CliRunner()


def headers_of(received: Received) -> str:
    return received.data.decode().split("\r\n\r\n", 1)[0].replace("\r\n", "\n")


def dsn(received: Received, status: str, action: str) -> str:
    recipient = received.recipients[0]
    return f"""From: MAILER-DAEMON@relay.acme-devtools.io
To: {SENDER_EMAIL}
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-{status}@relay.acme-devtools.io>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain

The mail system could not deliver your message.

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.acme-devtools.io

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: user unknown

--BOUNDARY
Content-Type: text/rfc822-headers

{headers_of(received)}

--BOUNDARY--
"""


def complaint(received: Received) -> str:
    original = received.data.decode().replace("\r\n", "\n")
    return f"""From: feedback-loop@mailbox-provider.example.net
To: {SENDER_EMAIL}
Subject: Abuse report
Message-ID: <arf-1@mailbox-provider.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="ARF"

--ARF
Content-Type: text/plain

This is an email abuse report for an email message received from you.

--ARF
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: FeedbackLoop/1.0
Version: 1
Original-Rcpt-To: {received.recipients[0]}

--ARF
Content-Type: message/rfc822

{original}
--ARF--
"""


def reply(received: Received, *, auto: bool = False, to_id: str | None = None) -> str:
    message_id = to_id or received.message["Message-ID"]
    automatic = "Auto-Submitted: auto-replied\n" if auto else ""
    return f"""From: Someone <{received.recipients[0]}>
To: {SENDER_EMAIL}
Subject: Re: Your work on fastgrad
Message-ID: <reply-{received.recipients[0]}{auto}@example-devs.org>
In-Reply-To: {message_id}
References: {message_id}
{automatic}
Thanks, tell me more.
"""


@pytest.mark.usefixtures("env")
def test_bounces_complaints_and_replies_come_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMO_SEND_RATE_MIN_SENDS", "4")
    run_dir = write_run(tmp_path / "run", [lead(f"k{n}", email=f"k{n}@example-devs.org") for n in range(4)])
    mailbox_ = Mailbox()
    with smtp_server(mailbox_) as port:
        use_smtp(monkeypatch, port)
        assert send(run_dir).exit_code == 0
        k0, k1, k2, k3 = mailbox_.received
        unrelated = "From: news@example.org\nTo: ada@acme-devtools.io\nSubject: Weekly digest\n\nHello.\n"
        incoming = [
            dsn(k0, "5.1.1", "failed"),
            dsn(k1, "4.4.1", "delayed"),
            complaint(k2),
            reply(k3),
            reply(k1, auto=True),
            reply(k1, to_id="<somebody-else@example.org>"),
            unrelated,
        ]
        box = mailbox.mbox(tmp_path / "returns.mbox")
        for text in incoming:
            box.add(text)
        box.close()

        imported = cli.invoke(app, ["inbox", "import", str(tmp_path / "returns.mbox")])
        assert imported.exit_code == 0, imported.output
        out = " ".join(imported.output.split())
        assert (
            "7 message(s): 1 hard bounce(s) (1 new for our messages), 1 complaint(s) (1 new), 1 repl(ies) (1 new), 4 other" in out
        )
        assert (
            "paused campaign cmo_test_run: bounce rate 1/4 = 25.0% is above 3.0%; complaint rate 1/4 = 25.0% is above 0.1%" in out
        )

        maildir = mailbox.Maildir(tmp_path / "returns-maildir")
        for text in incoming:
            maildir.add(text)
        again = cli.invoke(app, ["inbox", "import", str(tmp_path / "returns-maildir")])
        assert again.exit_code == 0 and "(0 new for our messages), 1 complaint(s) (0 new), 1 repl(ies) (0 new)" in " ".join(
            again.output.split()
        )

        outbox = Outbox(Settings().home / OUTBOX_FILE, Caps())
        found = {n: outbox.find(m.message["Message-ID"]) for n, m in enumerate(mailbox_.received)}
        assert [status for _, status in found.values()] == ["bounced", "sent", "sent", "sent"]
        outbox.close()
        with sqlite3.connect(Settings().home / OUTBOX_FILE) as db:
            flags = db.execute(
                "SELECT prospect_id, complained_at IS NOT NULL, replied_at IS NOT NULL FROM sends ORDER BY prospect_id"
            )
            assert flags.fetchall() == [("gh_k0", 0, 0), ("gh_k1", 0, 0), ("gh_k2", 1, 0), ("gh_k3", 0, 1)]

        paused = send(write_run(run_dir, [*[lead(f"k{n}", email=f"k{n}@example-devs.org") for n in range(4)], lead("new")]))
        assert paused.exit_code == 3 and "campaign_paused" in paused.output, "the kill switch holds the campaign"
        later = write_run(
            tmp_path / "later",
            [
                lead("k0", email="k0@example-devs.org"),
                lead("k2", email="k2@example-devs.org"),
                lead("k3", email="k3@example-devs.org"),
            ],
            run_id="cmo_later",
        )
        assert send(later).exit_code == 0
    assert [(r["prospect_id"], r["status"], r.get("reason")) for r in sends(later)] == [
        ("gh_k0", "skipped", "bounced_before"),
        ("gh_k2", "skipped", "complained_before"),
        ("gh_k3", "sent", None),
    ]
    assert len(mailbox_.received) == 5


def test_an_unreadable_path_is_one_line(tmp_path: Path) -> None:
    missing = cli.invoke(app, ["inbox", "import", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
