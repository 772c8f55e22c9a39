"""Engagement events (what prospects did with our outreach) and the analytics computed from them.

Definitions shared by every analytics answer:
- contactable: prospects whose draft compliance approved;
- contacted: contactable prospects plus any prospect with a recorded engagement (a reply proves
  contact even when the draft went out after a human review);
- a conversion: a prospect with at least one event of the job's conversion goals (the campaign's
  `analytics.conversion_goals` when the client set them, else demo_booked, trial_started and
  contact_made); conversion_rate = conversions / contacted (null when nobody was contacted).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from api.core.orm import EngagementType, JobStatus

Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class EngagementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job_id: Identifier = Field(description="The job (campaign run) the prospect was found by.")
    prospect_id: Identifier = Field(examples=["gh_octocat"])
    type: EngagementType
    occurred_at: AwareDatetime | None = Field(default=None, description="Defaults to the time of recording.")


class Engagement(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    job_id: str
    prospect_id: str
    type: EngagementType
    occurred_at: datetime


class Funnel(BaseModel):
    prospects_found: int = 0
    contactable: int = 0
    contacted: int = 0
    engagement: dict[str, int] = Field(default_factory=dict, description="Distinct prospects per event type.")
    conversions: int = 0
    conversion_rate: float | None = None
    by_goal: dict[str, int] = Field(default_factory=dict, description="Converted prospects per conversion goal.")
    sent: int = Field(default=0, description="Messages sent from the service (`POST /api/jobs/{id}/send`), bounces included.")
    bounced: int = Field(default=0, description="Of those, hard bounces (at send time or reported later).")
    complained: int = Field(default=0, description="Of those, spam complaints reported.")
    replied: int = Field(default=0, description="Of those, messages answered.")


class CampaignStats(Funnel):
    """One job: SPEC's campaign.completed numbers, with real engagement behind them."""

    job_id: str
    campaign_id: str | None
    campaign_name: str | None
    goal: str
    status: JobStatus
    created_at: datetime
    conversion_goals: list[str]


class CampaignAnalytics(BaseModel):
    items: list[CampaignStats]


class ConversionAnalytics(Funnel):
    """Every job of the tenant added up (a prospect converted in two jobs counts twice)."""

    jobs: int


class ProspectStats(BaseModel):
    job_id: str
    prospect_id: str
    username: str | None
    score: float
    verdict: str | None
    events: dict[str, int]
    last_event_at: datetime | None


class ProspectAnalytics(BaseModel):
    total: int
    by_verdict: dict[str, int]
    average_score: float | None
    engaged: int = Field(description="Prospects with at least one engagement event.")
    top: list[ProspectStats] = Field(description="Highest-scored prospects with their engagement.")
