"""Typed results of the GitHub tools: what the researcher and enricher pass along the graph."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


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
    """A person found through one or more matched repos, before enrichment."""

    login: str
    github_id: int
    account_type: str = "User"
    contributions: list[RepoContribution] = Field(default_factory=list)


class UserProfile(BaseModel):
    login: str
    id: int
    type: Literal["User", "Organization", "Bot"] = "User"
    name: str | None = None
    company: str | None = None
    blog: str | None = None
    location: str | None = None
    email: str | None = None
    bio: str | None = None
    twitter_username: str | None = None
    followers: int = 0
    public_repos: int = 0
    created_at: datetime | None = None
    html_url: str = ""
    # When GitHub answered (or, for an ETag-cached answer, confirmed with a 304 that it is current):
    # the provenance of every fact read from this profile. None: unknown (fixtures).
    fetched_at: datetime | None = None


class CommitInfo(BaseModel):
    repo: str
    sha: str
    date: datetime
    author_login: str | None = None
    author_email: str | None = None
    html_url: str = ""


class EventInfo(BaseModel):
    type: str
    repo: str
    created_at: datetime


class RepoActivity(BaseModel):
    """A person's own work of one kind in one repo within the asked window (GraphQL's
    `contributionsCollection`): the repo's facts, when they last did it and how often."""

    repo: RepoInfo
    kind: Literal["commit", "pull_request", "review"]
    last_at: datetime
    count: int = Field(description="Contributions in the window (commit days, pull requests, reviews).")


class PersonFacts(BaseModel):
    """What one batched GraphQL query tells about one person: profile, orgs, own work in the window
    and their most recently pushed own repos."""

    profile: UserProfile
    node_id: str
    orgs: list[str] = Field(default_factory=list)
    activity: list[RepoActivity] = Field(default_factory=list)
    owned: list[RepoInfo] = Field(default_factory=list)
