"""Loader for `agents/data/vocabulary.yaml` (domains -> topics, language aliases)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel


class Domain(BaseModel):
    label: str
    signal: str
    aliases: list[str]
    topics: list[str]
    description_phrases: list[str]


class Vocabulary(BaseModel):
    version: int
    domains: dict[str, Domain]
    languages: dict[str, list[str]]

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
    raw: dict[str, Any] = yaml.safe_load(
        resources.files("agents").joinpath("data/vocabulary.yaml").read_text(encoding="utf-8")
    )
    return Vocabulary.model_validate(raw)
