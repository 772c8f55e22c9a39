"""GitHubClient and the researcher over real HTTP against the sandbox: pages, caps, limits, faults."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.researcher import search_all
from foundation.schemas import SearchQuery
from sandbox import SandboxServer, generate_world
from tools.etag_cache import SQLiteETagCache
from tools.github import GitHubClient
from tools.github_transport import BudgetExhausted, RateBudget, RateLimitExhausted


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(generate_world(seed=7, users=1500)) as srv:
        yield srv


def _client(
    server: SandboxServer, tmp_path: Path, *, max_requests: int = 1000, max_search: int = 1000, max_wait: float = 5.0
) -> GitHubClient:
    return GitHubClient(
        server.url,
        None,
        RateBudget(max_requests=max_requests, max_search_requests=max_search),
        SQLiteETagCache(tmp_path / "etags.sqlite"),
        "sandbox:test",
        max_wait=max_wait,
        concurrency=4,
    )


def test_search_pages_through_results(server: SandboxServer, tmp_path: Path) -> None:
    client = _client(server, tmp_path)
    total, repos = client.search_repositories("language:Python", "stars", "desc", 250)
    assert total > 250 and len(repos) == 250
    assert len({r.full_name for r in repos}) == 250
    assert [r.stars for r in repos] == sorted((r.stars for r in repos), reverse=True)
    assert client.budget.counted == 3  # three pages of 100


def test_query_over_the_1000_cap_is_split_by_stars(server: SandboxServer, tmp_path: Path) -> None:
    client = _client(server, tmp_path, max_requests=500)
    total, _ = client.search_repositories("archived:false", "stars", "desc", 1)
    assert total > 1000, "the world must be wider than one capped query"
    repos = search_all(client, SearchQuery(q="archived:false", max_results=total))
    assert len({r.full_name for r in repos}) == total


def test_etag_revalidation_is_free(server: SandboxServer, tmp_path: Path) -> None:
    client = _client(server, tmp_path)
    first = client.contributors(client.search_repositories("language:Go", "stars", "desc", 1)[1][0])
    counted = client.budget.counted
    again = client.contributors(client.search_repositories("language:Go", "stars", "desc", 1)[1][0])
    assert again == first
    assert client.budget.counted == counted
    assert client.budget.not_modified == 2


def test_budget_stops_the_client(server: SandboxServer, tmp_path: Path) -> None:
    client = _client(server, tmp_path, max_search=2)  # searches spend the search budget (test_budget_buckets.py)
    client.search_repositories("language:Rust", "stars", "desc", 1)
    client.search_repositories("language:Go", "stars", "desc", 1)
    with pytest.raises(BudgetExhausted):
        client.search_repositories("language:Java", "stars", "desc", 1)


def test_exhausted_rate_limit_far_from_reset_stops_cleanly(server: SandboxServer, tmp_path: Path) -> None:
    server.set_rate_limit("core", remaining=1, reset_in=3600)
    client = _client(server, tmp_path, max_wait=2)
    repo = client.search_repositories("language:Go", "stars", "desc", 1)[1][0]
    client.contributors(repo)
    with pytest.raises(RateLimitExhausted, match="reset in"):
        client.user(repo.owner)


def test_exhausted_rate_limit_near_reset_waits_and_continues(server: SandboxServer, tmp_path: Path) -> None:
    server.set_rate_limit("core", remaining=0, reset_in=1.0)
    client = _client(server, tmp_path, max_wait=5)
    started = time.monotonic()
    assert client.user(client.search_repositories("language:Go", "stars", "desc", 1)[1][0].owner).login
    assert time.monotonic() - started >= 0.5


def test_injected_502s_are_retried(server: SandboxServer, tmp_path: Path) -> None:
    client = _client(server, tmp_path)
    server.inject_fault("/search/repositories", 502, times=2)
    _, repos = client.search_repositories("language:Go", "stars", "desc", 5)
    assert len(repos) == 5
    assert client.budget.retries == 2


def test_secondary_rate_limit_honours_retry_after(server: SandboxServer, tmp_path: Path) -> None:
    client = _client(server, tmp_path)
    server.inject_fault(
        "/search/repositories",
        403,
        times=1,
        headers={"Retry-After": "1"},
        body={"message": "You have exceeded a secondary rate limit", "documentation_url": "https://docs.github.com"},
    )
    started = time.monotonic()
    assert client.search_repositories("language:Go", "stars", "desc", 1)[1]
    assert time.monotonic() - started >= 1.0
    assert client.budget.retries == 1


def test_secondary_rate_limit_longer_than_allowed_stops(server: SandboxServer, tmp_path: Path) -> None:
    client = _client(server, tmp_path, max_wait=1)
    server.inject_fault("/search/repositories", 429, times=1, headers={"Retry-After": "120"})
    with pytest.raises(RateLimitExhausted):
        client.search_repositories("language:Go", "stars", "desc", 1)


def test_empty_repository_has_no_contributors(server: SandboxServer, tmp_path: Path) -> None:
    client = _client(server, tmp_path)
    world = generate_world(seed=7, users=1500)
    empty = next(r for r in world.repos.values() if not r.contributors)
    from foundation.schemas.github import RepoInfo

    assert client.contributors(RepoInfo(full_name=empty.full_name, owner=empty.owner)) == []


def test_a_foreign_validator_never_yields_an_empty_304(server: SandboxServer, tmp_path: Path) -> None:
    """A conditional request the cache cannot answer is sent unconditionally (a 200 with its body)."""
    import requests

    client = _client(server, tmp_path)
    url = f"{server.url}/users/{client.search_repositories('language:Go', 'stars', 'desc', 1)[1][0].owner}"
    etag = requests.get(url, timeout=5).headers["ETag"]
    session = requests.Session()
    session.mount("http://", client.transport)
    answer = session.get(url, headers={"If-None-Match": etag}, timeout=5)
    assert answer.status_code == 200 and answer.json()["login"]
