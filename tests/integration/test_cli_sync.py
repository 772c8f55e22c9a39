"""`cmo sync`, `cmo destinations` and `cmo erase` over a run directory and a real contract stub
(Pipedrive's): dry run, suppression, partial failures (exit 3), `--all`, the delivery ledger and
erasure through it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from foundation.artifacts import LEADS_FULL
from foundation.schemas import ComplianceReview, Prospect
from tests.support.pipedrive_stub import PipedriveStub
from tools.destinations.ledger import Ledger

runner = CliRunner()


def _run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    leads = [
        Prospect(
            id=f"gh_dev{i}",
            username=f"dev{i}",
            name=f"Dev {i}",
            email=f"dev{i}@example.org",
            compliance=ComplianceReview(verdict="approved" if i < 4 else "rejected", lawful_basis="legitimate_interest"),
        )
        for i in range(6)
    ]
    (run / LEADS_FULL).write_text(json.dumps([p.model_dump(mode="json") for p in leads]))
    return run


@pytest.fixture
def stub() -> PipedriveStub:
    with PipedriveStub() as stub:
        yield stub


def test_cmo_sync_dry_run_suppression_partial_failure_all_and_erase(
    tmp_path: Path, stub: PipedriveStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _run_dir(tmp_path)
    config = tmp_path / "destinations.yaml"
    config.write_text(f"destinations:\n  pd:\n    platform: pipedrive\n    base_url: {stub.url}\n    token: env:PD_TOKEN\n")
    monkeypatch.setenv("PD_TOKEN", "test-token")
    suppressions = tmp_path / "suppressed.csv"
    suppressions.write_text("kind,value\nlogin,dev0\n")
    monkeypatch.setenv("CMO_SUPPRESSION_FILE", str(suppressions))

    listed = runner.invoke(app, ["destinations", "list", "--config", str(config)])
    assert listed.exit_code == 0 and "sends: company, email" in listed.output
    assert runner.invoke(app, ["destinations", "test", "--config", str(config)]).exit_code == 0

    dry = runner.invoke(app, ["sync", "pd", str(run), "--config", str(config), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would send" in dry.output and not stub.calls("POST", "/api/v2/persons")

    stub.refuse_github_url = "https://github.com/dev3"
    partial = runner.invoke(app, ["sync", "pd", str(run), "--config", str(config)])
    assert partial.exit_code == 3, partial.output
    assert "failed gh_dev3" in partial.output and "2 created" in partial.output and "1 skipped" in partial.output
    assert "dev0" not in json.dumps(stub.persons)  # suppressed: never sent
    lines = [json.loads(line) for line in (run / "syncs.jsonl").read_text().splitlines()]
    assert {line["outcome"] for line in lines} == {"created", "failed", "skipped"} and "email" not in lines[0]

    stub.refuse_github_url = None
    everyone = runner.invoke(app, ["sync", "pd", str(run), "--config", str(config), "--all"])
    assert everyone.exit_code == 0, everyone.output
    assert len(stub.persons) == 5  # dev1..dev5 (rejected ones too under --all), never dev0
    assert {d.prospect_id for d in Ledger(Path(tmp_path / "cmo_home")).deliveries()} == {f"gh_dev{i}" for i in range(1, 6)}

    assert runner.invoke(app, ["apikey", "create", "--tenant", "acme"]).exit_code == 0
    erased = runner.invoke(app, ["erase", "--tenant", "acme", "--email", "dev2@example.org"])
    assert erased.exit_code == 0, erased.output
    assert "pd (pipedrive): deleted 1 record(s)" in erased.output
    assert "dev2@example.org" not in json.dumps(stub.persons) and len(stub.persons) == 4
    assert "gh_dev2" not in {d.prospect_id for d in Ledger(Path(tmp_path / "cmo_home")).deliveries()}
    log = (tmp_path / "cmo_home" / "destinations" / "erasures.jsonl").read_text()
    assert "deleted" in log and "dev2" not in log


def test_cmo_sync_refuses_bad_configs_in_one_line(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    config = tmp_path / "bad.yaml"
    config.write_text("platform: nowhere\n")
    result = runner.invoke(app, ["sync", "nowhere", str(run), "--config", str(config)])
    assert result.exit_code == 2 and "unknown platform 'nowhere'" in result.output
    config.write_text("platform: pipedrive\ntoken: env:UNSET_TOKEN_FOR_TEST\n")
    result = runner.invoke(app, ["sync", "pipedrive", str(run), "--config", str(config)])
    assert result.exit_code == 2 and "UNSET_TOKEN_FOR_TEST is not set" in result.output
