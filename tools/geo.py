"""Free-form GitHub profile locations -> country (ISO alpha-2), region and canonical city.

Why a gazetteer (`tools/data/places.yaml`) and not a geocoder: there is no network at run time, the
sandbox's ground truth needs the same answer every time, and a profile location is almost always a
big city, a country, or "City, ST". The indexes are built once and answers are cached, so the
enricher can call this for every candidate.

How a location is read:
1. Every known phrase in it is evidence for one or more countries ("Georgia" is a country and a US
   state; "CA" is Canada and California; "Paris" is a city in France).
2. A phrase followed by a place that says where it is ("<city>, <state or country>", "<city> <ST>",
   "<state>, <country>") is read together with it. When the two share a country, only the shared
   meanings stay: "London, Ontario" is the Canadian London, "Perth, WA" is in Western Australia,
   "Berlin, DE" in Germany. When they share none, the second one wins and the city is a same-named
   town there, read as a state where it can be one: "Paris, TX", "Berlin, NH", "Moscow, ID",
   "Athens, Georgia" and "Dublin, CA" are in the US, "Sydney, NS" is in Canada.
3. Each country adds up the weight of its evidence and the best one wins; the city is the first
   city named in that country.

What stays unknown rather than guessed: a name listed under `ambiguous_alone` that nothing else in
the location places ("Victoria", "Kingston", "Georgia"); a phrase whose readings tie ("NT":
Northwest Territories or Northern Territory); and a location that is only a two-letter code with
more than one reading ("DE": Germany or Delaware, "IN", "CA", "WA") or that is also a word ("OR",
"OH"). A lone code with one reading ("TX", "FR") is read. After a city, a two-letter code is a US
state before another country's state or province code ("Vancouver, WA" is Washington), as USPS
abbreviations are what "City, ST" almost always means.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, Field

from foundation.regions import REGIONS, region_of
from tools.normalize import PhraseIndex, Token, phrase_key, tokenize

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
_US_STATE_CODE_BONUS = 0.05  # "WA" after a city is Washington before Western Australia
_TIE = 1e-9
_PART_BREAKS = frozenset(",|;/()·•")
# Kinds that can say where the phrase before them is ("Paris, TX", "Georgia, USA").
_QUALIFIERS = frozenset({"country", "code", "subdivision", "subdivision_code"})
_STATES = frozenset({"subdivision", "subdivision_code"})
# What may stand between a phrase and the place that qualifies it: nothing, or one of these.
_QUALIFIER_JOINS = frozenset(",(-–—")
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
    ambiguous_alone: list[str]
    word_codes: list[str]


@dataclass(frozen=True)
class Gazetteer:
    """The place phrases of `places.yaml`, indexed for longest-first matching."""

    index: PhraseIndex[PlaceRef]
    capitalised_only: frozenset[tuple[str, ...]]
    ambiguous_alone: frozenset[tuple[str, ...]]
    word_codes: frozenset[str]

    def needs_capital(self, words: tuple[str, ...]) -> bool:
        return words in self.capitalised_only

    def is_ambiguous_alone(self, words: tuple[str, ...]) -> bool:
        """A name that means places in several countries and needs another word to say which."""
        return words in self.ambiguous_alone

    def city_before(self, tokens: Sequence[Token], end: int) -> bool:
        """Whether the words right before token `end` name a known city ("Paris" in "Paris TX")."""
        words: list[str] = []
        j = end - 1
        while j >= 0 and tokens[j].kind == "word" and len(words) < self.index.max_words:
            words.insert(0, tokens[j].key)
            if any(ref.kind == "city" for ref in self.index.get(tuple(words))):
                return True
            j -= 1
        return False


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
    return Gazetteer(
        index,
        capitalised_only=frozenset(phrase_key(name) for name in data.capitalised_only),
        ambiguous_alone=frozenset(phrase_key(name) for name in data.ambiguous_alone),
        word_codes=frozenset(code.casefold() for code in data.word_codes),
    )


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    raw = yaml.safe_load(resources.files("tools").joinpath("data/places.yaml").read_text(encoding="utf-8"))
    return _build(PlacesFile.model_validate(raw))


@dataclass(frozen=True, slots=True)
class _Evidence:
    """One place phrase (tokens `start:end`) and the meanings still open for it."""

    start: int
    end: int
    words: tuple[str, ...]
    refs: tuple[PlaceRef, ...]
    qualified: bool = False  # read together with a neighbour ("Victoria, BC")


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


def _ends_part(tokens: Sequence[Token], end: int, gaz: Gazetteer) -> bool:
    """Nothing but numbers (a ZIP code) or a country name follows token `end` in its part ("Paris TX USA")."""
    rest: list[str] = []
    for token in tokens[end:]:
        if token.kind == "punct" and token.text in _PART_BREAKS:
            break
        if token.kind == "word":
            rest.append(token.key)
    return not rest or any(ref.kind in ("country", "code") for ref in gaz.index.get(tuple(rest)))


def _scan(tokens: Sequence[Token], gaz: Gazetteer) -> list[_Evidence]:
    """The place phrases of a location, with the meanings their surface allows."""
    parts = _parts(tokens)
    whole = sum(token.kind == "word" for token in tokens) == 1

    def after_place_name(start: int, end: int) -> bool:
        """ "Springfield IL": a code right after a capitalised word, ending its part."""
        before = tokens[start - 1] if start > 0 else None
        return before is not None and before.kind == "word" and before.capitalised and _ends_part(tokens, end, gaz)

    def accept(toks: Sequence[Token], start: int, end: int, refs: tuple[PlaceRef, ...]) -> tuple[PlaceRef, ...]:
        span = toks[start:end]
        words = tuple(t.key for t in span if t.kind != "punct")
        caps = all(t.all_caps for t in span if t.kind == "word")
        if gaz.needs_capital(words) and not span[0].capitalised:
            return ()
        short = len("".join(words)) <= 2
        kept = []
        for ref in refs:
            if ref.kind == "subdivision_code" and not (caps and (parts[start] > 0 or after_place_name(start, end))):
                continue
            if (ref.kind == "code" or short) and not (caps or whole):
                continue
            kept.append(ref)
        return tuple(kept)

    return [
        _Evidence(m.start, m.end, tuple(t.key for t in tokens[m.start : m.end] if t.kind != "punct"), m.meanings)
        for m in gaz.index.scan(tokens, accept)
    ]


def _lone_code(tokens: Sequence[Token], gaz: Gazetteer) -> Place | None:
    """A location that is one code and nothing else: its country when the code has one reading.

    None when the location is more than a code; `Place()` when the code is ambiguous ("DE" is
    Germany and Delaware, "WA" Washington and Western Australia) or is also a word ("OR", "OH").
    """
    if len(tokens) != 1 or tokens[0].kind != "word":
        return None
    refs = gaz.index.get((tokens[0].key,))
    if not refs or any(ref.kind not in ("code", "subdivision_code") for ref in refs):
        return None
    countries = {country for ref in refs for country in ref.countries}
    if len(countries) != 1 or tokens[0].key in gaz.word_codes:
        return Place()
    (country,) = countries
    return Place(country=country, region=region_of(country))


def _countries(refs: Sequence[PlaceRef]) -> set[str]:
    return {country for ref in refs for country in ref.countries}


def _attached(tokens: Sequence[Token], first: _Evidence, second: _Evidence) -> bool:
    """`second` directly follows `first`, at most a comma (or "(", "-") between them."""
    between = tokens[first.end : second.start]
    return len(between) <= 1 and all(t.kind == "punct" and t.text in _QUALIFIER_JOINS for t in between)


def _qualify(items: list[_Evidence], tokens: Sequence[Token]) -> list[_Evidence]:
    """Read each phrase together with the place right after it that says where it is (see module doc)."""
    items = list(items)
    for k in range(len(items) - 1):
        first, second = items[k], items[k + 1]
        where = [ref for ref in second.refs if ref.kind in _QUALIFIERS]
        what = [ref for ref in first.refs if ref.kind == "city" or ref.kind in _QUALIFIERS]
        if not where or not what or not _attached(tokens, first, second):
            continue
        shared = _countries(what) & _countries(where)
        if shared:
            what = [ref for ref in what if shared & set(ref.countries)]
            where = [ref for ref in where if shared & set(ref.countries)]
        else:
            city = next((ref for ref in what if ref.kind == "city"), None)
            if city is None:
                continue  # "Texas, Germany": two places, the weights decide
            where = [ref for ref in where if ref.kind in _STATES] or where
            there = tuple(dict.fromkeys(country for ref in where for country in ref.countries))
            what = [PlaceRef("city", city.name, there, city=city.city)]
        items[k] = replace(first, refs=tuple(what), qualified=True)
        items[k + 1] = replace(second, refs=tuple(where), qualified=True)
    return items


def _weight(ref: PlaceRef, country: str, default_city: bool) -> float:
    weight = _WEIGHTS[ref.kind] + (_DEFAULT_CITY_BONUS if default_city else 0.0)
    return weight + (_US_STATE_CODE_BONUS if ref.kind == "subdivision_code" and country == "US" else 0.0)


@lru_cache(maxsize=65536)
def normalize_location(raw: str | None) -> Place:
    """Read a profile location such as "Munich, Bavaria", "Paris, TX" or "🇩🇪" into a `Place`."""
    if not raw or not raw.strip():
        return Place()
    gaz = gazetteer()
    tokens = tokenize(raw)
    flags = _flag_countries(raw)
    if not flags and (lone := _lone_code(tokens, gaz)) is not None:
        return lone
    items = _qualify(_scan(tokens, gaz), tokens)
    items = [item for item in items if item.qualified or not gaz.is_ambiguous_alone(item.words)]
    evidence: list[tuple[PlaceRef, ...]] = [(PlaceRef("country", code, (code,)),) for code in flags]
    evidence += [item.refs for item in items]
    scores: dict[str, float] = {}
    first_seen: dict[str, int] = {}
    for n, refs in enumerate(evidence):
        best_here: dict[str, float] = {}
        first_city = next((ref for ref in refs if ref.kind == "city"), None)
        for ref in refs:
            for country in ref.countries if ref.kind != "region" else ():
                weight = _weight(ref, country, ref is first_city)
                best_here[country] = max(best_here.get(country, 0.0), weight)
        for country, weight in best_here.items():
            scores[country] = scores.get(country, 0.0) + weight
            first_seen.setdefault(country, n)
    if not scores:
        regions = [ref.regions for refs in evidence for ref in refs if ref.kind == "region" and len(ref.regions) == 1]
        return Place(region=regions[0][0] if regions else None)
    ranked = sorted(scores, key=lambda c: (-scores[c], first_seen[c]))
    country = ranked[0]
    if len(ranked) > 1 and scores[country] - scores[ranked[1]] < _TIE and first_seen[country] == first_seen[ranked[1]]:
        return Place()  # one phrase, two equally good readings
    city = next((ref.city for refs in evidence for ref in refs if ref.kind == "city" and country in ref.countries), None)
    return Place(country=country, region=region_of(country), city=city)
