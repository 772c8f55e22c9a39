"""Versioned evaluation datasets (`evals/datasets/<suite>.yaml`) and their typed examples.

Each file carries `version`, a `changelog` (one line per version) and `examples`; the runner
records the versions it used, so two runs on different dataset versions are never compared blindly.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from foundation.schemas import Campaign, Prospect, TargetAudience

Suite = Literal["planner", "planner_fresh", "leads", "researcher_agent", "semantic", "messages", "compliance", "do_not_contact"]
SUITES: tuple[Suite, ...] = (
    "planner",
    "planner_fresh",
    "leads",
    "researcher_agent",
    "semantic",
    "messages",
    "compliance",
    "do_not_contact",
)


class PlannerExpectation(BaseModel):
    """Expected audience fields; a field left out is not scored. `refuse` expects a refusal."""

    model_config = ConfigDict(extra="forbid")

    languages: list[str] | None = None
    domains: list[str] | None = None
    keywords: list[str] | None = None
    exclude_domains: list[str] | None = None
    exclude_keywords: list[str] | None = None
    stars_range: str | None = None
    activity_days: int | None = None
    activity_scope: Literal["subject", "anywhere"] | None = None
    role: Literal["maintainer", "contributor", "any"] | None = None
    target_regions: list[str] | None = None
    target_cities: list[str] | None = None
    exclude_regions: list[str] | None = None
    exclude_cities: list[str] | None = None
    exclude_companies: list[str] | None = None
    include_companies: list[str] | None = None
    max_prospects: int | None = None
    refuse: bool = False


class PlannerExample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    goal: str
    expect: PlannerExpectation
    tags: list[str] = Field(default_factory=list, description="e.g. typo, abbreviation, mixed, refusal")


class LeadsExample(BaseModel):
    """An end-to-end goal over a sandbox world; the truth is the sandbox oracle over `audience`."""

    model_config = ConfigDict(extra="forbid")

    id: str
    goal: str
    seed: int
    users: int
    audience: TargetAudience
    max_prospects: int = 200
    k: int = Field(default=10, description="precision@k cut-off")


class ReferencePolicy(BaseModel):
    """How the committed session was recorded: the scripted reference policy's searches, in order,
    and the words (all of them) that make a repo relevant to it (tests/support/research_policy.py)."""

    model_config = ConfigDict(extra="forbid")

    searches: list[str] = Field(min_length=1)
    words: list[str] = Field(min_length=1)
    language: str | None = None


class ResearcherAgentExample(BaseModel):
    """An open-ended goal the researcher agent researches on a pinned sandbox world (seed, users,
    anchor day: the tool results, and so the recorded requests, never change). The truth is the
    world's repos that fit `audience` (`sandbox.truth.matched_repos`)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    goal: str
    seed: int
    users: int
    anchor: date
    audience: TargetAudience
    max_steps: int = Field(default=12, ge=1, le=50)
    budget: int = Field(default=60, ge=1, description="GitHub units")
    reference: ReferencePolicy


class SemanticExample(BaseModel):
    """A whole run on a sandbox world with personas: an open-ended goal scored by the relevance of the
    repos the researcher kept (`subject`: `sandbox.subject_repos`), or a lookalike goal whose seeds are
    the first `seeds` members of `persona` owning a live repo, scored by the leads sharing it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: Literal["relevance", "lookalike"]
    seed: int = 7
    users: int = 1500
    goal: str = Field(default="", description="relevance: the goal; lookalike: text before the seeds")
    subject: str | None = None
    persona: str | None = None
    seeds: int = Field(default=3, ge=1, le=20)
    k: int = Field(default=50, description="precision@k cut-off")
    min_score: float = Field(description="the example passes at or above this precision@k")


class MessageExpectation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    must_mention_recent_project: bool = True
    max_words: int = 220
    banned_phrases: list[str] = Field(default_factory=list, description="in addition to the global spam list")


class MessagesExample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    prospect: Prospect
    campaign: Campaign = Field(default_factory=Campaign)
    expect: MessageExpectation = Field(default_factory=MessageExpectation)


class ComplianceExample(BaseModel):
    """A prospect (with its draft in `prospect.message`) and the verdict the reviewer must reach."""

    model_config = ConfigDict(extra="forbid")

    id: str
    prospect: Prospect
    campaign: Campaign = Field(default_factory=Campaign)
    settings: dict[str, Any] = Field(default_factory=dict, description="Settings overrides, e.g. postal address")
    suppressed: list[dict[str, str]] = Field(default_factory=list, description="rows kind,value of a suppression list")
    expect_verdict: Literal["approved", "rejected", "needs_review"]
    expect_reasons: list[str] = Field(default_factory=list, description="reason codes that must appear")
    tags: list[str] = Field(default_factory=list)


class DoNotContactExample(BaseModel):
    """A GitHub bio and whether a careful human reads it as "do not contact me"."""

    model_config = ConfigDict(extra="forbid")

    id: str
    lang: Literal["en", "de", "fr", "es", "pt"]
    bio: str
    opt_out: bool
    split: Literal["tune", "holdout"] = Field(description="tune the rules on `tune`; `holdout` measures them")
    tags: list[str] = Field(default_factory=list, description="what is refused, or what kind of near-miss")


EXAMPLE_TYPES: dict[str, type[BaseModel]] = {
    "planner": PlannerExample,
    "planner_fresh": PlannerExample,
    "leads": LeadsExample,
    "researcher_agent": ResearcherAgentExample,
    "semantic": SemanticExample,
    "messages": MessagesExample,
    "compliance": ComplianceExample,
    "do_not_contact": DoNotContactExample,
}


class Dataset(BaseModel):
    suite: str
    version: str
    changelog: list[str]
    examples: list[Any]


@cache
def load_dataset(suite: Suite) -> Dataset:
    """Parse and validate `evals/datasets/<suite>.yaml` (a bad file fails loudly, naming the example)."""
    raw = yaml.safe_load(resources.files("evals").joinpath("datasets", f"{suite}.yaml").read_text(encoding="utf-8"))
    model = EXAMPLE_TYPES[suite]
    examples = []
    for index, item in enumerate(raw["examples"]):
        try:
            examples.append(model.model_validate(item))
        except ValueError as exc:
            raise ValueError(f"evals/datasets/{suite}.yaml example #{index} ({item.get('id', '?')}): {exc}") from exc
    return Dataset(suite=suite, version=str(raw["version"]), changelog=list(raw["changelog"]), examples=examples)
