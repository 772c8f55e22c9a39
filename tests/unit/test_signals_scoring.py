from __future__ import annotations

from datetime import UTC, datetime, timedelta

from foundation.schemas.github import CommitInfo, EventInfo, RepoContribution, RepoInfo
from tools.scoring import activity_score, commit_frequency, contribution_score, explain, overall_score
from tools.signals import Activity, compute_signals

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def _repo(name: str, stars: int = 2500, language: str = "Python", domains: tuple[str, ...] = ("machine_learning",)) -> RepoInfo:
    return RepoInfo(
        full_name=name,
        owner=name.split("/")[0],
        language=language,
        stars=stars,
        domains=list(domains),
        pushed_at=NOW - timedelta(days=2),
        html_url=f"https://github.com/{name}",
    )


def _contrib(repo: str, rank: int, commits: int, share: float, owner: bool = False) -> RepoContribution:
    return RepoContribution(login="alice", github_id=1, repo=repo, contributions=commits, rank=rank, share=share, is_owner=owner)


def _activity(days_ago: list[int]) -> Activity:
    return Activity(
        commits=[CommitInfo(repo="alice/fastgrad", sha=str(i), date=NOW - timedelta(days=d)) for i, d in enumerate(days_ago)],
        events=[EventInfo(type="PushEvent", repo="alice/fastgrad", created_at=NOW - timedelta(days=1))],
    )


def test_maintainer_definition() -> None:
    assert _contrib("a/b", rank=1, commits=5, share=0.01, owner=True).is_maintainer
    assert _contrib("a/b", rank=3, commits=5, share=0.01).is_maintainer
    assert _contrib("a/b", rank=9, commits=50, share=0.10).is_maintainer
    assert not _contrib("a/b", rank=4, commits=5, share=0.09).is_maintainer


def test_signals_carry_evidence() -> None:
    repos = {"alice/fastgrad": _repo("alice/fastgrad")}
    signals = {
        s.name: s for s in compute_signals([_contrib("alice/fastgrad", 1, 300, 0.6, True)], repos, _activity([1, 5, 40]), 90, NOW)
    }
    assert {"active_maintainer", "python_expert", "ml_contributor", "recent_activity", "popular_project_owner"} <= set(signals)
    owner = signals["active_maintainer"].evidence[0]
    assert (owner.kind, owner.repo, owner.count) == ("repo_owner", "alice/fastgrad", 300)
    assert owner.date == NOW - timedelta(days=1), "the person's own latest commit, not the repo's last push"
    assert signals["popular_project_owner"].evidence[0].count == 2500
    assert signals["recent_activity"].evidence[0].count == 3  # two commits and one push in 30 days


def test_inactive_maintainer_is_not_an_active_maintainer() -> None:
    repos = {"alice/fastgrad": _repo("alice/fastgrad", stars=10)}
    old = Activity(commits=[CommitInfo(repo="alice/fastgrad", sha="1", date=NOW - timedelta(days=200))])
    signals = compute_signals([_contrib("alice/fastgrad", 1, 30, 0.6)], repos, old, 90, NOW)
    names = {s.name for s in signals}
    assert all(e.date in (None, NOW - timedelta(days=200)) for s in signals for e in s.evidence)
    assert "active_maintainer" not in names and "recent_activity" not in names and "popular_project_owner" not in names


def test_scores_are_bounded_and_monotonic() -> None:
    small = [_contrib("a/b", 10, 2, 0.01)]
    big = [_contrib("a/b", 1, 900, 0.7, True)]
    assert 0 <= contribution_score(small) < contribution_score(big) <= 100
    assert activity_score(_activity([]), NOW) < activity_score(_activity(list(range(60))), NOW) <= 100
    repos = {"a/b": _repo("a/b")}
    assert 0.0 <= overall_score(small, repos, 10, 10) < overall_score(big, repos, 90, 90) <= 1.0


def test_commit_frequency_buckets() -> None:
    assert commit_frequency(Activity(), NOW) == "inactive"
    assert commit_frequency(_activity([200]), NOW) == "rarely"  # only the push event counts
    assert commit_frequency(_activity([1, 2, 3]), NOW) == "monthly"
    assert commit_frequency(_activity(list(range(15))), NOW) == "weekly"
    assert commit_frequency(_activity(list(range(70))), NOW) == "daily"


def test_explanation_names_the_strongest_repo() -> None:
    repos = {"alice/fastgrad": _repo("alice/fastgrad"), "x/y": _repo("x/y", stars=3)}
    line = explain([_contrib("x/y", 7, 3, 0.01), _contrib("alice/fastgrad", 1, 300, 0.6, True)], repos, _activity([1]), NOW)
    assert line.startswith("owner of alice/fastgrad (300 commits, 2500★) (+1 more repos)")
