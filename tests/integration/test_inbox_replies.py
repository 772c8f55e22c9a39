"""Replies and objections read back by `cmo inbox import` after a real `cmo send` (aiosmtpd): a reply
is marked on the message (what stops a sequence), an objecting reply or a mailto: unsubscribe is
never mailed again, automatic answers are not replies, a reply quoting our footer's "unsubscribe"
is not an objection; with `--tenant`, bounces, complaints and objections reach the tenant's
suppression list and a reply to a job's message becomes one `replied` engagement event.
"""

from __future__ import annotations

import mailbox
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.core import orm
from api.core.config import ApiConfig
from api.core.database import Database, run_with_database
from api.core.orm_privacy import Suppression
from api.services.prospects import save_prospects
from api.services.tenants import issue_api_key
from cli.main import app
from foundation.settings import Settings
from sandbox import open_sandbox
from tests.integration.test_inbox import complaint, dsn
from tests.integration.test_send import env, send, use_smtp  # noqa: F401 - the env fixture
from tests.support.outreach import SENDER_EMAIL, lead, sends, write_run
from tests.support.smtp import Mailbox, Received, smtp_server
from tools.mail.inbox import classify

cli = CliRunner()


def answer(received: Received, text: str, *, subject: str = "Re: Your work on fastgrad", extra: str = "") -> str:
    """A reply to `received` whose own text is `text`, quoting the original below it as mail clients do."""
    message_id = received.message["Message-ID"]
    quoted = "\n".join(f"> {line}" for line in received.message.get_content().splitlines())
    return f"""From: Someone <{received.recipients[0]}>
To: {SENDER_EMAIL}
Subject: {subject}
Message-ID: <{uuid.uuid4().hex}@example-devs.org>
In-Reply-To: {message_id}
References: {message_id}
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
{extra}
{text}

On Mon, 7 Dec 2026 at 10:00, Ada Sender <{SENDER_EMAIL}> wrote:
{quoted}
"""


def import_(path: Path, *args: str) -> str:
    result = cli.invoke(app, ["inbox", "import", str(path), *args])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def write_mbox(path: Path, messages: list[str]) -> Path:
    box = mailbox.mbox(path)
    for text in messages:
        box.add(text.encode())
    box.close()
    return path


def flags(home: Path) -> dict[str, int]:
    with sqlite3.connect(home / "outbox.sqlite") as db:
        return dict(db.execute("SELECT prospect_id, replied_at IS NOT NULL FROM sends").fetchall())


@pytest.mark.usefixtures("env")
def test_replies_objections_and_automatic_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMO_UNSUBSCRIBE_MAILTO", "unsubscribe@acme-devtools.io")
    people = [lead(f"r{n}", email=f"r{n}@example-devs.org") for n in range(6)]
    run_dir = write_run(tmp_path / "run", people)
    box = Mailbox()
    with smtp_server(box) as port:
        use_smtp(monkeypatch, port)
        assert send(run_dir).exit_code == 0
        r0, r1, r2, r3, r4, r5 = (box.to(f"r{n}@example-devs.org")[0] for n in range(6))
        assert "unsubscribe" in r0.message.get_content().lower(), "our footer says unsubscribe: a quoted copy is no objection"
        assert "mailto:unsubscribe@acme-devtools.io?subject=unsubscribe%20gh_r5" in r5.message["List-Unsubscribe"]
        incoming = [
            answer(r0, "Thanks, tell me more about fastgrad."),
            answer(r1, "Please unsubscribe me, I do not want these emails."),
            answer(r2, "STOP"),
            answer(r3, "I am out of the office until Monday.", subject="Out of Office: Your work on fastgrad"),
            answer(r4, "Away.", extra="Auto-Submitted: auto-replied"),
            answer(r4, "Away.", extra="Precedence: auto_reply"),
            "From: <r5@example-devs.org>\nTo: unsubscribe@acme-devtools.io\nSubject: unsubscribe gh_r5\n\n\n",
        ]
        home = Settings().home
        out = import_(write_mbox(tmp_path / "in.mbox", incoming))
        assert "7 message(s)" in out and "3 repl(ies) (3 new)" in out and "3 other" in out, out
        assert "2 repl(ies) objecting and 1 mailto: unsubscribe(s)" in out, out
        assert flags(home) == {"gh_r0": 1, "gh_r1": 1, "gh_r2": 1, "gh_r3": 0, "gh_r4": 0, "gh_r5": 0}, (
            "auto-replies are no replies"
        )
        assert "0 new" in import_(tmp_path / "in.mbox"), "a second import changes nothing"

        later = write_run(
            tmp_path / "later", [lead(f"r{n}", email=f"r{n}@example-devs.org") for n in range(6)], run_id="cmo_later"
        )
        assert send(later).exit_code == 0
    assert sorted((r["prospect_id"], r["status"], r.get("reason")) for r in sends(later)) == [
        ("gh_r0", "sent", None),
        ("gh_r1", "skipped", "objected_before"),
        ("gh_r2", "skipped", "objected_before"),
        ("gh_r3", "sent", None),
        ("gh_r4", "sent", None),
        ("gh_r5", "skipped", "objected_before"),
    ]


