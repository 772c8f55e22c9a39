"""Campaign Configuration, field for field as in SPEC.md, plus a few optional additions.

Additions (all optional, all in `target_audience`) carry what the goal parser understands but the
SPEC has no field for: `role`, `activity_scope`, `domains`, `keywords`, `include_companies`, `target_cities`, and
what a goal leaves out: subjects (`exclude_domains`, `exclude_keywords`: "not React") and places
(`exclude_regions`, `exclude_cities`: "anywhere but China"); `subject_repos` is the subject as the
researcher agent judged it, repo by repo. What a subject means is
`foundation.subjects.subject_fits`.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from foundation.limits import DEFAULT_MAX_PROSPECTS, MAX_PROSPECTS
from foundation.regions import PlaceRejection, place_rejection

Role = Literal["maintainer", "contributor", "any"]
ActivityScope = Literal["subject", "anywhere"]
ComplianceLevel = Literal["strict", "standard", "permissive"]
Channel = Literal["email", "linkedin", "github"]

# GitHub's rules: a login is letters, digits and inner hyphens (at most 39); a repo name adds `.` and `_`.
LOGIN_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$"
REPO_NAME_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9_.-]{1,100}$"
RepoName = Annotated[str, StringConstraints(pattern=REPO_NAME_PATTERN)]
MAX_FOLLOW_UPS = 5
MAX_FOLLOW_UP_DAY = 90
_STARS_RANGE = re.compile(r"^(\d+\.\.\d+|\d+\.\.\*|\*\.\.\d+|[<>]=?\d+|\d+)$")


class TargetAudience(BaseModel):
    """Who the campaign is for. `stars_range` uses GitHub's qualifier syntax (`100..5000`, `>=1000`)."""

    model_config = ConfigDict(extra="forbid")

    languages: list[str] = Field(default_factory=list, description="GitHub language names, e.g. Python, C++.")
    topics: list[str] = Field(default_factory=list, description="GitHub topics, e.g. machine-learning.")
    stars_range: str | None = Field(default=None, description="GitHub stars qualifier, e.g. 100..5000.")
    activity_days: int = Field(
        default=90, ge=1, le=3650, description="Active = own commits, pull requests or reviews in this window."
    )
    activity_scope: ActivityScope = Field(
        default="subject",
        description="Where activity counts: 'subject' = in repos matching the audience's languages and subject "
        "(the default); 'anywhere' = anywhere on GitHub (goals that say 'active on GitHub').",
    )
    min_contributions: int = Field(default=1, ge=0, description="Least commits to a matched repo.")
    exclude_companies: list[str] = Field(default_factory=list)
    target_regions: list[str] = Field(
        default_factory=list, description="ISO 3166 alpha-2 countries and region codes (EU, EUROPE, NA, APAC, LATAM, MEA)."
    )
    role: Role = Field(default="any", description="maintainer, contributor or any developer.")
    domains: list[str] = Field(
        default_factory=list,
        description="Subjects, any of which a repo may match: vocabulary domain keys, or keys joined by '+' when a "
        "repo must match all of them ('vue+ui_components'). A domain itself may require several parts "
        "(react_components = React AND a component-library signal).",
    )
    keywords: list[str] = Field(
        default_factory=list,
        description="Subject words outside the vocabulary ('webassembly', 'runtime'): a repo must name every one in "
        "its topics, name or description, on top of matching the domains.",
    )
    exclude_domains: list[str] = Field(
        default_factory=list, description="Subjects to leave out ('not React'), as in domains: a repo matching one never counts."
    )
    exclude_keywords: list[str] = Field(
        default_factory=list, description="Words a repo must not name in its topics, name or description ('no Electron')."
    )
    include_companies: list[str] = Field(default_factory=list)
    target_cities: list[str] = Field(default_factory=list)
    exclude_regions: list[str] = Field(
        default_factory=list,
        description="Countries and region codes to leave out, as in target_regions ('anywhere but China' -> CN).",
    )
    exclude_cities: list[str] = Field(
        default_factory=list, description="Cities to leave out ('not in Berlin'); every city of that name."
    )
    subject_repos: list[RepoName] = Field(
        default_factory=list,
        max_length=1000,
        description="The subject as repositories ('owner/name'), as the researcher agent judged them for a goal "
        "outside the vocabulary: when set, a repo is about the subject exactly when it is listed (its language "
        "must still fit; the exclusions still apply). Set by the run, not by the planner.",
    )

    @field_validator("keywords", "exclude_keywords")
    @classmethod
    def _words(cls, values: list[str]) -> list[str]:
        """Blank entries would match nothing (or everything): dropped."""
        return [value.strip() for value in values if value.strip()]

    @field_validator("stars_range")
    @classmethod
    def _stars_syntax(cls, value: str | None) -> str | None:
        if value is not None and not _STARS_RANGE.match(value):
            raise ValueError(f"stars_range {value!r} is not GitHub range syntax (e.g. 100..5000, >=1000)")
        return value

    def place_rejection(self, country: str | None, city: str | None) -> PlaceRejection | None:
        """Why someone in (`country`, `city`) is outside this audience's places; None when inside."""
        return place_rejection(
            country,
            city,
            target_regions=self.target_regions,
            target_cities=self.target_cities,
            exclude_regions=self.exclude_regions,
            exclude_cities=self.exclude_cities,
        )


