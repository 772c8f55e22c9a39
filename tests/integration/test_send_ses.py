"""`cmo send` through Amazon SES v2: the real boto3 `sesv2` client against a local stub of the
SendEmail API over real HTTP (`tests/support/ses_stub.py`); parallel senders against a real SMTP
server; the send window with a fixed clock.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from foundation.schemas import Prospect
from tests.support.outreach import POSTAL, SENDER_EMAIL, lead, sends, write_run
from tests.support.ses_stub import SesStub
from tests.support.smtp import Mailbox, free_port, smtp_server
from tools.mail.dispatch import SendPlan, send_campaign
from tools.mail.message import Sender
from tools.mail.outbox import Caps, Outbox
from tools.mail.sender import OutgoingMail, PermanentFailure, TransientFailure, UnknownOutcome
from tools.mail.ses import SesSender
from tools.mail.window import SendWindow
from tools.suppression import SuppressionList

ROOT = Path(__file__).resolve().parents[2]
cli = CliRunner()
NO_CAPS = {
    "CMO_SEND_DAILY_CAP": "0",
    "CMO_SEND_PER_HOUR": "0",
    "CMO_SEND_PER_DOMAIN_PER_HOUR": "0",
    "CMO_SEND_WARMUP_START": "0",
}


@pytest.fixture
def ses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SesStub]:
    """The SES stub, `cmo send` pointed at it, and dummy AWS credentials (no real account or config file)."""
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "CMO_SENDER_EMAIL": SENDER_EMAIL,
        "CMO_SENDER_NAME": "Ada Sender",
        "CMO_SENDER_POSTAL_ADDRESS": POSTAL,
        "CMO_MAIL_TRANSPORT": "ses",
        "CMO_SES_REGION": "eu-west-1",
        "CMO_SES_CONFIGURATION_SET": "cmo",
        **NO_CAPS,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "CMO_SMTP_URL"):
        monkeypatch.delenv(name, raising=False)
    with SesStub() as stub:
        monkeypatch.setenv("CMO_SES_ENDPOINT_URL", stub.url)
        yield stub


def send(run_dir: Path, *args: str) -> Any:
    return cli.invoke(app, ["send", str(run_dir), *args])


def test_ses_sends_our_raw_message_with_its_headers(ses: SesStub, tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", [lead("grace"), lead("linus")])
    result = send(run_dir)
    assert result.exit_code == 0, result.output
    assert "Amazon SES" in result.output and "eu-west-1" in result.output and "2 sent" in result.output
    assert sorted(r for sent in ses.sent for r in sent.recipients) == ["grace@example-devs.org", "linus@example-devs.org"]
    first = next(sent for sent in ses.sent if sent.recipients == ["grace@example-devs.org"])
    message = first.message
    assert first.sender == SENDER_EMAIL and first.configuration_set == "cmo"
    assert message["List-Unsubscribe"].startswith("<https://cmo.acme-devtools.io/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    records = {r["prospect_id"]: r for r in sends(run_dir)}
    assert records["gh_grace"]["message_id"] == message["Message-ID"], "our Message-ID, kept byte for byte"
    assert records["gh_grace"]["provider_id"] == first.message_id, "SES's id is the provider id"
    assert send(run_dir).exit_code == 0 and len(ses.sent) == 2, "a second run sends nothing"


def test_ses_throttling_is_retried_then_deferred(ses: SesStub, tmp_path: Path) -> None:
    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    waits: list[float] = []
    sender = SesSender(region="eu-west-1", endpoint_url=ses.url, max_attempts=3, backoff_seconds=0.5, sleep=no_wait)
    mail = OutgoingMail(SENDER_EMAIL, "grace@example-devs.org", "<m1@acme-devtools.io>", b"Subject: hi\r\n\r\nhi\r\n")

    ses.throttle(2)
    assert asyncio.run(sender.send(mail)).startswith("0100018c"), "throttled twice, sent on the third attempt"
    assert waits == [0.5, 1.0] and ses.requests == 3
    ses.throttle(3)
    with pytest.raises(TransientFailure) as caught:
        asyncio.run(sender.send(mail))
    assert caught.value.scope == "mailbox" and caught.value.reason == "ses_TooManyRequestsException"


def test_ses_failures_are_typed_by_what_they_mean(ses: SesStub) -> None:
    """A 5xx may hide an accepted message (in doubt); 503 and an unreachable endpoint delivered nothing."""
    mail = OutgoingMail(SENDER_EMAIL, "grace@example-devs.org", "<m2@acme-devtools.io>", b"Subject: hi\r\n\r\nhi\r\n")
    sender = SesSender(region="eu-west-1", endpoint_url=ses.url)
    ses.fail_next = (500, "InternalFailure")
    with pytest.raises(UnknownOutcome):
        asyncio.run(sender.send(mail))
    ses.fail_next = (503, "ServiceUnavailable")
    with pytest.raises(TransientFailure) as unavailable:
        asyncio.run(sender.send(mail))
    assert unavailable.value.scope == "mailbox"
    ses.fail_next = (400, "MailFromDomainNotVerifiedException")
    with pytest.raises(PermanentFailure) as refused:
        asyncio.run(sender.send(mail))
    assert refused.value.scope == "mailbox"
    unreachable = SesSender(region="eu-west-1", endpoint_url=f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(TransientFailure, match="cannot reach SES"):
        asyncio.run(unreachable.send(mail))
    assert ses.sent == []


def test_ses_throttled_run_defers_and_a_later_run_sends(ses: SesStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMO_SEND_CONNECTIONS", "1")
    run_dir = write_run(tmp_path / "run", [lead("grace")])
    monkeypatch.setenv("CMO_SES_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("CMO_SES_BACKOFF_SECONDS", "0")
    ses.throttle(100)
    first = send(run_dir)
    assert first.exit_code == 3 and "1 deferred" in first.output and "server_unavailable" in first.output, first.output
    ses.throttle(0)
    assert send(run_dir).exit_code == 0 and len(ses.sent) == 1
    statuses = [(r["status"], r.get("reason")) for r in sends(run_dir)]
    assert statuses == [("deferred", "ses_TooManyRequestsException"), ("sent", None)]


def test_ses_rejection_is_recorded_with_its_reason_and_not_retried(ses: SesStub, tmp_path: Path) -> None:
    ses.reject("grace@example-devs.org")
    run_dir = write_run(tmp_path / "run", [lead("grace"), lead("linus")])
    result = send(run_dir)
    assert result.exit_code == 0 and "1 sent" in result.output and "1 rejected" in result.output, result.output
    rejected = next(r for r in sends(run_dir) if r["status"] == "rejected")
    assert rejected["reason"] == "ses_MessageRejected" and "not verified" in rejected["detail"]
    requests = ses.requests
    assert send(run_dir).exit_code == 0 and ses.requests == requests, "a rejected message is never tried again"


def test_ses_paused_account_stops_the_run(ses: SesStub, tmp_path: Path) -> None:
    ses.paused = True
    run_dir = write_run(tmp_path / "run", [lead("grace"), lead("linus")])
    result = send(run_dir)
    assert result.exit_code == 2 and "mailbox_refused" in result.output and "SendingPausedException" in result.output
    assert not ses.sent


def test_ses_needs_a_region(ses: SesStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CMO_SES_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    result = send(write_run(tmp_path / "run", [lead("grace")]))
    assert result.exit_code == 2 and "CMO_SES_REGION" in result.output


# --- parallel connections ------------------------------------------------------------------------


def test_parallel_connections_send_everyone_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"CMO_SENDER_EMAIL": SENDER_EMAIL, "CMO_SENDER_POSTAL_ADDRESS": POSTAL, **NO_CAPS}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CMO_SEND_CONNECTIONS", "4")
    leads = [lead(f"p{n}", email=f"p{n}@example-devs.org") for n in range(40)]
    run_dir = write_run(tmp_path / "run", leads)
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        monkeypatch.setenv("CMO_SMTP_URL", f"smtp://127.0.0.1:{port}?starttls=false")
        result = send(run_dir)
        assert result.exit_code == 0 and "40 sent" in result.output, result.output
        assert send(run_dir).exit_code == 0
    counts = {f"p{n}@example-devs.org": len(mailbox.to(f"p{n}@example-devs.org")) for n in range(40)}
    assert counts == dict.fromkeys(counts, 1)
    assert len(sends(run_dir)) == 40


def test_parallel_sender_killed_mid_send_sends_nobody_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    leads = [lead(f"k{n}", email=f"k{n}@example-devs.org") for n in range(12)]
    run_dir = write_run(tmp_path / "run", leads)
    mailbox = Mailbox(hang_on=5)
    environ = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CMO_HOME": str(tmp_path / "home"),
        "CMO_SENDER_EMAIL": SENDER_EMAIL,
        "CMO_SENDER_POSTAL_ADDRESS": POSTAL,
        "CMO_SEND_CONNECTIONS": "4",
        **NO_CAPS,
    }
    with smtp_server(mailbox) as port:
        environ["CMO_SMTP_URL"] = f"smtp://127.0.0.1:{port}?starttls=false"
        process = subprocess.Popen([sys.executable, "-m", "cli", "send", str(run_dir)], env=environ, cwd=tmp_path)
        assert mailbox.hanging.wait(60), "the fifth message reached the server"
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        mailbox.hang_on = None
        rerun = subprocess.run(
            [sys.executable, "-m", "cli", "send", str(run_dir)], env=environ, capture_output=True, text=True, timeout=120
        )
    assert rerun.returncode == 3 and "in doubt" in rerun.stderr, rerun.stderr
    per_recipient = {f"k{n}": len(mailbox.to(f"k{n}@example-devs.org")) for n in range(12)}
    assert max(per_recipient.values()) == 1, f"nobody twice: {per_recipient}"
    in_doubt = {r["prospect_id"].removeprefix("gh_") for r in sends(run_dir) if r["status"] == "in_doubt"}
    assert 1 <= len(in_doubt) <= 4, "at most one message in flight per connection when the process died"
    assert {login for login, n in per_recipient.items() if n == 0} <= in_doubt, "only an in-doubt message may be missing"
    assert {login for login, n in per_recipient.items() if n == 1} | in_doubt == set(per_recipient)


# --- the send window -----------------------------------------------------------------------------


def _plan(window: SendWindow | None) -> SendPlan:
    return SendPlan("win", Sender("Ada", SENDER_EMAIL, POSTAL), SuppressionList.empty(), window=window)


def _located(login: str, location: str | None) -> Prospect:
    return lead(login).model_copy(update={"location": location})


async def test_send_window_defers_outside_the_recipients_hours(tmp_path: Path) -> None:
    berlin, tokyo, nowhere = _located("berlin", "Berlin, Germany"), _located("tokyo", "Tokyo, Japan"), _located("anon", None)
    monday_noon_utc = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # 13:00 in Berlin, 21:00 in Tokyo
    outbox = Outbox(tmp_path / "outbox.sqlite", Caps(0, 0, 0, 0))
    mailbox = Mailbox()
    from tools.mail.smtp import SmtpConfig, SmtpSender

    with smtp_server(mailbox) as port:
        transport = SmtpSender(SmtpConfig.from_url(f"smtp://127.0.0.1:{port}?starttls=false"))
        plan = _plan(SendWindow.parse("09:00-17:00"))
        try:
            first = await send_campaign([berlin, tokyo, nowhere], plan, outbox, transport, now=lambda: monday_noon_utc)
            statuses = {r.prospect_id: (r.status, r.reason) for r in first.records}
            assert statuses == {
                "gh_berlin": ("sent", None),
                "gh_tokyo": ("skipped", "outside_send_window"),
                "gh_anon": ("sent", None),  # unknown time zone: no window
            }
            tokyo_record = next(r for r in first.records if r.prospect_id == "gh_tokyo")
            assert tokyo_record.detail is not None and "2026-12-08T00:00Z" in tokyo_record.detail, "09:00 Tuesday in Tokyo"
            tuesday_morning_tokyo = datetime(2026, 12, 8, 0, 30, tzinfo=UTC)
            second = await send_campaign([berlin, tokyo, nowhere], plan, outbox, transport, now=lambda: tuesday_morning_tokyo)
            assert [(r.prospect_id, r.status) for r in second.records] == [("gh_tokyo", "sent")], "deferred, not lost"
        finally:
            await transport.aclose()
            outbox.close()
    assert len(mailbox.received) == 3


def test_send_window_weekends_and_parsing() -> None:
    import zoneinfo

    window = SendWindow.parse("09:00-17:00")
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    saturday = datetime(2026, 12, 12, 11, 0, tzinfo=UTC)
    assert not window.is_open(saturday, paris)
    assert window.next_open(saturday, paris) == datetime(2026, 12, 14, 9, 0, tzinfo=paris)
    with pytest.raises(ValueError, match="after the start"):
        SendWindow.parse("17:00-09:00")
