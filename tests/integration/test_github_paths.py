"""The two enrichment paths over real HTTP against the sandbox: GraphQL batches and REST per person
find the same leads on the same world, GraphQL for a fraction of the budget; when GraphQL cannot
serve (no endpoint, no token, its budget spent) the run enriches over REST and says why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from foundation.schemas import TargetAudience
from foundation.settings import Settings
from graph.runner import JobResult, run_job
from sandbox import BUILTIN_GOALS, SandboxServer, World, generate_world, identity_groups, truth

# Enough leads that nobody who qualifies is cut by rank, so both paths must return exactly the truth they see.
EVERYONE = 500


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=11, users=1500)


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[SandboxServer]:
    with SandboxServer(world, search_limit=10_000) as srv:  # many runs share it: not a test of search waits
        yield srv


def _run(url: str, home: Path, goal: str, token: str | None = "t0ken", **options: Any) -> JobResult:
    settings = Settings(cmo_home=home, github_api_url=url, github_token=token, **options)
    return run_job(goal, settings, out_dir=home / "out", max_prospects=EVERYONE)


def _leads(result: JobResult) -> dict[str, tuple[str | None, str | None]]:
    """Each lead's published email and country. Commit emails are left out: GraphQL reads every
    qualified person's latest commits, REST only when events did not already show activity."""
    return {p.id: (p.email if p.email_source == "profile" else None, p.country) for p in result.prospects}


def _same_or_more(graphql: JobResult, rest: JobResult, world: World, audience: TargetAudience | None = None) -> None:
    """GraphQL finds everyone REST finds, with the same facts. It may find more, all of them true: it
    sees work in every repo of the subject, where REST sees 30 days of events, the matched repos and
    the person's own."""
    found, baseline = _leads(graphql), _leads(rest)
    assert set(baseline) <= set(found), "nobody REST finds is lost"
    assert {k: found[k] for k in baseline} == baseline, "same published emails, same places"
    if audience is not None:
        true = truth(world, audience, datetime.now(UTC))
        accounts = true | {login for group in identity_groups(world) if group & true for login in group}
        assert {lead.removeprefix("gh_") for lead in set(found) - set(baseline)} <= accounts, "what only GraphQL finds is true"


@pytest.mark.parametrize("name", sorted(BUILTIN_GOALS))
def test_graphql_and_rest_find_the_same_leads(world: World, server: SandboxServer, tmp_path: Path, name: str) -> None:
    goal = BUILTIN_GOALS[name].goal
    graphql = _run(server.url, tmp_path / "graphql", goal)
    rest = _run(server.url, tmp_path / "rest", goal, github_graphql=False)
    assert graphql.summary.status == rest.summary.status == "complete"
    assert graphql.prospects, "the goal finds someone in this world"
    _same_or_more(graphql, rest, world, BUILTIN_GOALS[name].audience)
    on_graphql, on_rest = graphql.summary.enrichment, rest.summary.enrichment
    assert on_graphql is not None and on_rest is not None
    assert on_graphql.graphql > 0 and on_graphql.rest == 0 and on_graphql.graphql_off is None
    assert on_rest.graphql == 0 and on_rest.rest > 0 and on_rest.graphql_off == "GITHUB_GRAPHQL=false"
    assert graphql.summary.budget is not None and rest.summary.budget is not None
    assert graphql.summary.budget.graphql.requests > 0, "points are counted"
    assert graphql.summary.budget.budget_units < rest.summary.budget.budget_units
    for lead in graphql.prospects:
        latest = next(s for s in lead.signals if s.name == "active_in_window").evidence[0]
        assert latest.repo and latest.date, "activity evidence names the repo and the date"


def test_a_server_without_graphql_is_enriched_over_rest(world: World, server: SandboxServer, tmp_path: Path) -> None:
    goal = BUILTIN_GOALS["python-ml"].goal
    with SandboxServer(world, graphql=False, search_limit=10_000) as plain:
        result = _run(plain.url, tmp_path / "plain", goal)
    reference = _run(server.url, tmp_path / "reference", goal)
    paths = result.summary.enrichment
    assert paths is not None and paths.rest > 0 and paths.graphql_off is not None and "404" in paths.graphql_off
    assert result.summary.status == "complete"
    _same_or_more(reference, result, world)


def test_without_a_token_the_run_uses_rest_and_says_why(server: SandboxServer, tmp_path: Path) -> None:
    result = _run(server.url, tmp_path / "anonymous", BUILTIN_GOALS["python-ml"].goal, token=None)
    paths = result.summary.enrichment
    assert paths is not None and paths.graphql == 0 and paths.rest > 0
    assert paths.graphql_off is not None and "needs a token" in paths.graphql_off


def test_a_spent_graphql_budget_hands_the_rest_of_the_run_to_rest(world: World, server: SandboxServer, tmp_path: Path) -> None:
    goal = BUILTIN_GOALS["python-ml"].goal
    result = _run(server.url, tmp_path / "spent", goal, github_max_graphql_points=1)
    reference = _run(server.url, tmp_path / "reference", goal)
    paths = result.summary.enrichment
    assert paths is not None and paths.graphql_off is not None and "GraphQL budget (1 points) is spent" in paths.graphql_off
    trace = (tmp_path / "spent" / "out" / "trace.jsonl").read_text().splitlines()
    rest_calls = {json.loads(line)["data"]["tool"] for line in trace if '"tool.called"' in line} & {
        "repo_commits",
        "user_profile",
    }
    assert rest_calls, "REST took over what GraphQL could no longer read"
    assert result.summary.status == "complete"
    _same_or_more(reference, result, world)
