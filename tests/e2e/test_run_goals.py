"""End to end on the sandbox: every built-in goal through the whole graph, scored against truth."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evals.metrics import lead_set_scores
from foundation.settings import Settings
from graph.runner import run_job
from sandbox import generate_world, open_sandbox
from sandbox.goals import BUILTIN_GOALS
from sandbox.tables import DNC_PHRASES
from sandbox.truth import identity_groups, truth
from tools.identity import is_noreply

pytestmark = pytest.mark.slow


def _settings(home: Path) -> Settings:
    return Settings(
        cmo_home=home,
        cmo_sender_postal_address="TechFlow, 1 Main St, Springfield, USA",
        cmo_unsubscribe_url="https://techflow.dev/unsubscribe",
    )


@pytest.mark.parametrize("name", sorted(BUILTIN_GOALS))
def test_builtin_goal_meets_precision_and_recall(name: str, tmp_path: Path, block_internet: None) -> None:
    goal = BUILTIN_GOALS[name]
    settings = _settings(tmp_path / "home")
    result = run_job(goal.goal, settings, sandbox=open_sandbox, out_dir=tmp_path / "out", max_prospects=200)
    assert result.summary.status == "complete", result.summary

    world = generate_world(seed=settings.sandbox_seed, users=settings.sandbox_users)
    expected = truth(world, goal.audience, datetime.now(UTC))
    predicted = [p.username for p in result.prospects]
    scores = lead_set_scores(predicted, expected, identity_groups(world))
    assert scores["precision"] >= 0.9, scores
    assert scores["recall"] >= 0.9, scores

    leads = json.loads((tmp_path / "out" / "leads_full.json").read_text())
    for lead in leads:
        person = world.account(lead["username"])
        assert person.type == "User", f"{lead['username']} is a {person.type}"
        if lead["email"]:
            assert lead["email"] in world.emails_of(lead["username"]), f"invented email {lead['email']}"
    with (tmp_path / "out" / "leads_contactable.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows, "some leads must be contactable with a postal address and opt-out configured"
    assert all(row["email"] and not is_noreply(row["email"]) for row in rows)
    for row in rows:  # the sandbox writes its opt-outs from DNC_PHRASES
        bio = world.account(row["username"]).bio or ""
        assert not any(phrase in bio for phrase in DNC_PHRASES), f"{row['username']} asked not to be contacted: {bio!r}"
    assert {p.username for p in result.prospects if p.compliance and p.compliance.verdict == "approved"} == {
        row["username"] for row in rows
    }
    for name_ in ("leads_full.json", "leads_contactable.csv", "summary.json", "trace.jsonl"):
        assert (tmp_path / "out" / name_).is_file()


def test_second_identical_run_is_mostly_served_by_the_etag_cache(tmp_path: Path) -> None:
    # One world for both runs, even if they straddle midnight.
    settings = _settings(tmp_path / "home").model_copy(update={"sandbox_anchor": datetime.now(UTC).date()})
    goal = BUILTIN_GOALS["python-ml"].goal
    before = datetime.now(UTC)
    first = run_job(goal, settings, sandbox=open_sandbox, out_dir=tmp_path / "one")
    after = datetime.now(UTC)
    second = run_job(goal, settings, sandbox=open_sandbox, out_dir=tmp_path / "two")
    assert second.summary.api_requests <= 0.2 * first.summary.api_requests, (first.summary, second.summary)
    assert first.summary.budget is not None and second.summary.budget is not None
    assert second.summary.budget.budget_units <= 0.1 * first.summary.budget.budget_units, "GraphQL answers are reused too"
    assert second.summary.api_requests_saved_by_cache > 0
    assert [p.id for p in first.prospects] == [p.id for p in second.prospects]
    # Provenance says when each fact was fetched, not when the run began (it flows into the GDPR
    # export): a GraphQL answer reused from the cache is as old as the first run's fetch.
    fetched = [{f: v.fetched_at for f, v in p.provenance.items()} for p in first.prospects]
    assert all(before < at < after for facts in fetched for at in facts.values())
    assert [{f: v.fetched_at for f, v in p.provenance.items()} for p in second.prospects] == fetched