def _email_only() -> list[Channel]:
    return ["email"]


class CampaignSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_prospects: int = Field(default=DEFAULT_MAX_PROSPECTS, ge=1, le=MAX_PROSPECTS)
    channels: list[Channel] = Field(default_factory=_email_only)
    frequency: str = "once"
    budget_per_prospect: float | None = Field(default=None, ge=0)
    ab_test_variants: int = Field(default=1, ge=1, le=10)
    compliance_level: ComplianceLevel = "strict"
    follow_up_days: list[Annotated[int, Field(ge=1, le=MAX_FOLLOW_UP_DAY)]] | None = Field(
        default=None,
        max_length=MAX_FOLLOW_UPS,
        description="Our addition: follow-up steps, as days after the first message (e.g. [3, 7]), each sent only "
        "that many days after the one before it minus that one's day, and never after a reply, bounce, unsubscribe "
        "or suppression. [] = no follow-ups; null = CMO_FOLLOW_UP_DAYS.",
    )

    @field_validator("follow_up_days")
    @classmethod
    def _increasing(cls, days: list[int] | None) -> list[int] | None:
        """Day 3 then day 7: a step's delay is the gap to the step before, which must be positive."""
        if days is not None and any(later <= earlier for earlier, later in pairwise(days)):
            raise ValueError(f"follow_up_days {days} must be strictly increasing (days after the first message)")
        return days


class MessageTemplate(BaseModel):
    """A messaging template. `body` is our addition; a built-in body is used when it is absent."""

    model_config = ConfigDict(extra="forbid")

    name: str
    subject: str
    personalization_fields: list[str] = Field(default_factory=list)
    tone: str = "technical"
    length: Literal["short", "medium", "long"] = "medium"
    body: str | None = None


class SenderProfile(BaseModel):
    """The sender. `email` and `postal_address` are our additions (CAN-SPAM needs the address)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    title: str | None = None
    company: str | None = None
    linkedin: str | None = None
    signature_template: str | None = None
    email: str | None = None
    postal_address: str | None = None


class Messaging(BaseModel):
    model_config = ConfigDict(extra="forbid")

    templates: list[MessageTemplate] = Field(default_factory=list)
    sender_profiles: list[SenderProfile] = Field(default_factory=list)
    unsubscribe_url: str | None = Field(default=None, description="Our addition: opt-out link base.")


# What a prospect can do that counts as a conversion: engagement types (api `EngagementType`) other
# than `unsubscribed`. Anything else was accepted and then silently ignored by analytics (issue 14).
ConversionGoal = Literal["opened", "clicked", "replied", "demo_booked", "trial_started", "contact_made"]
DEFAULT_CONVERSION_GOALS: tuple[ConversionGoal, ...] = ("demo_booked", "trial_started", "contact_made")


class Analytics(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversion_goals: list[ConversionGoal] = Field(
        default_factory=lambda: list(DEFAULT_CONVERSION_GOALS),
        description="Engagement types that count as a conversion in analytics (SPEC's three by default).",
    )
    attribution_model: str = "first_touch"
    reporting_schedule: str = "daily"
    custom_metrics: list[str] = Field(default_factory=list)


class Campaign(BaseModel):
    """SPEC.md's Campaign Configuration."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default="cmp_default", pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = "Untitled campaign"
    goal: str = ""
    target_audience: TargetAudience = Field(default_factory=TargetAudience)
    campaign_settings: CampaignSettings = Field(default_factory=CampaignSettings)
    messaging: Messaging = Field(default_factory=Messaging)
    analytics: Analytics = Field(default_factory=Analytics)
