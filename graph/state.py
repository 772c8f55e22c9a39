"""The graph's typed state: goal -> plan -> repos/candidates -> prospects (with messages and reviews).

Values are pydantic models from `cmo.schemas` or below; fan-out branches (`Send`) write into the
reducer-backed keys, so parallel workers never overwrite each other.
"""

from __future__ import annotations

import operator
from datetime import datetime
from typing import Annotated, Literal, TypedDict

from pydantic import BaseModel, Field

from cmo.schemas import Campaign, Prospect, SearchPlan


class RunInfo(BaseModel):
    """Facts about this run that the artifacts and `cmo resume` need."""

    run_id: str
    out_dir: str
    started_at: datetime
    sandbox: bool
    llm: str = Field(description="'none' or the model name")
    prompt_version: str
    api_base: str


class RepoInfo(BaseModel):
    full_name: str
    owner: str
    owner_type: Literal["User", "Organization"] = "User"
    language: str | None = None
    topics: list[str] = Field(default_factory=list)
    description: str | None = None
    stars: int = 0
    fork: bool = False
    archived: bool = False
    pushed_at: datetime | None = None
    html_url: str = ""
    domains: list[str] = Field(default_factory=list)


class RepoContribution(BaseModel):
    """One person's standing in one matched repo (from `/repos/{o}/{r}/contributors`)."""

    login: str
    github_id: int
    account_type: str = "User"
    repo: str
    contributions: int
    rank: int = Field(description="1 = most commits")
    share: float = Field(description="fraction of the repo's listed contributions")
    is_owner: bool = False

    @property
    def is_maintainer(self) -> bool:
        """README definition: owner, or top 3 contributor, or >= 10% of contributions."""
        return self.is_owner or self.rank <= 3 or self.share >= 0.10


class Candidate(BaseModel):
    login: str
    github_id: int
    account_type: str = "User"
    contributions: list[RepoContribution] = Field(default_factory=list)


def merge_dicts(left: dict, right: dict) -> dict:
    """Reducer: union of two mappings, right wins."""
    return {**(left or {}), **(right or {})}


class State(TypedDict, total=False):
    run: RunInfo
    goal: str
    campaign: Campaign
    plan: SearchPlan
    repos: Annotated[dict[str, RepoInfo], merge_dicts]
    contributions: Annotated[list[RepoContribution], operator.add]
    candidates: list[Candidate]
    enriched: Annotated[list[Prospect], operator.add]
    prospects: list[Prospect]
    stop_reasons: Annotated[list[str], operator.add]
    summary: dict


class RepoTask(TypedDict):
    """Input of one `researcher_repo` fan-out branch."""

    repo: RepoInfo


class CandidateTask(TypedDict):
    """Input of one `enricher` fan-out branch."""

    candidate: Candidate
    repos: dict[str, RepoInfo]
    campaign: Campaign
