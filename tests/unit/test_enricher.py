from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

from agents.enricher import REPOS_PER_PERSON, _pushed_since, enrich_rest
from agents.planner import make_plan
from foundation.schemas import Campaign
from foundation.schemas.github import Candidate, CommitInfo, EventInfo, RepoContribution, RepoInfo, UserProfile
from tools.github import GitHubClient
from tools.github_transport import RateBudget
from tools.suppression import SuppressionList

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


# ---- company families, from the planner's reading of a goal to the enricher's decision -------------
NOW = datetime(2026, 11, 20, tzinfo=UTC)
REPO = RepoInfo(full_name="acme/lib", owner="acme", language="Python", pushed_at=NOW - timedelta(days=2))
# login -> (profile company field, public org memberships)
PEOPLE: dict[str, tuple[str | None, list[str]]] = {
    "meta-ai": ("Meta AI", []),
    "fair": ("FAIR", []),
    "insta": ("Software Engineer at Instagram", []),
    "fb-research-member": (None, ["facebookresearch"]),
    "ex-meta": ("ex-Meta, Initech", []),
    "metabase": ("Metabase", []),
    "gdm": ("Google DeepMind", []),
    "gdm-member": (None, ["google-deepmind"]),
    "youtube": ("@youtube", []),
    "waymo": ("Waymo LLC", []),
    "xoogler": ("Xoogler", []),
    "ex-google": ("Former Googler, now at Acme", []),
    "gde": ("Google Developer Expert", []),
    "plain-google": ("Google", []),
    "independent": (None, []),
}


class _FixtureGitHub:
    """The GitHub calls `_enrich` makes, answered from `PEOPLE`; everyone pushed yesterday."""

    def __init__(self) -> None:
        self.budget = RateBudget(max_requests=10_000)

    def user(self, login: str) -> UserProfile:
        return UserProfile(login=login, id=1 + sorted(PEOPLE).index(login), company=PEOPLE[login][0], location="Berlin, Germany")

    def orgs(self, login: str) -> list[str]:
        return PEOPLE[login][1]

    def public_events(self, login: str) -> list[EventInfo]:
        return [EventInfo(type="PushEvent", repo=REPO.full_name, created_at=NOW - timedelta(days=1))]

    def commits(self, repo: str, author: str, since: datetime) -> list[CommitInfo]:
        return []

    def owned_repos(self, login: str) -> list[RepoInfo]:
        return []


def _kept(goal: str) -> set[str]:
    """Who survives the enricher for the audience the planner reads from `goal`."""
    _, campaign = make_plan(goal, Campaign(), None, today=NOW.date())
    client = cast(GitHubClient, _FixtureGitHub())
    kept = set()
    for login in PEOPLE:
        standing = RepoContribution(login=login, github_id=1, repo=REPO.full_name, contributions=5, rank=2, share=0.2)
        candidate = Candidate(login=login, github_id=1, contributions=[standing])
        result = enrich_rest(candidate, {REPO.full_name: REPO}, campaign, client, NOW, 365, SuppressionList.empty())
        if result.get("enriched"):
            kept.add(login)
        else:
            assert result["dropped"] == ["excluded_company"], (login, result)
    return kept


META = {"meta-ai", "fair", "insta", "fb-research-member"}
GOOGLE = {"gdm", "gdm-member", "youtube", "waymo", "plain-google"}


def test_excluding_meta_drops_meta_ai_fair_and_instagram_but_not_former_staff_or_lookalikes() -> None:
    assert _kept("Python developers excluding Meta") == set(PEOPLE) - META


def test_excluding_google_drops_google_deepmind_youtube_and_waymo_but_not_xooglers() -> None:
    assert _kept("Python developers, excluding Google") == set(PEOPLE) - GOOGLE


def test_only_people_at_google_keeps_the_whole_family_and_nobody_else() -> None:
    assert _kept("Python developers at Google") == GOOGLE


def test_excluding_a_division_leaves_the_parent_alone() -> None:
    assert _kept("Python developers excluding Google DeepMind") == set(PEOPLE) - {"gdm", "gdm-member"}
