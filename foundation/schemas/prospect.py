"""Prospect Profile: SPEC.md's fields exactly, plus evidence, scoring, message and compliance.

SPEC's `signals` is a list of names (webhook `prospect.enriched`); ours are objects that carry the
evidence each signal came from, and `Prospect.signal_names()` gives the SPEC form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CommitFrequency = Literal["daily", "weekly", "monthly", "rarely", "inactive"]
Verdict = Literal["approved", "rejected", "needs_review"]
PERSON_REVIEW = "person_review"  # the reason code a person's decision adds to a review in the leads files


class Evidence(BaseModel):
    """One observed fact behind a signal: what kind, where, when, how many, and a link."""

    kind: str = Field(description="e.g. commits, push_event, contributor_rank, repo_owner, stars, profile")
    repo: str | None = None
    date: datetime | None = None
    count: int | None = None
    url: str | None = None


class Signal(BaseModel):
    name: str = Field(description="e.g. active_maintainer, python_expert, ml_contributor")
    evidence: list[Evidence] = Field(default_factory=list)


class DeveloperProfile(BaseModel):
    languages: list[str] = Field(default_factory=list)
    repositories: list[str] = Field(default_factory=list)
    contribution_score: int = Field(default=0, ge=0, le=100)
    activity_score: int = Field(default=0, ge=0, le=100)
    expertise_areas: list[str] = Field(default_factory=list)
    commit_frequency: CommitFrequency = "inactive"
    last_active: datetime | None = None


class EngagementEvent(BaseModel):
    campaign_id: str
    channel: str
    timestamp: datetime
    response: str
    score: float | None = None


class PrivacySettings(BaseModel):
    email_visible: bool = False
    contact_allowed: bool = True
    data_retention_days: int = Field(default=365, ge=1)


class Provenance(BaseModel):
    """Where a field's value came from (the API endpoint) and when it was fetched."""

    source: str
    fetched_at: datetime


class Fact(BaseModel):
    """A fact a draft states, and the evidence it traces to (`source` names a signal or profile field)."""

    name: str = Field(description="e.g. recent_project, company, tech_stack")
    value: str
    source: str = Field(description="e.g. signal:ml_contributor, profile.company, repo:owner/name")


class Message(BaseModel):
    subject: str
    body: str
    variant: str = "A"
    template: str | None = None
    facts_used: list[Fact] = Field(default_factory=list)
    written_by: Literal["llm", "template", "person"] = Field(
        default="template", description="llm or template (the copywriter), person (edited in review: `PUT .../draft`)."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Mail headers to send it with, e.g. List-Unsubscribe (RFC 8058)."
    )


class ComplianceReview(BaseModel):
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)
    lawful_basis: str | None = None
    rules_checked: list[str] = Field(default_factory=list)

    @property
    def approved_by_person(self) -> bool:
        """A person approved this draft (the web app or API review: `api.services.leads.as_decided`)."""
        return self.verdict == "approved" and any(reason.startswith(f"{PERSON_REVIEW}: approved") for reason in self.reasons)


class FollowUp(BaseModel):
    """A follow-up step of the prospect's sequence: its own draft and its own review. Step 1 is
    `Prospect.message`; step N (2, 3, ...) goes out `delay_days` after step N-1 was sent (`day` is the
    campaign's day after the first message), and never once the person replied, bounced,
    unsubscribed or was suppressed (`tools.mail.dispatch`)."""

    step: int = Field(ge=2)
    day: int = Field(ge=1, description="Days after the first message, as the campaign configured it.")
    delay_days: int = Field(ge=1, description="Days after the previous step was sent.")
    message: Message
    compliance: ComplianceReview | None = None


class Prospect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^gh_.+", description="gh_<login>")
    platform: Literal["github"] = "github"
    username: str
    name: str | None = None
    email: str | None = None
    company: str | None = None
    location: str | None = None
    bio: str | None = None
    website: str | None = None
    social_links: dict[str, str] = Field(default_factory=dict)
    developer_profile: DeveloperProfile = Field(default_factory=DeveloperProfile)
    engagement_history: list[EngagementEvent] = Field(default_factory=list)
    privacy_settings: PrivacySettings = Field(default_factory=PrivacySettings)

    github_id: int | None = None
    account_type: Literal["User", "Organization", "Bot"] = "User"
    merged_logins: list[str] = Field(default_factory=list, description="Other accounts merged into this one.")
    score: float = Field(default=0.0, ge=0.0, le=1.0)
    score_explanation: str = ""
    signals: list[Signal] = Field(default_factory=list)
    email_source: Literal["profile", "commit"] | None = None
    country: str | None = Field(default=None, description="ISO 3166 alpha-2")
    region: str | None = Field(default=None, description="EU, EUROPE, NA, LATAM, APAC, MEA")
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    message: Message | None = None
    compliance: ComplianceReview | None = None
    follow_ups: list[FollowUp] = Field(default_factory=list, description="Steps 2, 3, ... of the sequence, in order.")

    def signal_names(self) -> list[str]:
        """SPEC's `signals` string list."""
        return [signal.name for signal in self.signals]
