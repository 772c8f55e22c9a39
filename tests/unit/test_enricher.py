from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agents.enricher import REPOS_PER_PERSON, _pushed_since
from foundation.schemas.github import Candidate, RepoContribution, RepoInfo

SINCE = datetime(2026, 1, 1, tzinfo=UTC)


def _candidate(names: list[str]) -> Candidate:
    contributions = [
        RepoContribution(login="alice", github_id=1, repo=name, contributions=3, rank=1, share=1.0) for name in names
    ]
    return Candidate(login="alice", github_id=1, contributions=contributions)


def test_pushed_since_is_newest_first_and_drops_stale_repos() -> None:
    pushed = {"a/old": SINCE - timedelta(days=1), "a/new": SINCE + timedelta(days=9), "a/mid": SINCE + timedelta(days=3)}
    repos = {name: RepoInfo(full_name=name, owner="a", pushed_at=at) for name, at in pushed.items()}
    assert _pushed_since(_candidate(list(pushed)), repos, SINCE) == ["a/new", "a/mid"]


def test_an_empty_repo_without_pushed_at_sorts_last_instead_of_failing() -> None:
    """GitHub sends `pushed_at: null` for an empty repo; sorting it beside real dates raised TypeError."""
    pushed = {"a/empty": None, "a/new": SINCE + timedelta(days=9), "a/mid": SINCE + timedelta(days=3)}
    repos = {name: RepoInfo(full_name=name, owner="a", pushed_at=at) for name, at in pushed.items()}
    assert _pushed_since(_candidate(list(pushed)), repos, SINCE) == ["a/new", "a/mid", "a/empty"][:REPOS_PER_PERSON]
