"""Scores and the one-line explanation of a lead's rank. Pure functions, no I/O.

score = 0.35·contribution + 0.35·activity + 0.15·maintainer + 0.15·popularity (each 0–1), so a
lead ranks high for doing a lot, recently, on projects people use — and the explanation says which.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Protocol

from foundation.schemas import Prospect
from foundation.schemas.github import RepoContribution, RepoInfo
from foundation.schemas.prospect import CommitFrequency
from tools.identity import merge_duplicates
from tools.signals import Activity


def contribution_score(contributions: list[RepoContribution]) -> int:
    """0–100: log-scaled commits to matched repos, plus 10 per maintained repo (capped)."""
    total = sum(c.contributions for c in contributions)
    maintained = sum(1 for c in contributions if c.is_maintainer)
    return min(100, round(12 * math.log2(1 + total)) + 10 * maintained)


def activity_score(activity: Activity, now: datetime) -> int:
    """0–100: activity in the last 90 days, weighted towards the last 30."""
    last_90 = activity.count_since(now - timedelta(days=90))
    last_30 = activity.count_since(now - timedelta(days=30))
    return min(100, round(15 * math.log2(1 + last_90) + 10 * math.log2(1 + last_30)))


def commit_frequency(activity: Activity, now: datetime) -> CommitFrequency:
    """From activity over the last 90 days: ≥60 daily, ≥12 weekly, ≥3 monthly, ≥1 rarely."""
    n = activity.count_since(now - timedelta(days=90))
    if n >= 60:
        return "daily"
    if n >= 12:
        return "weekly"
    if n >= 3:
        return "monthly"
    return "rarely" if n else "inactive"


def overall_score(contributions: list[RepoContribution], repos: dict[str, RepoInfo], contribution: int, activity: int) -> float:
    maintainer = 1.0 if any(c.is_maintainer for c in contributions) else 0.0
    stars = max((repos[c.repo].stars for c in contributions), default=0)
    popularity = min(1.0, math.log10(1 + stars) / 4)
    score = 0.35 * contribution / 100 + 0.35 * activity / 100 + 0.15 * maintainer + 0.15 * popularity
    return round(min(1.0, score), 3)


def explain(contributions: list[RepoContribution], repos: dict[str, RepoInfo], activity: Activity, now: datetime) -> str:
    """One line: the strongest repo, the person's standing there, and recent activity."""
    best = max(contributions, key=lambda c: (c.is_maintainer, c.contributions))
    role = "owner" if best.is_owner else f"#{best.rank} contributor"
    recent = activity.count_since(now - timedelta(days=90))
    stars = repos[best.repo].stars
    more = f" (+{len(contributions) - 1} more repos)" if len(contributions) > 1 else ""
    return f"{role} of {best.repo} ({best.contributions} commits, {stars}★){more}; {recent} commits/pushes in 90 days"


class Ranked(Protocol):
    """Anything ranked like a lead (a Prospect, a row of the service's lead list)."""

    @property
    def score(self) -> float: ...

    @property
    def username(self) -> str: ...


def rank_key(lead: Ranked) -> tuple[float, str]:
    """Best first: by score, then login, so equal scores keep one order."""
    return -lead.score, lead.username


def rank_prospects(prospects: Iterable[Prospect], linked_ids: Mapping[int, Iterable[int]]) -> list[Prospect]:
    """Every person once (their accounts merged, `tools.identity.merge_duplicates`), best first
    (`rank_key`). A run's leads are the head of this list, both when the graph ranks (the enricher's
    `rank` node) and for a job stopped before it did."""
    return sorted(merge_duplicates(prospects, linked_ids), key=rank_key)
