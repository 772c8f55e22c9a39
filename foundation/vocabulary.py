"""Loader for `agents/data/vocabulary.yaml` (domains -> topics, language aliases, goal-parser words)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, Field

from foundation.schemas.campaign import Role


class Domain(BaseModel):
    label: str
    signal: str
    aliases: list[str]
    topics: list[str]
    description_phrases: list[str]


class CompanyTriggers(BaseModel):
    """Words after which company names are excluded or included (see the YAML's comments)."""

    exclude: list[str] = Field(default_factory=list)
    exclude_known_only: list[str] = Field(default_factory=list)
    include: list[str] = Field(default_factory=list)
    include_known_only: list[str] = Field(default_factory=list)


class GoalLexicon(BaseModel):
    """Words only the deterministic goal parser needs; optional so other readers can ignore them."""

    stop_words: list[str] = Field(default_factory=list)
    stop_phrases: list[str] = Field(default_factory=list)
    roles: dict[Role, list[str]] = Field(default_factory=dict)
    people_words: list[str] = Field(default_factory=list)
    software_terms: list[str] = Field(default_factory=list)
    software_hints: list[str] = Field(default_factory=list)
    private_data: list[str] = Field(default_factory=list)
    star_phrases: dict[str, str] = Field(default_factory=dict)
    activity_phrases: dict[str, int] = Field(default_factory=dict)
    time_units: dict[str, int] = Field(default_factory=dict)
    number_words: dict[str, int] = Field(default_factory=dict)
    ambiguous_languages: dict[str, list[list[str]]] = Field(default_factory=dict)
    language_followers: list[str] = Field(default_factory=list)
    language_prepositions: list[str] = Field(default_factory=list)
    company_triggers: CompanyTriggers = Field(default_factory=CompanyTriggers)
    company_followers: list[str] = Field(default_factory=list)
    place_exclusion_triggers: list[str] = Field(default_factory=list)


class Vocabulary(BaseModel):
    version: int
    domains: dict[str, Domain]
    languages: dict[str, list[str]]
    goal_parser: GoalLexicon = Field(default_factory=GoalLexicon)

    def domain_matches(self, domain: str, topics: list[str], description: str | None) -> bool:
        """The README's definition: topics intersect, or (no topics) the description mentions it."""
        spec = self.domains[domain]
        if topics:
            return bool(set(topics) & set(spec.topics))
        text = (description or "").lower()
        return any(phrase in text for phrase in spec.description_phrases)

    def domains_of(self, topics: list[str], description: str | None) -> list[str]:
        return [name for name in self.domains if self.domain_matches(name, topics, description)]


@lru_cache(maxsize=1)
def load_vocabulary() -> Vocabulary:
    raw: dict[str, Any] = yaml.safe_load(resources.files("agents").joinpath("data/vocabulary.yaml").read_text(encoding="utf-8"))
    return Vocabulary.model_validate(raw)
