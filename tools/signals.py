"""Signals with evidence, computed from what the enricher fetched. Pure functions, no I/O.

Every signal names the repos, dates and counts it rests on, so a draft (or a reviewer) can cite
them and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from foundation.schemas import Evidence, Signal
from foundation.schemas.github import CommitInfo, EventInfo, RepoActivity, RepoContribution, RepoInfo
from foundation.vocabulary import load_vocabulary

POPULAR_STARS = 1000
RECENT_DAYS = 30


# Events that are a person's own work. Where activity binds to the subject only pushes count (the
# commits they carry; a pull request's commits are pushed too), in repos of the subject.
WORK_EVENTS = frozenset({"PushEvent", "PullRequestEvent", "CreateEvent"})


@dataclass
class Activity:
    """A person's observed activity, as the path that fetched it saw it: REST gives commits and
    public events, GraphQL gives per-repo contributions (`work`). Callers keep only what counts
    (in the subject's repos, unless the goal says anywhere) before building it."""

    commits: list[CommitInfo] = field(default_factory=list)
    events: list[EventInfo] = field(default_factory=list)
    work: list[RepoActivity] = field(default_factory=list)
    fetched_at: datetime | None = None  # when the last of it was fetched: its provenance (None: unknown)

    def dates(self) -> list[datetime]:
        pushes = [e.created_at for e in self.events if e.type in WORK_EVENTS]
        return [c.date for c in self.commits] + pushes + [w.last_at for w in self.work]

    def latest_commit_by_repo(self) -> dict[str, datetime]:
        latest: dict[str, datetime] = {}
        for repo, date in [(c.repo, c.date) for c in self.commits] + [
            (w.repo.full_name, w.last_at) for w in self.work if w.kind == "commit"
        ]:
            latest[repo] = max(latest.get(repo, date), date)
        return latest

    def last_active(self) -> datetime | None:
        return max(self.dates(), default=None)

    def count_since(self, since: datetime) -> int:
        """Commits and pushes since `since`; a GraphQL contribution counts its window's total when it is that recent."""
        return sum(
            1 for d in [c.date for c in self.commits] + [e.created_at for e in self.events if e.type in WORK_EVENTS] if d >= since
        ) + sum(w.count for w in self.work if w.last_at >= since)

    def latest_work(self) -> Evidence | None:
        """The newest piece of own work, as evidence naming its repo and date."""
        items = [Evidence(kind="last_commit", repo=c.repo, date=c.date, url=c.html_url or None) for c in self.commits]
        items += [Evidence(kind="last_push", repo=e.repo, date=e.created_at) for e in self.events if e.type in WORK_EVENTS]
        items += [
            Evidence(kind=f"last_{w.kind}", repo=w.repo.full_name, date=w.last_at, url=w.repo.html_url or None) for w in self.work
        ]
        return max(items, key=lambda e: e.date or datetime.min.replace(tzinfo=UTC), default=None)


def _slug(language: str) -> str:
    return {"C++": "cpp", "C#": "csharp"}.get(language, language.lower())


def compute_signals(
    contributions: list[RepoContribution],
    repos: dict[str, RepoInfo],
    activity: Activity,
    activity_days: int,
    now: datetime,
) -> list[Signal]:
    """All signals a person earns; each carries the evidence it came from."""
    signals: list[Signal] = []
    window = now - timedelta(days=activity_days)
    own = activity.latest_commit_by_repo()
    last = activity.last_active()
    active = last is not None and last >= window

    maintained = [c for c in contributions if c.is_maintainer]
    if maintained and active:
        signals.append(Signal(name="active_maintainer", evidence=[_rank_evidence(c, repos, own) for c in maintained]))

    by_language: dict[str, list[RepoContribution]] = {}
    for c in contributions:
        language = repos[c.repo].language
        if language:
            by_language.setdefault(language, []).append(c)
    for language, items in sorted(by_language.items()):
        total = sum(c.contributions for c in items)
        if total >= 50 or any(c.is_maintainer for c in items):
            signals.append(Signal(name=f"{_slug(language)}_expert", evidence=[_commit_evidence(c, repos, own) for c in items]))

    vocabulary = load_vocabulary()
    for domain, spec in vocabulary.domains.items():
        items = [c for c in contributions if domain in repos[c.repo].domains]
        if items:
            signals.append(Signal(name=spec.signal, evidence=[_commit_evidence(c, repos, own) for c in items]))

    latest = activity.latest_work()
    if active and latest is not None:
        signals.append(Signal(name="active_in_window", evidence=[latest]))

    recent_since = now - timedelta(days=RECENT_DAYS)
    recent = activity.count_since(recent_since)
    if recent:
        signals.append(
            Signal(name="recent_activity", evidence=[Evidence(kind="commits_and_pushes_30d", date=last, count=recent)])
        )

    popular = [c for c in maintained if repos[c.repo].stars >= POPULAR_STARS]
    if popular:
        signals.append(
            Signal(
                name="popular_project_owner",
                evidence=[
                    Evidence(kind="stars", repo=c.repo, count=repos[c.repo].stars, url=repos[c.repo].html_url) for c in popular
                ],
            )
        )
    return signals


def _rank_evidence(c: RepoContribution, repos: dict[str, RepoInfo], own: dict[str, datetime]) -> Evidence:
    """Standing in a repo; `date` is the person's latest commit there when we fetched it, else unknown."""
    kind = "repo_owner" if c.is_owner else f"contributor_rank_{c.rank}"
    return Evidence(kind=kind, repo=c.repo, count=c.contributions, date=own.get(c.repo), url=repos[c.repo].html_url)


def _commit_evidence(c: RepoContribution, repos: dict[str, RepoInfo], own: dict[str, datetime]) -> Evidence:
    """All-time commits (GitHub's contributors count); `date` as in `_rank_evidence`."""
    return Evidence(kind="commits", repo=c.repo, count=c.contributions, date=own.get(c.repo), url=repos[c.repo].html_url)
