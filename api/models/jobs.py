"""Request and response bodies of `/api/jobs`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, UrlConstraints, field_validator

from api.core.orm import JobStatus
from foundation.limits import MAX_PROSPECTS
from foundation.schemas import Campaign
from foundation.schemas.plan import MAX_LOOKALIKE_SEEDS
from foundation.schemas.run import RunSummary
from foundation.seeds import parse_seeds

MAX_GOAL_CHARS = 2000

Goal = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_GOAL_CHARS)]
WebhookUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2048)]


class JobCreate(BaseModel):
    """What a client submits: the goal in plain words, optionally a full Campaign Configuration."""

    model_config = ConfigDict(extra="forbid")

    goal: Goal = Field(description="Who you are looking for, e.g. 'Find Python maintainers active in ML'.")
    campaign: Campaign | None = Field(default=None, description="SPEC's Campaign Configuration.")
    max_prospects: int | None = Field(default=None, ge=1, le=MAX_PROSPECTS)
    webhook_url: WebhookUrl | None = Field(
        default=None, description="Receives job.created, prospect.enriched and campaign.completed."
    )
    metadata: dict[str, Any] = Field(default_factory=dict, description="Opaque to the service; returned as given.")
    lookalike_of: list[str] | None = Field(
        default=None,
        max_length=MAX_LOOKALIKE_SEEDS,
        description="GitHub logins (at most 20): find developers like them; they are never leads themselves. "
        "The job's goal names them ('... like @alice, @bob'), as a goal typed that way would.",
        examples=[["alice", "bob", "carol"]],
    )

    @field_validator("lookalike_of")
    @classmethod
    def _logins(cls, value: list[str] | None) -> list[str] | None:
        return parse_seeds(value) if value is not None else None


class Job(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(examples=["cmo_3f9a1c0e5b7d2a4c6e8f"])
    status: JobStatus
    goal: str
    campaign: Campaign | None
    max_prospects: int | None
    webhook_url: str | None
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    counts: dict[str, Any]
    error: str | None
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobPage(BaseModel):
    """One page, newest first; pass `next_cursor` back as `?cursor=` for the next (null at the end)."""

    items: list[Job]
    next_cursor: str | None


class JobSummary(BaseModel):
    """`summary` (SPEC's campaign.completed data plus run facts) once the job finished; `counts` move while it runs."""

    job_id: str
    status: JobStatus
    counts: dict[str, Any]
    summary: RunSummary | None
