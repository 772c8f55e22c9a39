"""The pipeline honours a tenant's (blind-indexed) suppression list handed to `run_job`: research
never selects a suppressed login, so nothing is fetched about them; enrichment drops someone whose
suppressed email only their profile reveals; neither reaches the leads. Sandbox runs, no network."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from foundation.settings import Settings
from graph.runner import run_job
from sandbox import open_sandbox
from tools.suppression import SuppressionList

GOAL = "Find Python maintainers active in ML"


def blind(value: str) -> str:
    return hmac.new(b"tenant-index-key", value.encode(), hashlib.sha256).hexdigest()


def trace(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "trace.jsonl").read_text().splitlines()]


@pytest.mark.usefixtures("block_internet")
def test_research_and_enrichment_skip_suppressed_people(tmp_path: Path) -> None:
    settings = Settings(cmo_home=tmp_path / "home", sandbox_users=400)
    first = run_job(GOAL, settings, sandbox=open_sandbox, out_dir=tmp_path / "first", max_prospects=12)
    by_login = next(p for p in first.prospects if not p.email)
    by_email = next(p for p in first.prospects if p.email)
    suppression = SuppressionList.from_blind_indexes(
        blind, [("login", blind(by_login.username.lower())), ("email", blind(by_email.email.lower()))]
    )

    second = run_job(GOAL, settings, sandbox=open_sandbox, out_dir=tmp_path / "second", max_prospects=12, suppression=suppression)
    events = trace(tmp_path / "second")
    found = {e["data"].get("login") for e in events if e["event"] == "prospect.found"}
    fetched = {e["data"].get("args", {}).get("login") for e in events if e["event"] == "tool.called"}
    assert by_login.username not in found | fetched, "research never selects them, so nothing is fetched about them"
    assert by_email.username in found, "their email is only known once the profile is read"
    # Them, and any second account of theirs that shows the same email (sandbox seed 7: zara1303-work).
    assert (second.summary.dropped or {}).get("suppressed", 0) >= 1, "enrichment drops them"
    named = {e["data"]["login"] for e in events if e["event"] == "prospect.dropped"}
    assert not {by_login.username, by_email.username} & named, "people who objected are counted, never named"
    assert not {by_login.id, by_email.id} & {p.id for p in second.prospects}
    assert second.prospects, "everyone else is still found"
