"""Free-form GitHub profile locations -> country (ISO alpha-2), region and canonical city.

Why a gazetteer (`tools/data/places.yaml`) and not a geocoder: there is no network at run time, the
sandbox's ground truth needs the same answer every time, and a profile location is almost always a
big city, a country, or "City, ST". The indexes are built once and answers are cached, so the
enricher can call this for every candidate.

How a location is read: every known phrase in it is evidence for one or more countries ("Georgia"
is a country and a US state; "CA" is Canada and California). Each country adds up the weight of the
evidence for it and the best one wins; the city is the first city named in that country.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, Field

from foundation.regions import REGIONS, region_of
from tools.normalize import PhraseIndex, PhraseMatch, Token, phrase_key, tokenize

PlaceKind = Literal["country", "code", "subdivision", "subdivision_code", "city", "region"]

# How strongly one phrase of each kind argues for its country.
_WEIGHTS: dict[PlaceKind, float] = {
    "country": 3.0,
    "subdivision": 2.0,
    "city": 2.0,
    "code": 1.0,
    "subdivision_code": 1.1,  # after a comma, "CA" means California more often than Canada
    "region": 0.0,
}
_DEFAULT_CITY_BONUS = 0.1  # "London" is London, GB unless something says Ontario
_PART_BREAKS = frozenset(",|;/()·•")
_FLAG = re.compile(  # "🇩🇪" (two regional indicators) or a tag flag such as England's (GB + "eng")
    r"[\U0001F1E6-\U0001F1FF]{2}|\U0001F3F4([\U000E0061-\U000E007A]{2})[\U000E0061-\U000E007A]*\U000E007F"
)


@dataclass(frozen=True, slots=True)
class Place:
    """A normalised location; every field is None when unknown."""

    country: str | None = None
    region: str | None = None
    city: str | None = None


@dataclass(frozen=True, slots=True)
class PlaceRef:
    """One meaning of a place phrase: the countries and region codes it stands for."""

    kind: PlaceKind
    name: str
    countries: tuple[str, ...]
    regions: tuple[str, ...] = ()
    city: str | None = None


class RegionWords(BaseModel):
    codes: list[str]
    names: list[str]


class Subdivisions(BaseModel):
    codes: dict[str, str] = Field(default_factory=dict)
    names: list[str] = Field(default_factory=list)


class PlacesFile(BaseModel):
    version: int
    countries: dict[str, list[str]]
    regions: list[RegionWords]
    subdivisions: dict[str, Subdivisions]
    cities: dict[str, dict[str, list[str]]]
    secondary_cities: dict[str, dict[str, list[str]]]
    capitalised_only: list[str]


@dataclass(frozen=True)
class Gazetteer:
    """The place phrases of `places.yaml`, indexed for longest-first matching."""

    index: PhraseIndex[PlaceRef]
    capitalised_only: frozenset[tuple[str, ...]]

    def needs_capital(self, words: tuple[str, ...]) -> bool:
        return words in self.capitalised_only


def _build(data: PlacesFile) -> Gazetteer:
    index: PhraseIndex[PlaceRef] = PhraseIndex()
    for code, (alpha3, name, *aliases) in data.countries.items():
        for alias in (name, *aliases):
            index.add(alias, PlaceRef("country", name, (code,)))
        for alias in (code, alpha3):
            index.add(alias, PlaceRef("code", name, (code,)))
    for words in data.regions:
        countries = tuple(c for c in words.codes if c not in REGIONS)
        regions = tuple(c for c in words.codes if c in REGIONS)
        for alias in words.names:
            index.add(alias, PlaceRef("region", words.names[0], countries, regions))
    for country, subdivisions in data.subdivisions.items():
        for code, name in subdivisions.codes.items():
            index.add(code, PlaceRef("subdivision_code", name, (country,)))
        for name in (*subdivisions.codes.values(), *subdivisions.names):
            index.add(name, PlaceRef("subdivision", name, (country,)))
    for table in (data.cities, data.secondary_cities):
        for country, cities in table.items():
            for city, aliases in cities.items():
                for alias in (city, *aliases):
                    index.add(alias, PlaceRef("city", city, (country,), city=city))
    capitalised = frozenset(phrase_key(name) for name in data.capitalised_only)
    return Gazetteer(index, capitalised)


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    raw = yaml.safe_load(resources.files("tools").joinpath("data/places.yaml").read_text(encoding="utf-8"))
    return _build(PlacesFile.model_validate(raw))


def _flag_countries(raw: str) -> list[str]:
    """Countries of emoji flags: regional-indicator pairs ("🇩🇪") and subdivision tag flags (England)."""
    found = []
    for match in _FLAG.finditer(raw):
        if match.group(1):
            letters = "".join(chr(ord(ch) - 0xE0000) for ch in match.group(1))
        else:
            letters = "".join(chr(ord(ch) - 0x1F1E6 + ord("a")) for ch in match.group())
        found.append(letters.upper())
    return found


def _parts(tokens: Sequence[Token]) -> list[int]:
    """For each token, how many separators (",", "/", "|" ...) come before it."""
    parts, current = [], 0
    for token in tokens:
        if token.kind == "punct" and token.text in _PART_BREAKS:
            current += 1
        parts.append(current)
    return parts


def _scan(raw: str) -> list[tuple[int, PhraseMatch[PlaceRef]]]:
    """Place phrases of a location with the part (comma-separated piece) each sits in."""
    tokens = tokenize(raw)
    parts = _parts(tokens)
    whole = sum(token.kind == "word" for token in tokens) == 1
    gaz = gazetteer()

    def accept(toks: Sequence[Token], start: int, end: int, refs: tuple[PlaceRef, ...]) -> tuple[PlaceRef, ...]:
        span = toks[start:end]
        words = tuple(t.key for t in span if t.kind != "punct")
        caps = all(t.all_caps for t in span if t.kind == "word")
        if gaz.needs_capital(words) and not span[0].capitalised:
            return ()
        short = len("".join(words)) <= 2
        kept = []
        for ref in refs:
            if ref.kind == "subdivision_code" and not (caps and parts[start] > 0):
                continue
            if (ref.kind == "code" or short) and not (caps or whole):
                continue
            kept.append(ref)
        return tuple(kept)

    return [(parts[m.start], m) for m in gaz.index.scan(tokens, accept)]


@lru_cache(maxsize=65536)
def normalize_location(raw: str | None) -> Place:
    """Read a profile location such as "Munich, Bavaria", "SF Bay Area" or "🇩🇪" into a `Place`."""
    if not raw or not raw.strip():
        return Place()
    evidence: list[tuple[PlaceRef, ...]] = [(PlaceRef("country", code, (code,)),) for code in _flag_countries(raw)]
    evidence += [match.meanings for _, match in _scan(raw)]
    scores: dict[str, float] = {}
    for refs in evidence:
        best_here: dict[str, float] = {}
        first_city = next((ref for ref in refs if ref.kind == "city"), None)
        for ref in refs:
            weight = _WEIGHTS[ref.kind] + (_DEFAULT_CITY_BONUS if ref is first_city else 0.0)
            for country in ref.countries if ref.kind != "region" else ():
                best_here[country] = max(best_here.get(country, 0.0), weight)
        for country, weight in best_here.items():
            scores[country] = scores.get(country, 0.0) + weight
    if not scores:
        regions = [ref.regions for refs in evidence for ref in refs if ref.kind == "region" and len(ref.regions) == 1]
        return Place(region=regions[0][0] if regions else None)
    order = list(scores)
    country = max(order, key=lambda c: (scores[c], -order.index(c)))
    city = next((ref.city for refs in evidence for ref in refs if ref.kind == "city" and ref.countries == (country,)), None)
    return Place(country=country, region=region_of(country), city=city)
