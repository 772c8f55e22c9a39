"""Sequences as `cmo send` sends them, against a real SMTP server (aiosmtpd) and a fixed clock: step N
only once step N-1 was sent its delay earlier, threaded to the first message; nothing more after a
reply, a bounce (at send time or by a later DSN), a complaint, an unsubscribe or an erasure (the
suppression list), or a follow-up nobody approved; never one step twice, however often it runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_string
from pathlib import Path

import pytest

from foundation.schemas import Prospect
from tests.integration.test_send import env, send, use_smtp  # noqa: F401 - the env fixture
from tests.support.outreach import POSTAL, SENDER_EMAIL, lead, sends, with_follow_ups, write_run
from tests.support.smtp import Mailbox, smtp_server
from tools.mail.dispatch import SendPlan, SendReport, send_campaign
from tools.mail.inbox import import_returns
from tools.mail.message import Sender
from tools.mail.outbox import DAY, Caps, Outbox, SendKey
from tools.mail.smtp import SmtpConfig, SmtpSender
from tools.suppression import SuppressionList

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC).timestamp()
SENDER = Sender("Ada Sender", SENDER_EMAIL, POSTAL, one_click_declared=True)


class Clock:
    """The sender's and the outbox's clock, moved by the test."""

    def __init__(self) -> None:
        self.t = START

    def __call__(self) -> float:
        return self.t

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)

    def day(self, days: float) -> None:
        self.t = START + days * DAY


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Mailbox, Outbox, Clock, int]]:
    clock = Clock()
    outbox = Outbox(tmp_path / "outbox.sqlite", Caps(daily=0, per_hour=0, per_domain_per_hour=0, warmup_start=0), clock=clock)
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        yield mailbox, outbox, clock, port
    outbox.close()


async def run(
    prospects: list[Prospect], world: tuple[Mailbox, Outbox, Clock, int], suppression: SuppressionList | None = None
) -> SendReport:
    _, outbox, clock, port = world
    transport = SmtpSender(SmtpConfig.from_url(f"smtp://127.0.0.1:{port}"))
    plan = SendPlan("cmo_seq", SENDER, suppression or SuppressionList.empty())
    try:
        return await send_campaign(prospects, plan, outbox, transport, now=clock.now)
    finally:
        await transport.aclose()


def sent(report: SendReport) -> list[tuple[str, int]]:
    return [(r.prospect_id, r.step) for r in report.records if r.status == "sent"]


async def test_each_step_waits_for_its_delay_after_the_step_before(world: tuple[Mailbox, Outbox, Clock, int]) -> None:
    mailbox, outbox, clock, _ = world
    grace = with_follow_ups(lead("grace"))
    assert [(fu.step, fu.day, fu.delay_days) for fu in grace.follow_ups] == [(2, 3, 3), (3, 7, 4)]

    first = await run([grace], world)
    assert sent(first) == [("gh_grace", 1)]
    assert first.waiting == [(2, datetime.fromtimestamp(START + 3 * DAY, UTC))]
    for day in (0, 2.99):
        clock.day(day)
        assert sent(await run([grace], world)) == []
    clock.day(3)
    assert sent(await run([grace], world)) == [("gh_grace", 2)]
    assert sent(await run([grace], world)) == [], "a rerun at the same moment sends nothing twice"
    clock.day(6.5)  # day 7 of the campaign is 4 days after step 2, which went out on day 3
    waiting = await run([grace], world)
    assert sent(waiting) == [] and waiting.waiting == [(3, datetime.fromtimestamp(START + 7 * DAY, UTC))]
    clock.day(7)
    assert sent(await run([grace], world)) == [("gh_grace", 3)]
    clock.day(30)
    done = await run([grace], world)
    assert sent(done) == [] and done.ended == {"finished": 1} and done.already_sent == 1

    first_mail, follow_up, last = (item.message for item in mailbox.received)
    assert len(mailbox.received) == 3
    assert follow_up["Subject"] == first_mail["Subject"] == grace.message.subject  # type: ignore[union-attr]
    assert follow_up["In-Reply-To"] == follow_up["References"] == first_mail["Message-ID"] == last["In-Reply-To"]
    assert len({first_mail["Message-ID"], follow_up["Message-ID"], last["Message-ID"]}) == 3
    assert "In-Reply-To" not in first_mail
    for message in (follow_up, last):
        body = message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert POSTAL in text and "To opt out of all further messages" in text
        assert (
            "my earlier note about your open-source work" in text or "One last note from me about your open-source work" in text
        )
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert outbox.status(SendKey("cmo_seq", "gh_grace", 3)) == "sent"


async def test_a_reply_bounce_complaint_or_opt_out_stops_the_sequence(world: tuple[Mailbox, Outbox, Clock, int]) -> None:
    mailbox, outbox, clock, _ = world
    mailbox.refuse["bounced-now@example-devs.org"] = "550 5.1.1 no such user"
    names = ["replied", "bounced-later", "complained", "unsubscribed", "erased", "objected", "bounced-now", "quiet"]
    people = [with_follow_ups(lead(name)) for name in names]
    first = await run(people, world)
    assert len(sent(first)) == 7 and {r.status for r in first.records} == {"sent", "bounced"}

    def mail_to(name: str) -> str:
        (item,) = mailbox.to(f"{name}@example-devs.org")
        return item.message["Message-ID"]

    returned = [
        f"From: <replied@example-devs.org>\nTo: {SENDER_EMAIL}\nSubject: Re: hi\nIn-Reply-To: {mail_to('replied')}\n\nTell me more.\n",
        "From: MAILER-DAEMON@relay.example\nTo: ada@acme-devtools.io\nSubject: Undelivered\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n--B\nContent-Type: text/plain\n\nfailed\n'
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; relay.example\n\n"
        "Final-Recipient: rfc822; bounced-later@example-devs.org\nAction: failed\nStatus: 5.1.1\n\n"
        f"--B\nContent-Type: text/rfc822-headers\n\nMessage-ID: {mail_to('bounced-later')}\n\n--B--\n",
        "From: fbl@provider.example\nTo: ada@acme-devtools.io\nSubject: complaint\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="F"\n\n--F\nContent-Type: text/plain\n\nspam\n'
        "--F\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nOriginal-Rcpt-To: complained@example-devs.org\n\n"
        f"--F\nContent-Type: text/rfc822-headers\n\nMessage-ID: {mail_to('complained')}\n\n--F--\n",
    ]
    report = import_returns(iter(message_from_string(text) for text in returned), outbox)
    assert (report.counts["reply_new"], report.counts["bounce_new"], report.counts["complaint_new"]) == (1, 1, 1)

    people[names.index("objected")] = people[names.index("objected")].model_copy(
        update={"privacy_settings": people[0].privacy_settings.model_copy(update={"contact_allowed": False})}
    )
    suppression = SuppressionList.from_entries([("login", "unsubscribed"), ("email", "erased@example-devs.org")])
    clock.day(3)
    later = await run(people, world, suppression)
    assert sent(later) == [("gh_quiet", 2)]
    assert later.ended == {"replied": 1, "bounced": 2, "complained": 1}
    skipped = {r.prospect_id: (r.step, r.reason) for r in later.records if r.status == "skipped"}
    assert skipped == {
        "gh_unsubscribed": (2, "suppressed"),
        "gh_erased": (2, "suppressed"),
        "gh_objected": (2, "contact_not_allowed"),
    }
    clock.day(7)
    assert sent(await run(people, world, suppression)) == [("gh_quiet", 3)]
    assert len(mailbox.received) == 9  # 7 first messages (one refused), 2 follow-ups of "quiet"


async def test_a_follow_up_nobody_approved_is_held(world: tuple[Mailbox, Outbox, Clock, int]) -> None:
    _, _, clock, _ = world
    flagged = with_follow_ups(lead("flagged"), verdict="needs_review")
    assert sent(await run([flagged], world)) == [("gh_flagged", 1)]
    clock.day(10)
    held = await run([flagged], world)
    assert sent(held) == [] and held.held == {2: 1}


@pytest.mark.usefixtures("env")
def test_cmo_send_prints_steps_and_what_is_due_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMO_UNSUBSCRIBE_ONE_CLICK", "true")
    run_dir = write_run(tmp_path / "run", [with_follow_ups(lead("grace")), with_follow_ups(lead("linus")), lead("solo")])
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        use_smtp(monkeypatch, port)
        first = send(run_dir)
        assert first.exit_code == 0, first.output
        out = " ".join(first.output.split())
        assert "3 sent" in out and "step 1: 3 sent" in out
        assert "next: step 2 for 2 people, due from" in out and "sequences ended" not in out
        again = " ".join(send(run_dir).output.split())
        assert "0 sent" in again and "3 already sent before" in again and "sequences ended: 1 finished" in again
        assert "next: step 2 for 2 people" in again
        quiet = " ".join(send(run_dir, "--no-follow-ups").output.split())
        assert "sequences ended: 3 finished" in quiet and "next:" not in quiet
    assert len(mailbox.received) == 3
    assert [(r["prospect_id"], r["step"]) for r in sends(run_dir)] == [("gh_grace", 1), ("gh_linus", 1), ("gh_solo", 1)]
