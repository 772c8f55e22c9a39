"""Sending without a server: the SMTP URL, address checks, message building and its refusals, and
the outbox's exactly-once claims, caps, warm-up schedule and bounce kill switch (tools/mail)."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from foundation.settings import Settings
from tests.support.outreach import POSTAL, SENDER_EMAIL, lead
from tools.mail.checks import Undeliverable, deliverable_address, is_disposable, is_role_account
from tools.mail.dispatch import SendConfigError, sender_for
from tools.mail.message import DraftRefused, Sender, build_mail, message_id
from tools.mail.outbox import DAY, HOUR, Caps, NotClaimed, Outbox, SendKey
from tools.mail.smtp import SmtpConfig

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
SENDER = Sender("Ada Sender", SENDER_EMAIL, POSTAL)


def test_smtp_urls() -> None:
    c = SmtpConfig.from_url("smtp://mailer%40acme.io:p%40ss%3Aword@relay.acme.io:2525?starttls=true")
    assert (c.host, c.port, c.username, c.password, c.implicit_tls, c.starttls) == (
        "relay.acme.io", 2525, "mailer@acme.io", "p@ss:word", False, True,
    )  # fmt: skip
    assert "p@ss" not in str(c) and "p@ss" not in repr(c)
    assert SmtpConfig.from_url("smtps://relay.acme.io").port == 465
    assert SmtpConfig.from_url("smtp://relay.acme.io?starttls=true").port == 587
    plain = SmtpConfig.from_url("smtp://relay.acme.io")
    assert (plain.port, plain.starttls, plain.username) == (25, None, None), "STARTTLS when offered"
    for bad in ("http://relay.acme.io", "smtp://", "smtp://h?tls=1", "smtp://h?starttls=maybe", "smtps://h?starttls=true"):
        with pytest.raises(ValueError):
            SmtpConfig.from_url(bad)
    with pytest.raises(ValueError) as error:
        SmtpConfig.from_url("smtp://u:hunter2@h:99999")
    assert "hunter2" not in str(error.value)


def test_address_checks() -> None:
    assert deliverable_address("Ada@Bücher.DE") == "Ada@xn--bcher-kva.de", "IDN domains go out in their ASCII form"
    for bad in ("ädä@bücher.de", "a..b@x.com", "a@x.invalid", "no-at-sign", "a@b.test"):
        with pytest.raises(Undeliverable) as refused:
            deliverable_address(bad)
        assert refused.value.code == "invalid_address"
    assert all(is_role_account(a) for a in ("info@x.io", "Sales+eu@x.io", "no.reply@x.io", "do_not_reply@x.io", "admin@x.io"))
    assert not any(is_role_account(a) for a in ("ada@x.io", "information.ada@x.io", "salesforce-fan@x.io"))
    assert is_disposable("mailinator.com") and is_disposable("eu.mailinator.com")
    assert not is_disposable("acme-devtools.io") and not is_disposable("com")


def test_the_message_carries_every_header_and_a_stable_id() -> None:
    prospect = lead("grace")
    mail = build_mail(prospect, "grace@example-devs.org", SENDER, campaign="cmo_1", step=1, now=NOW)
    msg = message_from_bytes(mail.data, policy=policy.default)
    assert msg["From"] == f"Ada Sender <{SENDER_EMAIL}>" and msg["To"] == "grace@example-devs.org"
    assert msg["Subject"] == "Your work on fastgrad" and msg["Date"] == "Mon, 07 Dec 2026 09:30:00 +0000"
    link = prospect.message.headers["List-Unsubscribe"] if prospect.message else ""
    assert msg["List-Unsubscribe"] == link and link.startswith("<https://cmo.acme-devtools.io/unsubscribe/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Message-ID"] == mail.message_id == message_id("cmo_1", "gh_grace", 1, "acme-devtools.io")
    assert mail.message_id.endswith("@acme-devtools.io>") and "grace" not in mail.message_id
    again = build_mail(prospect, "grace@example-devs.org", SENDER, campaign="cmo_1", step=1, now=NOW.replace(hour=11))
    assert again.message_id == mail.message_id, "a retry reuses the Message-ID"
    assert build_mail(prospect, "grace@example-devs.org", SENDER, campaign="cmo_1", step=2, now=NOW).message_id != mail.message_id
    body = msg.get_body(("plain",))
    assert body is not None and POSTAL in body.get_content() and link.strip("<>") in body.get_content()
    assert b"\r\n" in mail.data and b"\n" not in mail.data.replace(b"\r\n", b"")

    accented = lead("zoë", email="zoe@example-devs.org", subject="Über dein Projekt: fastgrad — eine Frage")
    parsed = message_from_bytes(
        build_mail(accented, "zoe@example-devs.org", SENDER, campaign="c", step=1, now=NOW).data, policy=policy.default
    )
    assert parsed["Subject"] == "Über dein Projekt: fastgrad — eine Frage"
    text = parsed.get_body(("plain",))
    assert text is not None and "Hi Zoë," in text.get_content() and parsed["Content-Transfer-Encoding"] == "quoted-printable"

    mailto = Sender("Ada Sender", SENDER_EMAIL, POSTAL, unsubscribe_mailto="optout@acme-devtools.io")
    with_mailto = message_from_bytes(build_mail(prospect, "g@example-devs.org", mailto, campaign="c", step=1, now=NOW).data)
    assert with_mailto["List-Unsubscribe"] == f"{link}, <mailto:optout@acme-devtools.io?subject=unsubscribe%20gh_grace>"


def test_drafts_that_must_not_go_out_are_refused() -> None:
    def refusal(prospect, sender: Sender = SENDER) -> str:
        with pytest.raises(DraftRefused) as refused:
            build_mail(prospect, "x@example-devs.org", sender, campaign="c", step=1, now=NOW)
        return refused.value.code

    good = lead("grace")
    assert good.message is not None
    assert refusal(lead("grace", subject="Hi\r\nBcc: everyone@example.org")) == "subject_line_break"
    for separator in ("\u2028", "\x0b", "\x00", "\x85"):  # every line break or control character Python would refuse or pass
        assert refusal(lead("grace", subject=f"Hi{separator}there")) == "subject_line_break", repr(separator)
    edited = good.message.model_copy(update={"body": good.message.body.replace(POSTAL, "")})
    assert refusal(good.model_copy(update={"message": edited})) == "postal_address_missing_from_body"
    link = good.message.headers["List-Unsubscribe"].strip("<>")
    edited = good.message.model_copy(update={"body": good.message.body.replace(link, "https://elsewhere.example.org")})
    assert refusal(good.model_copy(update={"message": edited})) == "opt_out_missing_from_body"
    unsigned = good.message.model_copy(update={"headers": {"List-Unsubscribe": f"<{link}>"}})
    assert refusal(good.model_copy(update={"message": unsigned})) == "no_one_click_unsubscribe"
    declared = Sender("Ada Sender", SENDER_EMAIL, POSTAL, one_click_declared=True)
    assert build_mail(
        good.model_copy(update={"message": unsigned}), "x@example-devs.org", declared, campaign="c", step=1, now=NOW
    )
    plain_http = good.message.model_copy(update={"headers": {"List-Unsubscribe": "<http://acme.io/u?u=gh_grace>"}})
    assert refusal(good.model_copy(update={"message": plain_http})) == "no_opt_out_link"
    assert refusal(good.model_copy(update={"message": None})) == "no_draft"


def test_the_sender_needs_an_address_and_a_postal_address() -> None:
    with pytest.raises(SendConfigError, match="CMO_SENDER_EMAIL"):
        sender_for(Settings(cmo_sender_postal_address=POSTAL))
    with pytest.raises(SendConfigError, match="postal address"):
        sender_for(Settings(cmo_sender_email=SENDER_EMAIL))
    with pytest.raises(SendConfigError, match="sender address"):
        sender_for(Settings(cmo_sender_email="not an address", cmo_sender_postal_address=POSTAL))
    sender = sender_for(Settings(cmo_sender_email=SENDER_EMAIL, cmo_sender_postal_address=POSTAL, cmo_unsubscribe_one_click=True))
    assert (sender.email, sender.postal_address, sender.one_click_declared) == (SENDER_EMAIL, POSTAL, True)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def claim(outbox: Outbox, n: int, domain: str = "example-devs.org", campaign: str = "c") -> None:
    outbox.claim(SendKey(campaign, f"gh_{n}"), mailbox=SENDER_EMAIL, domain=domain, message_id=f"<{n}@x>")


def test_a_message_is_claimed_once_and_an_interrupted_one_stays_in_doubt(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite", Caps(daily=0, per_hour=0, per_domain_per_hour=0, warmup_start=0))
    key = SendKey("c", "gh_1")
    claim(outbox, 1)
    assert outbox.status(key) == "pending"
    second = Outbox(tmp_path / "outbox.sqlite", outbox.caps)  # another process, same file
    with pytest.raises(NotClaimed) as refused:
        claim(second, 1)
    assert (refused.value.code, refused.value.stops_run) == ("in_doubt", False)
    outbox.finish(key, "deferred", detail="451 try later")
    claim(second, 1)  # nothing was delivered: it may go again
    second.finish(key, "sent", provider_id="Q1")
    with pytest.raises(NotClaimed) as refused:
        claim(outbox, 1)
    assert refused.value.code == "already_sent"


def test_caps_and_the_warm_up_schedule(tmp_path: Path) -> None:
    clock = Clock()
    outbox = Outbox(tmp_path / "o.sqlite", Caps(daily=100, per_hour=0, per_domain_per_hour=0, warmup_start=20), clock=clock)
    schedule = []
    for day in range(5):
        clock.now = 1_800_000_000.0 + day * DAY
        schedule.append(outbox.daily_allowance(SENDER_EMAIL))
        if day == 0:
            claim(outbox, 0)  # the mailbox's first send here starts its warm-up
    assert schedule == [20, 40, 80, 100, 100], "doubling daily up to the cap"

    clock.now = 1_800_000_000.0 + 5 * DAY
    fresh = Outbox(tmp_path / "p.sqlite", Caps(daily=3, per_hour=2, per_domain_per_hour=1, warmup_start=0), clock=clock)
    claim(fresh, 1, "a.org")
    with pytest.raises(NotClaimed) as refused:
        claim(fresh, 2, "a.org")
    assert (refused.value.code, refused.value.stops_run) == ("domain_throttled", False)
    claim(fresh, 3, "b.org")
    with pytest.raises(NotClaimed) as refused:
        claim(fresh, 4, "c.org")
    assert (refused.value.code, refused.value.stops_run) == ("hourly_cap", True)
    clock.now += HOUR + 1
    claim(fresh, 4, "c.org")
    with pytest.raises(NotClaimed) as refused:
        claim(fresh, 5, "d.org")
    assert (refused.value.code, refused.value.stops_run) == ("daily_cap", True)
    clock.now += DAY
    claim(fresh, 5, "d.org")


def test_the_kill_switch_pauses_a_bouncing_campaign_for_good(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite", Caps(daily=0, per_hour=0, per_domain_per_hour=0, warmup_start=0, rate_min_sends=10))
    for n in range(10):
        claim(outbox, n)
        outbox.finish(SendKey("c", f"gh_{n}"), "bounced" if n == 0 else "sent")
        assert outbox.pause_if_over("c") is None or n == 9
    assert outbox.paused("c") == "bounce rate 1/10 = 10.0% is above 3.0%"
    with pytest.raises(NotClaimed) as refused:
        claim(outbox, 11)
    assert (refused.value.code, refused.value.stops_run) == ("campaign_paused", True)
    claim(outbox, 11, campaign="another")  # the pause is the campaign's, not the mailbox's
    outbox.block_address("Grace@Example-Devs.org", "bounce")
    assert outbox.blocked("grace@example-devs.org") == "bounce" and outbox.blocked("ada@example-devs.org") is None
    assert b"grace" not in (tmp_path / "o.sqlite").read_bytes().lower(), "bounced addresses are kept as digests"
