"""The graph's typed state: goal -> plan -> repos/candidates -> prospects (with messages and reviews).

Values are pydantic models from `foundation.schemas` or below; fan-out branches (`Send`) write into the
reducer-backed keys, so parallel workers never overwrite each other.
"""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from foundation.schemas import Campaign, Prospect, SearchPlan
from foundation.schemas.github import Candidate, RepoContribution, RepoInfo
from foundation.schemas.plan import SeedProfile
from foundation.schemas.run import LLMUsage, ResearchReport, RunInfo, RunSummary


def merge_dicts(left: dict, right: dict) -> dict:
    """Reducer: union of two mappings, right wins."""
    return {**(left or {}), **(right or {})}


def add_counts(left: dict[str, int], right: dict[str, int]) -> dict[str, int]:
    """Reducer: per-key sums."""
    total = dict(left or {})
    for key, n in (right or {}).items():
        total[key] = total.get(key, 0) + n
    return total


def later_usage(left: LLMUsage | None, right: LLMUsage | None) -> LLMUsage | None:
    """Reducer: the later of two snapshots of the run's model totals. Parallel tasks may both write
    one; every count only grows, so the snapshot that counted more is the later one."""
    if left is None or right is None:
        return right or left

    def seen(usage: LLMUsage) -> int:
        return usage.requests + usage.refused + sum(usage.failures.values()) + sum(f.count for f in usage.fallbacks)

    return right if seen(right) >= seen(left) else left


class State(TypedDict, total=False):
    run: RunInfo
    goal: str
    max_prospects: int | None
    # Seed logins given with the run (`cmo run --like`, the API's `lookalike_of`, chat "more like #3").
    lookalike_of: list[str]
    # The lookalike run's seed profile (`agents/lookalike.py`), read again when the results are ranked.
    seed_profile: SeedProfile
    campaign: Campaign
    plan: SearchPlan
    repos: Annotated[dict[str, RepoInfo], merge_dicts]
    # Matched repos in the order they are mined (`agents.mining`), how many are mined or being mined,
    # and the slice of the round under way (None between rounds).
    repo_order: list[str]
    mined: int
    mining: list[int] | None
    contributions: Annotated[list[RepoContribution], operator.add]
    candidates: list[Candidate]
    # People who fit but were past the candidate limit, already named in a `prospect.dropped` event.
    passed_over: Annotated[list[str], operator.add]
    wave: list[Candidate]
    dispatched: int
    enriched: Annotated[list[Prospect], operator.add]
    prospects: list[Prospect]
    links: Annotated[dict[int, list[int]], merge_dicts]
    # The own repos (non-fork, most recently pushed) that GraphQL enrichment returned per login, in a
    # lookalike run: its ranking reads them instead of asking GitHub again, one request a person.
    owned_repos: Annotated[dict[str, list[RepoInfo]], merge_dicts]
    dropped: Annotated[list[str], operator.add]
    stop_reasons: Annotated[list[str], operator.add]
    # True once GitHub takes no more core requests (every step after the searches needs them); a spent
    # search bucket alone leaves it False, so the repos already found are still researched.
    core_stopped: Annotated[bool, operator.or_]
    # Why GraphQL cannot serve this run (empty: it can); once set, every later wave is enriched over REST.
    graphql_off: Annotated[list[str], operator.add]
    # People sent to each enrichment path ("graphql", "rest"), for the summary.
    enriched_via: Annotated[dict[str, int], add_counts]
    # The gate's totals (agents/model_calls.py) as of the last task that changed them: a resumed run's gate starts from them.
    llm_usage: Annotated[LLMUsage | None, later_usage]
    # What the researcher agent did (absent when the rules researched).
    research: ResearchReport
    summary: RunSummary


class RepoTask(TypedDict):
    """Input of one `researcher_repo` fan-out branch."""

    repo: RepoInfo


class BatchTask(TypedDict):
    """Input of one `enricher_batch` fan-out branch (the GraphQL path)."""

    candidates: list[Candidate]
    repos: dict[str, RepoInfo]
    campaign: Campaign
    keep_owned: bool  # a lookalike run: the people's own repos go to `owned_repos` for the ranking


class CandidateTask(TypedDict):
    """Input of one `enricher` fan-out branch."""

    candidate: Candidate
    repos: dict[str, RepoInfo]
    campaign: Campaign
