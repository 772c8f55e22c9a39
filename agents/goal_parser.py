"""Deterministic goal parser: a marketing goal in plain words -> a `TargetAudience`, without an LLM.

Why rules and not only a model: the parser runs offline and in tests, gives the same audience for
the same words, and explains itself. Every word it did not use is listed in `ignored_terms` and
every reading that is not literal ("popular" -> stars >= 1000, "FAANG" -> five companies) in `notes`,
so the person running a campaign sees exactly what was understood. Goals that cannot be run (empty,
not about software, asking for private data) come back with `refusal` set.

The words it knows live in agents/data/vocabulary.yaml, tools/data/places.yaml and
foundation/data/companies.yaml; numbers are read by `goal_parser_quantities`, phrases by
`goal_parser_lexicon`, in context by `goal_parser_reading`; this module assembles the audience
and decides whether the goal may run.
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, Field

from agents.goal_parser_lexicon import goal_index
from agents.goal_parser_quantities import extract_quantities
from agents.goal_parser_reading import Reading, read_words
from agents.goal_parser_subjects import read_subjects
from foundation.schemas.campaign import Role, TargetAudience
from foundation.vocabulary import load_vocabulary
from tools.normalize import tokenize

REFUSE_EMPTY = "The goal is empty: describe the developers to find, e.g. 'Python maintainers active in ML in the EU'."
REFUSE_OFF_TOPIC = (
    "The goal is not about developers or software (no language, technical domain or developer role in it). "
    "cmo-agent finds open-source developers on GitHub, e.g. 'Rust developers building databases in Europe'."
)
REFUSE_PRIVATE = (
    "The goal asks for private data ({terms}). cmo-agent uses only public, professional GitHub data and "
    "never looks up home addresses, phone numbers, private emails, passwords or salaries."
)

_ROLE_ORDER: tuple[Role, ...] = ("maintainer", "contributor", "any")
# "developers like @alice, @bob and @carol", "similar to @alice": the @-named people are seeds of a
# lookalike search, never words of the subject. A mention is a GitHub login (letters, digits, inner hyphens).
_LOOKALIKE_CUE = re.compile(r"\b(?:like|similar\s+to|resembling|lookalikes?\s+of)\b", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@/])@([A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38})(?![\w-])")


class ParsedGoal(BaseModel):
    """What a goal asks for, what was not understood, how it was read, and whether it may run."""

    audience: TargetAudience
    max_prospects: int | None = None
    ignored_terms: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    refusal: str | None = None
    lookalike_of: list[str] = Field(default_factory=list, description="Seed logins of a lookalike goal ('like @alice').")


def lookalike_seeds(text: str) -> tuple[list[str], str]:
    """The @-mentioned logins of a lookalike goal, and the goal with them taken out; ([], text)
    when the goal asks for no lookalikes (no "like" / "similar to" before a mention)."""
    cue = _LOOKALIKE_CUE.search(text)
    if cue is None:
        return [], text
    seeds = list(dict.fromkeys(m.group(1) for m in _MENTION.finditer(text, cue.end())))
    if not seeds:
        return [], text
    rest = _MENTION.sub(" ", text[cue.end() :])
    rest = re.sub(r"(?:\s*(?:,|&|\band\b|\bor\b))+\s*", " ", rest)
    return seeds, text[: cue.start()] + " " + rest


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _role(reading: Reading) -> Role:
    if {"maintainer", "contributor"} <= reading.roles:
        reading.notes.append("both maintainers and contributors named: role maintainer (the narrower) is used")
    return next((role for role in _ROLE_ORDER if role in reading.roles), "any")


def parse_goal(text: str, today: date | None = None) -> ParsedGoal:
    """Read a goal such as "Find Python maintainers active in ML, excluding Google" into an audience."""
    if not text or not text.strip():
        return ParsedGoal(audience=TargetAudience(), refusal=REFUSE_EMPTY)
    seeds, text = lookalike_seeds(text)
    vocabulary = load_vocabulary()
    index = goal_index()
    numbers = extract_quantities(text, today or date.today(), vocabulary.goal_parser)
    raw_tokens = tokenize(text)
    skip = frozenset(i for i, t in enumerate(raw_tokens) if not numbers.free(t.start, t.end))
    tokens, typo_notes = index.correct(raw_tokens, skip)
    reading = read_words(text, tokens, skip, index, typo_notes + numbers.notes)

    stars = numbers.stars
    for value, surface in reading.stars:
        if stars is None:
            stars = value
            reading.notes.append(f"'{surface}' read as stars {value}")
        elif value != stars:
            reading.notes.append(f"'{surface}' ignored: the star range {stars} is used")
    activity = numbers.activity_days
    for days, surface in reading.activity:
        if activity is None:
            activity = days
            reading.notes.append(f"'{surface}' read as activity in the last {days} days")
    subjects = read_subjects(reading)
    excluded = reading.companies["exclude"]
    included = {k: v for k, v in reading.companies["include"].items() if k not in excluded}
    if len(included) < len(reading.companies["include"]):
        reading.notes.append("a company both included and excluded is excluded")
    excluded_regions = _unique(reading.excluded_regions)
    excluded_cities = _unique(reading.excluded_cities)
    regions = [r for r in _unique(reading.regions) if r not in excluded_regions]
    cities = [c for c in _unique(reading.cities) if c not in excluded_cities]
    if len(regions) + len(cities) < len(_unique(reading.regions)) + len(_unique(reading.cities)):
        reading.notes.append("a place both targeted and excluded is excluded")
    audience = TargetAudience(
        languages=_unique(reading.languages),
        topics=_unique([t for d in subjects.domains if (facet := vocabulary.search_facet(d)) for t in facet.topics]),
        stars_range=stars,
        activity_days=activity or 90,
        activity_scope=reading.scope,
        min_contributions=numbers.min_contributions or 1,
        exclude_companies=list(excluded.values()),
        target_regions=regions,
        role=_role(reading),
        domains=subjects.domains,
        keywords=subjects.keywords,
        exclude_domains=subjects.exclude_domains,
        exclude_keywords=subjects.exclude_keywords,
        include_companies=list(included.values()),
        target_cities=cities,
        exclude_regions=excluded_regions,
        exclude_cities=excluded_cities,
    )
    named = audience.domains or audience.exclude_domains
    about_software = bool(audience.languages or named or reading.software or reading.developer_words or numbers.mentions_code)
    refusal = None
    if reading.private:
        refusal = REFUSE_PRIVATE.format(terms=", ".join(_unique(reading.private)))
    elif not about_software and not seeds:
        refusal = REFUSE_OFF_TOPIC
    return ParsedGoal(
        audience=audience,
        max_prospects=numbers.max_prospects,
        ignored_terms=_unique(reading.ignored),
        notes=_unique(reading.notes),
        refusal=refusal,
        lookalike_of=seeds,
    )
