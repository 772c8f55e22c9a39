"""GitHub's rate-limit buckets over real HTTP against the sandbox: each request is counted in its own
bucket, each bucket has its own per-job budget and its own waits, and running dry names the bucket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import SandboxServer, generate_world
from tools.etag_cache import SQLiteETagCache
from tools.github import GitHubClient
from tools.github_transport import BudgetExhausted, RateBudget, RateLimitExhausted, bucket_of


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(generate_world(seed=7, users=1500), search_limit=30) as srv:
        yield srv


def _client(server: SandboxServer, tmp_path: Path, budget: RateBudget, *, max_wait: float = 0.0) -> GitHubClient:
    cache = SQLiteETagCache(tmp_path / "etags.sqlite")
    return GitHubClient(server.url, None, budget, cache, "sandbox:buckets", max_wait=max_wait, concurrency=2)


def test_requests_are_counted_in_their_own_bucket(server: SandboxServer, tmp_path: Path) -> None:
    client = _client(server, tmp_path, RateBudget(max_requests=100))
    repo = client.search_repositories("language:Go", "stars", "desc", 1)[1][0]
    client.contributors(repo)
    client.user(repo.owner)
    client.contributors(repo)  # revalidated: a 304 in core, free
    report = client.budget.report()
    assert (report.search.requests, report.search.saved_by_cache, report.search.remaining) == (1, 0, 29)
    assert (report.core.requests, report.core.saved_by_cache) == (2, 1)
    assert report.core.remaining == 4998, "as GitHub last reported it"
    assert (report.graphql.requests, report.graphql.remaining) == (0, None)
    assert report.budget_units == 3 == client.budget.counted


def test_the_bucket_is_read_from_the_path_on_github_and_ghes() -> None:
    assert bucket_of("/search/repositories") == "search"
    assert bucket_of("/api/v3/search/users") == "search"
    assert bucket_of("/repos/acme/search/contributors") == "core", "a repo named search is core"
    assert bucket_of("/users/octocat") == "core"
    assert bucket_of("/graphql") == bucket_of("/api/graphql") == "graphql"


def test_spent_search_rate_limit_stops_search_only(server: SandboxServer, tmp_path: Path) -> None:
    client = _client(server, tmp_path, RateBudget(max_requests=100))
    repo = client.search_repositories("language:Go", "stars", "desc", 1)[1][0]
    server.set_rate_limit("search", remaining=0, reset_in=60)
    with pytest.raises(RateLimitExhausted, match="GitHub search rate limit") as stop:
        client.search_repositories("language:Rust", "stars", "desc", 1)
    assert stop.value.bucket == "search" and not stop.value.stops_core
    assert client.contributors(repo), "core still has budget and is not held back"
    with pytest.raises(RateLimitExhausted, match="search"):  # known spent: refused before it is sent
        client.search_repositories("language:Java", "stars", "desc", 1)
    assert client.budget.report().search.requests == 2


def test_spent_core_rate_limit_leaves_search_going(server: SandboxServer, tmp_path: Path) -> None:
    client = _client(server, tmp_path, RateBudget(max_requests=100))
    server.set_rate_limit("core", remaining=0, reset_in=3600)
    with pytest.raises(RateLimitExhausted, match="GitHub core rate limit") as stop:
        client.user("someone")
    assert stop.value.bucket == "core" and stop.value.stops_core
    assert client.search_repositories("language:Go", "stars", "desc", 1)[1]


def test_each_bucket_has_its_own_job_budget(server: SandboxServer, tmp_path: Path) -> None:
    client = _client(server, tmp_path, RateBudget(max_requests=2, max_search_requests=1))
    repo = client.search_repositories("language:Go", "stars", "desc", 1)[1][0]
    with pytest.raises(BudgetExhausted, match="search request budget \\(1\\)") as stop:
        client.search_repositories("language:Rust", "stars", "desc", 1)
    assert stop.value.bucket == "search"
    client.contributors(repo)
    client.user(repo.owner)
    with pytest.raises(BudgetExhausted, match="core request budget \\(2\\)"):
        client.orgs(repo.owner)
    report = client.budget.report()
    assert (report.core.requests, report.search.requests, report.budget_units) == (2, 1, 3)
