"""The planner's output: the audience, the GitHub searches that find it, and what it ignored; and
`lead_count`, the one rule for how many leads a run keeps."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from foundation.limits import DEFAULT_MAX_PROSPECTS
from foundation.schemas.campaign import Campaign, TargetAudience

MAX_LOOKALIKE_SEEDS = 20
LOOKALIKE_POOL = 3


class SearchQuery(BaseModel):
    """One GitHub repository search (`q` with qualifiers, GitHub syntax)."""

    q: str = Field(max_length=256)
    sort: Literal["stars", "updated", "forks", "best-match"] = "stars"
    order: Literal["desc", "asc"] = "desc"
    max_results: int = Field(default=100, ge=1, le=100_000, description="Above 1,000 the researcher splits the query.")
    purpose: str = ""


class SearchPlan(BaseModel):
    audience: TargetAudience
    max_prospects: int = Field(default=DEFAULT_MAX_PROSPECTS, ge=1, description="How many leads the run keeps (`lead_count`).")
    queries: list[SearchQuery] = Field(default_factory=list)
    ignored_terms: list[str] = Field(default_factory=list, description="Words of the goal not understood.")
    notes: list[str] = Field(default_factory=list)
    refusal: str | None = Field(default=None, description="Why the goal cannot be run (e.g. not about developers).")
    planned_by: Literal["llm", "rules"] = "rules"
    lookalike_of: list[str] = Field(
        default_factory=list,
        max_length=MAX_LOOKALIKE_SEEDS,
        description="Seed GitHub logins of a lookalike goal ('developers like @alice', `--like`, the API's "
        "`lookalike_of`): the run finds people similar to them instead of searching a subject; the seeds are never leads.",
    )
    open_ended: bool = Field(
        default=False,
        description="The subject is outside the vocabulary: no domain or topic matched, only unknown words "
        "(keywords or ignored words). With a model, the researcher agent explores such goals (CMO_RESEARCH=auto).",
    )

    @property
    def qualified_wanted(self) -> int:
        """How many people should qualify before the search stops: the leads kept, or for a lookalike
        run `LOOKALIKE_POOL` times as many, since the leads are the closest of them to the seeds."""
        return self.max_prospects * (LOOKALIKE_POOL if self.lookalike_of else 1)


class SeedProfile(BaseModel):
    """What the lookalike run learned of its seed people: the mean direction of their profile vectors
    and the signals a result may share with them."""

    logins: list[str] = Field(description="Seeds found on GitHub as people (never leads themselves).")
    skipped: list[str] = Field(default_factory=list, description="Seeds left out: unknown, not a person, or suppressed.")
    vector: list[float] = Field(default_factory=list, description="Unit-length mean of the seeds' profile vectors.")
    topics: list[str] = Field(default_factory=list, description="Their repos' topics, most common first.")
    languages: list[str] = Field(default_factory=list, description="Their repos' languages, most common first.")
    repos: list[str] = Field(default_factory=list, description="Repos they own or pushed to lately.")


def lead_count(requested: int | None, goal: int | None, campaign: Campaign | None = None) -> int:
    """How many leads a run keeps. The planner decides it with this rule, and everything that tells
    the user beforehand (the `job.created` webhook's `prospect_count`, the chat's "top N") asks it too,
    so what they announce is what the run does.

    The first of: `requested`, the number given with the run itself (`cmo run --max-prospects`, the
    API's `max_prospects`, a chat refinement such as "top 20"); `goal`, the number the goal names
    ("find 30 ...", "top 200", as the goal parser or the planner's model read it); the campaign's
    `campaign_settings.max_prospects` when the campaign sets it (its default does not count); else
    `DEFAULT_MAX_PROSPECTS`. The goal outranks the campaign: a campaign is a reusable file, the goal
    is what was asked of this run. None means "not said"; every source already holds counts to 1..MAX_PROSPECTS.
    """
    settings = campaign.campaign_settings if campaign is not None else None
    configured = settings.max_prospects if settings is not None and "max_prospects" in settings.model_fields_set else None
    return next((n for n in (requested, goal, configured) if n is not None), DEFAULT_MAX_PROSPECTS)
