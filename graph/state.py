"""The graph's typed state: goal -> plan -> repos/candidates -> prospects (with messages and reviews).

Values are pydantic models from `cmo.schemas` or below; fan-out branches (`Send`) write into the
reducer-backed keys, so parallel workers never overwrite each other.
"""

from __future__ import annotations

import operator
from datetime import datetime
from typing import Annotated, TypedDict

from pydantic import BaseModel, Field

from cmo.schemas import Campaign, Prospect, SearchPlan
from cmo.schemas.github import Candidate, RepoContribution, RepoInfo


class RunInfo(BaseModel):
    """Facts about this run that the artifacts and `cmo resume` need."""

    run_id: str
    out_dir: str | None = Field(default=None, description="Where the CLI writes the artifacts; None for a service job")
    started_at: datetime
    sandbox: bool
    llm: str = Field(description="'none' or the model name")
    prompt_version: str
    api_base: str = Field(description="GitHub API base URL, or sandbox:<seed>:<users>")
    tenant_id: str | None = Field(default=None, description="The service tenant of a job; None for a CLI run")


def merge_dicts(left: dict, right: dict) -> dict:
    """Reducer: union of two mappings, right wins."""
    return {**(left or {}), **(right or {})}


class State(TypedDict, total=False):
    run: RunInfo
    goal: str
    max_prospects: int | None
    campaign: Campaign
    plan: SearchPlan
    repos: Annotated[dict[str, RepoInfo], merge_dicts]
    contributions: Annotated[list[RepoContribution], operator.add]
    candidates: list[Candidate]
    wave: list[Candidate]
    dispatched: int
    enriched: Annotated[list[Prospect], operator.add]
    prospects: list[Prospect]
    links: Annotated[dict[int, list[int]], merge_dicts]
    dropped: Annotated[list[str], operator.add]
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
