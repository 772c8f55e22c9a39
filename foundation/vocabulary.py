"""Loader for `agents/data/vocabulary.yaml` (domains -> required parts, language aliases, goal-parser words).

A domain is a conjunction: every one of its parts must hold for a repo to count ("React component
libraries" = React AND a component-library signal). A part is an any-of: one of its GitHub topics,
one of its description phrases, or one of its member domains ("mobile" = any of its own topics or
Android, iOS, Flutter, React Native). A part may also be written as the name of another domain,
which then stands for all of that domain's parts. The loader resolves this once into flat parts
(`Facet`s), and every reader — the goal parser, the planner's searches, `foundation.subjects`
(researcher and sandbox truth alike) — uses those.

A subject in an audience is a domain key or several joined by "+" ("vue+ui_components": every part
of both); `Vocabulary.subject` turns the domains a goal names into the narrowest such key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from foundation.schemas.campaign import Role
from foundation.text import subject_words

COMPOUND = "+"
_REMEMBERED_SUBJECTS = 4096  # subjects come from goals and campaign files: bounded, whatever they hold


class Part(BaseModel):
    """Any of: a GitHub topic, a description phrase, or a member domain (one part, e.g. `android`)."""

    model_config = ConfigDict(extra="forbid")

    topics: list[str] = Field(default_factory=list)
    phrases: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Facet:
    """One resolved part: the topics and description phrases any of which meets it."""

    topics: tuple[str, ...]
    phrases: tuple[str, ...]

    @cached_property
    def topic_set(self) -> frozenset[str]:
        return frozenset(self.topics)

    @cached_property
    def _phrase_words(self) -> tuple[str, ...]:
        return tuple(subject_words(phrase) for phrase in self.phrases)

    def mentioned_in(self, words: str) -> bool:
        """Whether `words` (from `subject_words`) contain one of the phrases as whole words."""
        return any(phrase in words for phrase in self._phrase_words)


class Domain(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    signal: str
    aliases: list[str] = Field(default_factory=list)
    requires: list[Part | str] = Field(min_length=1, description="parts, all required; a string names a domain")
    _facets: tuple[Facet, ...] = PrivateAttr(default=())

    @property
    def facets(self) -> tuple[Facet, ...]:
        return self._facets

    @property
    def topics(self) -> list[str]:
        """Every topic of every part, in order (what a repo of this domain may be tagged with)."""
        return list(dict.fromkeys(t for facet in self._facets for t in facet.topics))

    @property
    def description_phrases(self) -> list[str]:
        return list(dict.fromkeys(p for facet in self._facets for p in facet.phrases))


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
    activity_anywhere: list[str] = Field(default_factory=list)
    activity_anywhere_after: list[str] = Field(default_factory=list)
    time_units: dict[str, int] = Field(default_factory=dict)
    number_words: dict[str, int] = Field(default_factory=dict)
    ambiguous_languages: dict[str, list[list[str]]] = Field(default_factory=dict)
    language_followers: list[str] = Field(default_factory=list)
    language_prepositions: list[str] = Field(default_factory=list)
    company_triggers: CompanyTriggers = Field(default_factory=CompanyTriggers)
    company_followers: list[str] = Field(default_factory=list)
    place_exclusion_triggers: list[str] = Field(default_factory=list)
    place_only_triggers: list[str] = Field(default_factory=list)
    subject_triggers: list[str] = Field(default_factory=list)
    example_markers: list[str] = Field(default_factory=list)
    not_subjects: list[str] = Field(default_factory=list)
    subject_prepositions: list[str] = Field(default_factory=list)


class Vocabulary(BaseModel):
    version: int
    domains: dict[str, Domain]
    languages: dict[str, list[str]]
    goal_parser: GoalLexicon = Field(default_factory=GoalLexicon)
    _broader: dict[str, frozenset[str]] = PrivateAttr(default_factory=dict)
    _subject_facets: dict[str, tuple[Facet, ...]] = PrivateAttr(default_factory=dict)  # domains, then subjects asked for

    @model_validator(mode="after")
    def _resolve(self) -> Vocabulary:
        """Flatten every domain's parts and record which domains each one narrows (fails on cycles)."""
        narrows: dict[str, set[str]] = {name: set() for name in self.domains}
        for name, domain in self.domains.items():
            if COMPOUND in name:
                raise ValueError(f"domain key {name!r} must not contain {COMPOUND!r}")
            for spec in domain.requires:
                for member in [spec] if isinstance(spec, str) else spec.domains:
                    if member not in self.domains:
                        raise ValueError(f"domain {name!r} refers to unknown domain {member!r}")
                if isinstance(spec, str):
                    narrows[name].add(spec)
                else:
                    for member in spec.domains:
                        narrows[member].add(name)
        resolved: dict[str, tuple[Facet, ...]] = {}
        for name in self.domains:
            self.domains[name]._facets = self._facets_of(name, resolved, ())
        self._subject_facets = dict(resolved)
        self._broader = {name: frozenset(_closure(name, narrows)) for name in self.domains}
        return self

    def _facets_of(self, name: str, done: dict[str, tuple[Facet, ...]], path: tuple[str, ...]) -> tuple[Facet, ...]:
        if name in done:
            return done[name]
        if name in path:
            raise ValueError(f"domains refer to each other in a cycle: {' -> '.join((*path, name))}")
        facets: list[Facet] = []
        for spec in self.domains[name].requires:
            if isinstance(spec, str):
                facets.extend(self._facets_of(spec, done, (*path, name)))
                continue
            topics, phrases = list(spec.topics), list(spec.phrases)
            for member in spec.domains:
                member_facets = self._facets_of(member, done, (*path, name))
                if len(member_facets) != 1:
                    raise ValueError(f"member {member!r} of {name!r} must have exactly one part")
                topics += member_facets[0].topics
                phrases += member_facets[0].phrases
            facets.append(Facet(tuple(dict.fromkeys(topics)), tuple(dict.fromkeys(phrases))))
        done[name] = tuple(facets)
        return done[name]

    # ---- subjects: a domain key or keys joined by "+" ----------------------------------------

    def keys_of(self, subject: str) -> list[str] | None:
        """The domain keys of a subject, or None when one of them is unknown."""
        keys = [key.strip() for key in subject.split(COMPOUND)]
        return keys if all(key in self.domains for key in keys) else None

    def facets(self, subject: str) -> tuple[Facet, ...]:
        """Every part a subject requires; empty for an unknown subject (remembered: read per repo and domain)."""
        if (known := self._subject_facets.get(subject)) is not None:
            return known
        keys = self.keys_of(subject) or []
        facets = tuple(dict.fromkeys(facet for key in keys for facet in self.domains[key].facets))
        if len(self._subject_facets) < _REMEMBERED_SUBJECTS:
            self._subject_facets[subject] = facets
        return facets

    def search_facet(self, subject: str) -> Facet | None:
        """The part the planner searches for: the last, narrowest one (the keep-check enforces the rest)."""
        facets = self.facets(subject)
        return facets[-1] if facets else None

    def broader(self, subject: str) -> frozenset[str]:
        """The domains a subject narrows: `android` -> mobile; `react_components` -> react, ui_components, frontend."""
        keys = self.keys_of(subject) or []
        return frozenset(b for key in keys for b in self._broader[key]) - set(keys)

    def subject(self, keys: Sequence[str]) -> str:
        """The subject that requires all of `keys`: broader keys dropped ("android" + "mobile" is
        "android"), a named domain when one requires exactly these ("react" + "ui_components" is
        "react_components"), else the keys joined by "+" in vocabulary order (whose last part is searched)."""
        unique = list(dict.fromkeys(k for key in keys for k in (self.keys_of(key) or [key])))
        implied = {b for key in unique for b in self.broader(key)}
        order = {name: n for n, name in enumerate(self.domains)}
        narrow = sorted((key for key in unique if key not in implied), key=lambda key: order.get(key, len(order)))
        if len(narrow) > 1:
            for name, domain in self.domains.items():
                if all(isinstance(spec, str) for spec in domain.requires) and set(domain.requires) == set(narrow):
                    return name
        return COMPOUND.join(narrow)

    def domain_matches(self, subject: str, topics: Iterable[str], description: str | None) -> bool:
        """The README's definition: every part of the subject is met by a topic or a description phrase.

        Topics say what a repo is; the description is read only when the repo has no topics, or to
        complete a subject one of whose parts its topics already meet ("react" tagged, "A React
        component library" described). An unknown subject matches nothing.
        """
        return _met(self.facets(subject), frozenset(topic.casefold() for topic in topics), description)

    def domains_of(self, topics: list[str], description: str | None) -> list[str]:
        tagged = frozenset(topic.casefold() for topic in topics)
        resolved = self._subject_facets  # read once: a private attribute costs a lookup through pydantic
        return [name for name in self.domains if _met(resolved[name], tagged, description)]


def _met(facets: tuple[Facet, ...], tagged: frozenset[str], description: str | None) -> bool:
    """`Vocabulary.domain_matches` for resolved parts and folded topics."""
    if not facets:
        return False
    by_topic = [not tagged.isdisjoint(facet.topic_set) for facet in facets]
    if all(by_topic):
        return True
    if tagged and not any(by_topic):
        return False
    words = subject_words(description)
    return all(hit or facet.mentioned_in(words) for hit, facet in zip(by_topic, facets, strict=True))


def _closure(name: str, edges: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(edges[name])
    while stack:
        key = stack.pop()
        if key not in seen:
            seen.add(key)
            stack.extend(edges[key])
    return seen


@lru_cache(maxsize=1)
def load_vocabulary() -> Vocabulary:
    raw: dict[str, Any] = yaml.safe_load(resources.files("agents").joinpath("data/vocabulary.yaml").read_text(encoding="utf-8"))
    return Vocabulary.model_validate(raw)