def test_objection_wording() -> None:
    from email import message_from_string

    def objects(text: str, subject: str = "Re: hi") -> bool:
        message = message_from_string(f"From: a@b.org\nSubject: {subject}\nIn-Reply-To: <x@y>\n\n{text}\n")
        return classify(message)[0].objection

    for text in (
        "stop",
        "Stop.",
        "Please remove me from your list",
        "opt out",
        "Don't contact me again",
        "no more emails please",
    ):
        assert objects(text), text
    assert objects("", subject="Re: STOP")
    for text in ("Sounds good, let's talk", "I can't stop using fastgrad!", "> unsubscribe: https://x\nthanks"):
        assert not objects(text), text
    html = message_from_string(
        "From: a@b.org\nSubject: Re: hi\nIn-Reply-To: <x@y>\nContent-Type: text/html\n\n"
        "<div>Yes, interested</div><blockquote>unsubscribe here</blockquote>\n"
    )
    assert not classify(html)[0].objection


@pytest.mark.usefixtures("env")
def test_with_a_tenant_feedback_reaches_its_lists_and_engagement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    name = f"tenant-{uuid.uuid4().hex[:12]}"
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=0))) as client:
        issued = run_with_database(settings, lambda db: issue_api_key(db, name, "member"))
        headers = {"Authorization": f"Bearer {issued.key}"}
        job_id = client.post("/api/jobs", json={"goal": "Find Python maintainers active in ML"}, headers=headers).json()["id"]
    people = [lead(f"t{n}", email=f"t{n}@example-devs.org") for n in range(4)]

    async def store(db: Database) -> None:
        async with db.sessions() as session:
            await save_prospects(session, await session.get_one(orm.Job, job_id), people)
            await session.commit()

    run_with_database(settings, store)
    run_dir = write_run(tmp_path / "run", people, run_id=job_id)  # a service job's artifacts name it as the run
    box = Mailbox()
    with smtp_server(box) as port:
        use_smtp(monkeypatch, port)
        sent = send(run_dir, "--tenant", name)
        assert sent.exit_code == 0, sent.output
        t0, t1, t2, t3 = (box.to(f"t{n}@example-devs.org")[0] for n in range(4))
    path = write_mbox(
        tmp_path / "in.mbox",
        [
            dsn(t0, "5.1.1", "failed"),
            complaint(t1),
            answer(t2, "Not interested, please stop emailing me."),
            answer(t3, "Tell me more"),
        ],
    )
    out = import_(path, "--tenant", name)
    assert "1 bounce(s), 1 complaint(s), 1 objection(s) and 0 unsubscribe(s) suppressed; 2 replied event(s)" in out, out
    assert "0 replied event(s)" in import_(path, "--tenant", name), "a second import records no second reply"

    async def read(db: Database) -> tuple[set[tuple[str, str, str]], list[tuple[str, str]]]:
        async with db.sessions() as session:
            rows = select(Suppression.kind, Suppression.reason, Suppression.source).where(
                Suppression.tenant_id == issued.tenant_id
            )
            events = select(orm.EngagementEvent.prospect_id, orm.EngagementEvent.type).where(
                orm.EngagementEvent.tenant_id == issued.tenant_id
            )
            return {tuple(r) for r in (await session.execute(rows)).all()}, sorted(
                tuple(e) for e in (await session.execute(events)).all()
            )  # type: ignore[misc]

    found, events = run_with_database(settings, read)
    assert ("email", "bounce", "dsn") in found and ("email", "complaint", "arf") in found
    assert ("login", "objection", "reply") in found and ("email", "objection", "reply") in found
    assert events == [("gh_t2", "replied"), ("gh_t3", "replied")]
    again = cli.invoke(
        app, ["send", str(write_run(tmp_path / "again", people, run_id="cmo_again")), "--tenant", name, "--dry-run"]
    )
    assert again.exit_code == 0, again.output
    assert "1 would be sent" in again.output and "skipped 3: suppressed" in again.output, "bounced, complained, objected"
