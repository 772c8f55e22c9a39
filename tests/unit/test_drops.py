"""Every candidate left out is named in one `prospect.dropped` event with its reason and the evidence
that decided it, on both enrichment paths; the reasoning lines' counts agree with each other and with
the summary. Sandbox runs, no network."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from agents import drops
from cli.display import LiveView
from foundation.schemas import TargetAudience
from foundation.schemas.github import CommitInfo, UserProfile
from foundation.settings import Settings
from graph.runner import run_job
from sandbox import open_sandbox
from tools.geo import Place
from tools.signals import Activity

GOAL = "Find Python maintainers active in ML in the EU, excluding Google, active in the last 30 days"
SCREENING = {"not_a_person", "outside_target_regions", "outside_target_cities", "excluded_region", "excluded_city"}
SCREENING |= {"excluded_company", "inactive"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def _trace(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "trace.jsonl").read_text().splitlines()]


@pytest.mark.usefixtures("block_internet")
@pytest.mark.parametrize("graphql", [True, False], ids=["graphql", "rest"])
def test_each_dropped_candidate_is_named_once_with_its_reason_and_evidence(tmp_path: Path, graphql: bool) -> None:
    settings = Settings(cmo_home=tmp_path / "home", github_graphql=graphql)
    result = run_job(GOAL, settings, sandbox=open_sandbox, out_dir=tmp_path / "out", max_prospects=10)
    events = _trace(tmp_path / "out")
    dropped = [e["data"] for e in events if e["event"] == "prospect.dropped"]
    by_reason = Counter(d["reason"] for d in dropped)
    assert len({d["login"] for d in dropped}) == len(dropped), "one event a person at most"
    assert {"inactive", "outside_target_regions", "beyond_candidate_limit"} <= set(by_reason), by_reason

    window_start = (datetime.now(UTC) - timedelta(days=30)).date()
    for d in dropped:
        assert d["text"] and d["evidence"], d
        assert not EMAIL.search(json.dumps(d["evidence"]) + d["text"]), f"an email in {d}"
        if d["reason"] == "inactive":
            evidence = d["evidence"]
            start = date.fromisoformat(evidence["window_start"])
            assert evidence["window_days"] == 30 and abs((start - window_start).days) <= 1
            assert evidence["last_active"] is None or evidence["last_active"] <= evidence["window_start"], d
        if d["reason"] == "outside_target_regions":
            assert d["evidence"]["target_regions"] == ["EU"] and d["evidence"]["country"] not in {"DE", "FR", "NL", "ES"}
            assert d["text"].endswith("the goal targets EU")
    # The summary counts exactly the screening decisions that were named (nobody here is suppressed).
    assert result.summary.dropped == {r: n for r, n in by_reason.items() if r in SCREENING}
    kept = {p.username for p in result.prospects}
    assert not kept & {d["login"] for d in dropped}

    notes = [e["data"]["text"] for e in events if e["event"] == "agent.reasoning"]
    selection = [n for n in notes if "fit role 'maintainer'" in n][-1]
    fitting = int(selection.split()[0])
    assert by_reason["beyond_candidate_limit"] == fitting - 40 and "the strongest 40 are candidates" in selection
    ranking = next(n for n in notes if n.startswith("looked up "))
    looked, candidates, qualified = (
        int(x) for x in re.findall(r"looked up (\d+) of (\d+) candidates: (\d+) qualified", ranking)[0]
    )
    assert candidates == 40 and looked + by_reason["not_reached"] == candidates
    assert qualified + sum(result.summary.dropped.values()) == looked, "everyone looked up qualified or was screened out"


def test_drop_sentences_quote_the_goal_and_keep_profile_strings_in_the_evidence() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    audience = TargetAudience(activity_days=30, exclude_companies=["Google"], target_regions=["EU"], exclude_regions=["CN"])
    old = CommitInfo(repo="ada/nets", sha="1", date=now - timedelta(days=70))
    stale = drops.inactive(Activity(commits=[old]), now - timedelta(days=30), now - timedelta(days=90), audience)
    assert stale.text == (
        "last own work in repos that fit the goal seen on 2026-03-23 (in ada/nets), before the window that starts 2026-05-02 (30 days)"
    )
    assert stale.evidence["last_active"] == "2026-03-23" and stale.evidence["repo"] == "ada/nets"
    same_day = drops.inactive(Activity(commits=[old]), old.date + timedelta(hours=3), now - timedelta(days=90), audience)
    assert "seen on 2026-03-23 (in ada/nets), hours before the window that starts that day (30 days)" in same_day.text

    hostile = UserProfile(login="ada", id=1, company="@google \u202e<script>" + "x" * 200, location="\x1b[31mBeijing")
    company = drops.company(hostile, [], audience)
    assert company is not None and company.text == "the profile's company names Google, which the goal excludes"
    assert len(company.evidence["company"]) == drops.MAX_FIELD_CHARS and "\u202e" not in company.evidence["company"]
    by_org = drops.company(UserProfile(login="bo", id=2), ["google-deepmind"], audience)
    assert by_org is not None and by_org.evidence == {"rule": "exclude", "matched": ["Google"], "orgs": ["google-deepmind"]}
    only = drops.company(
        UserProfile(login="cy", id=3, company="Acme"), ["acme-oss"], TargetAudience(include_companies=["Stripe"])
    )
    assert only is not None and only.evidence["rule"] == "only" and "Stripe" in only.text
    assert drops.company(UserProfile(login="di", id=4, company="Acme"), [], audience) is None

    place = drops.outside_places("excluded_region", Place(country="CN", city="Beijing"), hostile.location, audience)
    assert place.text == "located in CN, which the goal excludes (CN)" and place.evidence["location"] == "[31mBeijing"
    unknown = drops.outside_places("outside_target_regions", Place(), None, audience)
    assert unknown.text == "no country could be read from the profile's location; the goal targets EU"
    assert drops.not_a_person("Organization").text == "an organization account, not a person"
    assert drops.not_a_person(None, found=False).evidence == {"found": False}


def test_the_live_view_counts_dropped_people_per_reason() -> None:
    view = LiveView(Console(file=io.StringIO(), width=120))
    for reason in ("inactive", "inactive", "excluded_company"):
        view({"event": "prospect.dropped", "agent": "enricher", "data": {"login": "x", "reason": reason}})
    assert view.dropped == Counter({"inactive": 2, "excluded_company": 1})
    console = Console(record=True, width=120)
    console.print(view._render())
    assert "dropped: inactive 2, excluded_company 1" in console.export_text()
