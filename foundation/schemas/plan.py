"""The planner's output: the audience, the GitHub searches that find it, and what it ignored."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from foundation.schemas.campaign import TargetAudience


class SearchQuery(BaseModel):
    """One GitHub repository search (`q` with qualifiers, GitHub syntax)."""

    q: str = Field(max_length=256)
    sort: Literal["stars", "updated", "forks", "best-match"] = "stars"
    order: Literal["desc", "asc"] = "desc"
    max_results: int = Field(default=100, ge=1, le=100_000, description="Above 1,000 the researcher splits the query.")
    purpose: str = ""


class SearchPlan(BaseModel):
    audience: TargetAudience
    max_prospects: int = Field(default=50, ge=1)
    queries: list[SearchQuery] = Field(default_factory=list)
    ignored_terms: list[str] = Field(default_factory=list, description="Words of the goal not understood.")
    notes: list[str] = Field(default_factory=list)
    refusal: str | None = Field(default=None, description="Why the goal cannot be run (e.g. not about developers).")
    planned_by: Literal["llm", "rules"] = "rules"
