"""`cmo review RUN_DIR` then `cmo send RUN_DIR` (real aiosmtpd): a person's approvals are what is sent,
each decision is in `reviews.jsonl`, a rule's rejection and a suppression since the run cannot be
approved away, and an approved role address goes out (a person approved it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.support.outreach import POSTAL, SENDER_EMAIL, lead, write_run
from tests.support.smtp import Mailbox, smtp_server

cli = CliRunner()


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "CMO_SENDER_EMAIL": SENDER_EMAIL,
        "CMO_SENDER_POSTAL_ADDRESS": POSTAL,
        "CMO_SEND_DAILY_CAP": "0",
        "CMO_SEND_PER_HOUR": "0",
        "CMO_SEND_PER_DOMAIN_PER_HOUR": "0",
        "CMO_SEND_WARMUP_START": "0",
    }.items():
        monkeypatch.setenv(name, value)


def test_review_then_send(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    suppressed = tmp_path / "suppressed.csv"
    suppressed.write_text("kind,value\nemail,mallory@example-devs.org\n", encoding="utf-8")
    monkeypatch.setenv("CMO_SUPPRESSION_FILE", str(suppressed))
    leads = [
        lead("grace", verdict="needs_review"),
        lead("office", email="info@office-corp.org", verdict="needs_review"),  # a role address
        lead("mallory", verdict="needs_review"),  # suppressed since the run
        lead("linus", verdict="needs_review"),  # rejected by a person below
        lead("eve", verdict="rejected"),
    ]
    run_dir = write_run(tmp_path / "run", leads)

    listed = cli.invoke(app, ["review", str(run_dir)])
    assert listed.exit_code == 0 and "4 drafts need review" in listed.output and "gh_grace" in listed.output

    rejected = cli.invoke(app, ["review", str(run_dir), "--id", "gh_linus", "--reject", "--by", "ada"])
    assert rejected.exit_code == 2 and "--reason" in rejected.output
    rejected = cli.invoke(app, ["review", str(run_dir), "--id", "gh_linus", "--reject", "--reason", "competitor", "--by", "ada"])
    assert rejected.exit_code == 0, rejected.output
    refused = cli.invoke(app, ["review", str(run_dir), "--id", "gh_eve", "--by", "ada"])
    assert refused.exit_code == 3 and "not approved" in refused.output

    bulk = cli.invoke(app, ["review", str(run_dir), "--all-clean", "--by", "ada", "--reason", "read them all"])
    assert bulk.exit_code == 3, bulk.output  # mallory is refused: suppressed
    assert "2 approved, 1 refused" in bulk.output

    decisions = [json.loads(line) for line in (run_dir / "reviews.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(d["prospect_id"], d["outcome"]) for d in decisions] == [
        ("gh_linus", "rejected"),
        ("gh_eve", "refused"),
        ("gh_grace", "approved"),
        ("gh_office", "approved"),
        ("gh_mallory", "refused"),
    ]
    assert all(d["by"] == "ada" for d in decisions) and decisions[0]["reason"] == "competitor"
    stored = {p["id"]: p["compliance"] for p in json.loads((run_dir / "leads_full.json").read_text(encoding="utf-8"))}
    assert stored["gh_grace"]["verdict"] == "approved" and stored["gh_linus"]["verdict"] == "rejected"
    assert any(r.startswith("person_review: approved by a person (ada") for r in stored["gh_office"]["reasons"])

    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        monkeypatch.setenv("CMO_SMTP_URL", f"smtp://127.0.0.1:{port}")
        sent = cli.invoke(app, ["send", str(run_dir)])
    assert sent.exit_code == 0, sent.output
    assert sorted(r for m in mailbox.received for r in m.recipients) == ["grace@example-devs.org", "info@office-corp.org"]
