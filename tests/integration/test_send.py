"""`cmo send` against a real SMTP server (aiosmtpd on 127.0.0.1, real TCP): the headers and the DKIM
signature as received, STARTTLS with a login, caps and warm-up, suppressed, erased, role, disposable
and bounced people never sent, the bounce kill switch, a deferred message retried with its
Message-ID, no duplicate after the sender process is killed mid-send, and MX checks against a local
DNS server.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from api.core.database import run_with_database
from api.core.migrate import ensure_embedded_schema
from api.services.suppressions import add_suppression
from api.services.tenants import issue_api_key
from cli.main import app
from foundation.settings import Settings
from tests.support.dns_server import dns_server
from tests.support.outreach import POSTAL, SENDER_EMAIL, lead, sends, write_run
from tests.support.smtp import Mailbox, self_signed, smtp_server
from tools.mail.dispatch import SendPlan, send_campaign
from tools.mail.message import Sender
from tools.mail.outbox import Caps, Outbox
from tools.suppression import SuppressionList

ROOT = Path(__file__).resolve().parents[2]
cli = CliRunner()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What `cmo send` reads (CMO_HOME is the test's own); caps off unless a test sets them, one connection."""
    values = {
        "CMO_SENDER_EMAIL": SENDER_EMAIL,
        "CMO_SENDER_NAME": "Ada Sender",
        "CMO_SENDER_POSTAL_ADDRESS": POSTAL,
        "CMO_SEND_DAILY_CAP": "0",
        "CMO_SEND_PER_HOUR": "0",
        "CMO_SEND_PER_DOMAIN_PER_HOUR": "0",
        "CMO_SEND_WARMUP_START": "0",
        "CMO_SEND_CONNECTIONS": "1",  # these tests follow the ranked order; parallel sending has its own tests
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def send(run_dir: Path, *args: str) -> Any:
    return cli.invoke(app, ["send", str(run_dir), *args])


def use_smtp(monkeypatch: pytest.MonkeyPatch, port: int, **query: str) -> None:
    extra = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    monkeypatch.setenv("CMO_SMTP_URL", f"smtp://127.0.0.1:{port}{extra}")


def dkim_key(directory: Path) -> tuple[Path, bytes]:
    """A selector's private key file and the TXT record its public key would publish."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = directory / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def test_headers_dkim_starttls_and_login_as_received(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tls, cert = self_signed(tmp_path)
    key_file, txt = dkim_key(tmp_path)
    monkeypatch.setenv("CMO_SMTP_CA_FILE", str(cert))
    monkeypatch.setenv("CMO_DKIM_SELECTOR", "cmo2026")
    monkeypatch.setenv("CMO_DKIM_DOMAIN", "acme-devtools.io")
    monkeypatch.setenv("CMO_DKIM_PRIVATE_KEY_FILE", str(key_file))
    monkeypatch.setenv("CMO_UNSUBSCRIBE_MAILTO", "optout@acme-devtools.io")
    leads = [lead("grace"), lead("linus", verdict="needs_review"), lead("zoë", email="zoe@bücher.de")]
    run_dir = write_run(tmp_path / "run", leads)
    mailbox = Mailbox()
    with smtp_server(mailbox, tls=tls, login=True) as port:
        monkeypatch.setenv("CMO_SMTP_URL", f"smtp://mailer:s3cret%20pass@127.0.0.1:{port}?starttls=true")
        first = send(run_dir)
        assert first.exit_code == 0, first.output
        assert "2 sent" in first.output and "1 not approved" in first.output
        again = send(run_dir)
        assert again.exit_code == 0 and "0 sent" in again.output and "2 already sent" in again.output
    assert mailbox.logins == ["mailer"], "one login over one STARTTLS connection for both messages"
    assert [m.recipients for m in mailbox.received] == [["grace@example-devs.org"], ["zoe@xn--bcher-kva.de"]]
    records = sends(run_dir)
    assert [(r["prospect_id"], r["status"]) for r in records] == [("gh_grace", "sent"), ("gh_zoë", "sent")]
    assert records[0]["provider_id"] == "2.0.0 Ok: queued as Q00001"
    assert "grace@" not in (run_dir / "sends.jsonl").read_text() and "Hi Grace" not in (run_dir / "sends.jsonl").read_text()

    received = mailbox.received[0]
    msg = received.message
    draft = leads[0].message
    assert draft is not None
    link = draft.headers["List-Unsubscribe"]
    assert received.sender == SENDER_EMAIL
    assert msg["From"] == f"Ada Sender <{SENDER_EMAIL}>" and msg["To"] == "grace@example-devs.org"
    assert msg["Subject"] == draft.subject and msg["Date"] and msg["Message-ID"] == records[0]["message_id"]
    assert msg["List-Unsubscribe"] == f"{link}, <mailto:optout@acme-devtools.io?subject=unsubscribe%20gh_grace>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = msg.get_body(("plain",))
    assert body is not None and POSTAL in body.get_content() and link.strip("<>") in body.get_content()
    assert "To opt out of all further messages" in body.get_content()

    signature = msg["DKIM-Signature"]
    assert "d=acme-devtools.io" in signature and "s=cmo2026" in signature
    signed = signature.replace(" ", "").replace("\t", "").split("h=")[1].split(";")[0].lower().split(":")
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject", "message-id"} <= set(signed), "RFC 8058 §4"

    def lookup(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"cmo2026._domainkey.acme-devtools.io."
        return txt

    assert all(dkim.verify(m.data, dnsfunc=lookup) for m in mailbox.received), "the signature verifies as received"
    tampered = received.data.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: nope")
    assert not dkim.verify(tampered, dnsfunc=lookup)


def test_implicit_tls(tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    tls, cert = self_signed(tmp_path)
    run_dir = write_run(tmp_path / "run", [lead("grace")])
    mailbox = Mailbox()
    monkeypatch.setenv("CMO_SMTP_CA_FILE", str(cert))
    with smtp_server(mailbox, tls=tls, implicit_tls=True) as port:
        monkeypatch.setenv("CMO_SMTP_URL", f"smtps://127.0.0.1:{port}")
        result = send(run_dir)
        assert result.exit_code == 0, result.output
        monkeypatch.delenv("CMO_SMTP_CA_FILE")
        untrusted = send(write_run(tmp_path / "run2", [lead("linus")], run_id="cmo_other"))
    assert untrusted.exit_code == 2 and "certificate is not trusted" in untrusted.output.replace("\n", " ")
    assert [m.recipients for m in mailbox.received] == [["grace@example-devs.org"]]


def test_what_only_the_operator_can_fix_stops_with_exit_2(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tls, cert = self_signed(tmp_path)
    monkeypatch.setenv("CMO_SMTP_CA_FILE", str(cert))
    run_dir = write_run(tmp_path / "run", [lead("grace"), lead("linus")])
    mailbox = Mailbox()
    with smtp_server(mailbox, tls=tls, login=True) as port:
        monkeypatch.setenv("CMO_SMTP_URL", f"smtp://mailer:wrong@127.0.0.1:{port}?starttls=true")
        wrong = send(run_dir)
        assert wrong.exit_code == 2 and "mailbox_refused" in wrong.output and "535" in wrong.output, wrong.output
        monkeypatch.setenv("CMO_SMTP_URL", f"smtp://mailer:s3cret%20pass@127.0.0.1:{port}?starttls=true")
        assert send(run_dir).exit_code == 0, "nothing was delivered: the next run sends both"
    with smtp_server(mailbox) as port:
        use_smtp(monkeypatch, port, starttls="true")
        no_tls = send(write_run(tmp_path / "run2", [lead("ada")], run_id="cmo_2"))
        assert no_tls.exit_code == 2 and "STARTTLS" in no_tls.output, no_tls.output
    use_smtp(monkeypatch, port)  # the server is gone: nothing listens there any more
    down = send(write_run(tmp_path / "run3", [lead("ada")], run_id="cmo_3"))
    assert down.exit_code == 3 and "server_unavailable" in down.output, down.output
    assert sorted(r for m in mailbox.received for r in m.recipients) == ["grace@example-devs.org", "linus@example-devs.org"]


def test_caps_and_warm_up_are_honoured(tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        use_smtp(monkeypatch, port, starttls="false")
        monkeypatch.setenv("CMO_SEND_PER_HOUR", "3")
        hourly = write_run(tmp_path / "hourly", [lead(f"dev{n}", email=f"dev{n}@d{n}.example-devs.org") for n in range(5)])
        result = send(hourly)
        assert result.exit_code == 3 and "3 sent" in result.output and "hourly_cap" in result.output, result.output
        assert "hourly_cap" in send(hourly).output, "the next run within the hour sends nothing either"
        assert len(mailbox.received) == 3

        monkeypatch.setenv("CMO_SEND_PER_HOUR", "0")
        monkeypatch.setenv("CMO_SEND_PER_DOMAIN_PER_HOUR", "2")
        monkeypatch.setenv("CMO_SENDER_EMAIL", "grace@acme-devtools.io")  # another mailbox: caps are per mailbox
        same_domain = [lead(f"eng{n}", email=f"eng{n}@bigcorp.example-devs.org") for n in range(4)]
        throttled = write_run(tmp_path / "domain", [*same_domain, lead("solo", email="solo@elsewhere.org")])
        result = send(throttled)
        assert result.exit_code == 3 and "2 skipped" in result.output and "domain_throttled" in result.output, result.output
        assert [r["prospect_id"] for r in sends(throttled) if r["status"] == "sent"] == ["gh_eng0", "gh_eng1", "gh_solo"]

        monkeypatch.setenv("CMO_SEND_PER_DOMAIN_PER_HOUR", "0")
        monkeypatch.setenv("CMO_SEND_DAILY_CAP", "100")
        monkeypatch.setenv("CMO_SEND_WARMUP_START", "2")
        monkeypatch.setenv("CMO_SENDER_EMAIL", "new-mailbox@acme-devtools.io")
        warm = write_run(tmp_path / "warm", [lead(f"w{n}", email=f"w{n}@w{n}.example-devs.org") for n in range(4)])
        result = send(warm)
        assert result.exit_code == 3 and "2 sent" in result.output and "daily_cap" in result.output, result.output
        limited = send(warm, "--limit", "1")
        assert limited.exit_code == 3 and "daily_cap" in limited.output, "still warming up: its first day allows 2"
    assert sum(1 for m in mailbox.received if m.sender == "new-mailbox@acme-devtools.io") == 2


def test_people_who_must_not_be_mailed_never_are(tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    ensure_embedded_schema(settings)
    tenant = run_with_database(settings, lambda db: issue_api_key(db, "acme", "member"))

    async def tombstone(db) -> None:  # what `cmo erase` leaves for an erased person (reason erasure)
        async with db.sessions() as session:
            await add_suppression(
                session, tenant.tenant_id, "email", "erased@example-devs.org", reason="erasure", source="erasure"
            )
            await session.commit()

    run_with_database(settings, tombstone)
    assert cli.invoke(app, ["suppress", "add", "login", "objector", "--tenant", "acme", "--reason", "objection"]).exit_code == 0
    suppression_file = tmp_path / "suppressed.csv"
    suppression_file.write_text("kind,value\ndomain,blocked-corp.org\n", encoding="utf-8")
    monkeypatch.setenv("CMO_SUPPRESSION_FILE", str(suppression_file))
    no_contact = lead("private")
    no_contact = no_contact.model_copy(
        update={"privacy_settings": no_contact.privacy_settings.model_copy(update={"contact_allowed": False})}
    )
    leads = [
        lead("grace"),
        lead("erased", email="erased@example-devs.org"),
        lead("objector"),
        lead("corp", email="dev@eu.blocked-corp.org"),
        no_contact,
        lead("team", email="info@team.example-devs.org"),
        lead("team-approved", email="sales@team.example-devs.org", by_person=True),
        lead("temp", email="temp@mailinator.com"),
        lead("gone", email="gone@example-devs.org"),
        lead("invalid", email="not-an-address"),
    ]
    run_dir = write_run(tmp_path / "run", leads)
    mailbox = Mailbox(refuse={"gone@example-devs.org": "550 5.1.1 <gone@example-devs.org>: no such user"})
    with smtp_server(mailbox) as port:
        use_smtp(monkeypatch, port)
        result = send(run_dir, "--tenant", "acme")
        assert result.exit_code == 0, result.output
        later = write_run(tmp_path / "later", [lead("gone", email="Gone@Example-Devs.org")], run_id="cmo_later")
        assert send(later).exit_code == 0
    outcome = {r["prospect_id"]: (r["status"], r.get("reason")) for r in sends(run_dir)}
    assert outcome == {
        "gh_grace": ("sent", None),
        "gh_erased": ("skipped", "suppressed"),
        "gh_objector": ("skipped", "suppressed"),
        "gh_corp": ("skipped", "suppressed"),
        "gh_private": ("skipped", "contact_not_allowed"),
        "gh_team": ("skipped", "role_account"),
        "gh_team-approved": ("sent", None),
        "gh_temp": ("skipped", "disposable_domain"),
        "gh_gone": ("bounced", "smtp_550"),
        "gh_invalid": ("skipped", "invalid_address"),
    }
    assert [(r["status"], r["reason"]) for r in sends(later)] == [("skipped", "bounced_before")], "a hard bounce suppresses"
    assert sorted(r for m in mailbox.received for r in m.recipients) == ["grace@example-devs.org", "sales@team.example-devs.org"]


def test_the_kill_switch_pauses_a_bouncing_campaign(tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMO_SEND_RATE_MIN_SENDS", "5")
    leads = [lead(f"p{n}", email=f"p{n}@example-devs.org") for n in range(12)]
    mailbox = Mailbox(refuse={f"p{n}@example-devs.org": "550 5.1.1 unknown user" for n in range(0, 12, 2)})
    run_dir = write_run(tmp_path / "run", leads)
    with smtp_server(mailbox) as port:
        use_smtp(monkeypatch, port)
        first = send(run_dir)
        assert first.exit_code == 3 and "campaign_paused" in first.output and "bounce rate 3/5" in first.output, first.output
        again = send(run_dir)
        assert again.exit_code == 3 and "campaign_paused" in again.output
    assert [r["status"] for r in sends(run_dir)] == ["bounced", "sent", "bounced", "sent", "bounced"]
    assert len(mailbox.received) == 2, "nothing after the pause"


def test_a_deferred_message_is_retried_with_its_message_id(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox = Mailbox(refuse={"grace@example-devs.org": "451 4.7.1 greylisted, try again later"})
    run_dir = write_run(tmp_path / "run", [lead("grace"), lead("linus")])
    with smtp_server(mailbox) as port:
        use_smtp(monkeypatch, port)
        first = send(run_dir)
        assert first.exit_code == 3 and "1 deferred" in first.output, first.output
        mailbox.refuse.clear()
        assert send(run_dir).exit_code == 0
    records = sends(run_dir)
    assert [(r["prospect_id"], r["status"]) for r in records] == [
        ("gh_grace", "deferred"),
        ("gh_linus", "sent"),
        ("gh_grace", "sent"),
    ]
    assert records[0]["message_id"] == records[2]["message_id"] == mailbox.to("grace@example-devs.org")[0].message["Message-ID"]
    assert len(mailbox.received) == 2


def test_no_duplicate_after_the_sender_is_killed(tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    leads = [lead(f"k{n}", email=f"k{n}@example-devs.org") for n in range(6)]
    run_dir = write_run(tmp_path / "run", leads)
    mailbox = Mailbox(hang_on=3)
    with smtp_server(mailbox) as port:
        use_smtp(monkeypatch, port)
        environ = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen([sys.executable, "-m", "cli", "send", str(run_dir)], env=environ, cwd=tmp_path)
        assert mailbox.hanging.wait(60), "the third message reached the server"
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        mailbox.hang_on = None
        rerun = subprocess.run(
            [sys.executable, "-m", "cli", "send", str(run_dir)],
            env=environ,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert rerun.returncode == 3, rerun.stderr
    assert "3 sent" in rerun.stderr and "1 in doubt" in rerun.stderr, rerun.stderr
    per_recipient = {f"k{n}@example-devs.org": len(mailbox.to(f"k{n}@example-devs.org")) for n in range(6)}
    assert per_recipient == dict.fromkeys(per_recipient, 1), "everyone got exactly one message, the one in flight included"
    statuses = [(r["prospect_id"], r["status"]) for r in sends(run_dir)]
    assert statuses == [
        ("gh_k0", "sent"),
        ("gh_k1", "sent"),
        ("gh_k2", "in_doubt"),
        ("gh_k3", "sent"),
        ("gh_k4", "sent"),
        ("gh_k5", "sent"),
    ]

    in_doubt = sends(run_dir)[2]["message_id"]
    assert in_doubt == mailbox.to("k2@example-devs.org")[0].message["Message-ID"], "found in the relay's log by its id"
    unknown = send(run_dir, "--delivered", "<nope@acme-devtools.io>")
    assert unknown.exit_code == 2 and "no message in doubt" in unknown.output
    settled = send(run_dir, "--delivered", in_doubt)
    assert settled.exit_code == 0 and "0 in doubt" in settled.output and "6 already sent" in settled.output, settled.output
    assert len(mailbox.received) == 6


def test_without_smtp_url_only_a_dry_run(tmp_path: Path, env: dict[str, str]) -> None:
    run_dir = write_run(tmp_path / "run", [lead("grace"), lead("team", email="info@example-devs.org"), lead("linus")])
    refused = send(run_dir)
    assert refused.exit_code == 2 and "CMO_SMTP_URL is not set" in refused.output
    dry = send(run_dir, "--dry-run")
    assert dry.exit_code == 0 and "2 would be sent" in dry.output and "role_account" in dry.output, dry.output
    assert "1 would be sent" in send(run_dir, "--dry-run", "--limit", "1").output
    assert not (run_dir / "sends.jsonl").exists()
    assert send(tmp_path / "nowhere", "--dry-run").exit_code == 2


async def test_mx_checks_against_a_local_dns_server(tmp_path: Path) -> None:
    records = {
        "mx.example-devs.org": {"MX": ["10 mail.example-devs.org."]},
        "a-only.example-devs.org": {"A": ["192.0.2.10"]},
        "null-mx.example-devs.org": {"MX": ["0 ."]},
        "bare.example-devs.org": {},
    }
    leads = [
        lead(name, email=f"ada@{name}.example-devs.org") for name in ("mx", "a-only", "null-mx", "bare", "missing", "broken")
    ]
    mailbox = Mailbox()
    outbox = Outbox(tmp_path / "outbox.sqlite", Caps(daily=0, per_hour=0, per_domain_per_hour=0, warmup_start=0))
    with dns_server(records, failing=frozenset({"broken.example-devs.org"})) as resolver, smtp_server(mailbox) as port:
        from tools.mail.smtp import SmtpConfig, SmtpSender

        transport = SmtpSender(SmtpConfig.from_url(f"smtp://127.0.0.1:{port}"))
        plan = SendPlan("cmo_mx", Sender("Ada", SENDER_EMAIL, POSTAL), SuppressionList.empty(), resolver=resolver)
        try:
            report = await send_campaign(leads, plan, outbox, transport)
        finally:
            await transport.aclose()
    outcome = {r.prospect_id: (r.status, r.reason) for r in report.records}
    assert outcome == {
        "gh_mx": ("sent", None),
        "gh_a-only": ("sent", None),  # no MX: the address record is the mail host (RFC 5321 §5.1)
        "gh_null-mx": ("skipped", "null_mx"),
        "gh_bare": ("skipped", "no_mx"),
        "gh_missing": ("skipped", "no_such_domain"),
        "gh_broken": ("skipped", "check_unavailable"),  # DNS failing: not refused, tried again next run
    }
