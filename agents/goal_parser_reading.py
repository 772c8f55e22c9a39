"""How the goal parser reads words in context: which phrase is a language, a place or a company here.

`goal_parser_lexicon` says what a phrase can mean; this module decides what it does mean from its
neighbours: "Go" before "developers" is the language, "Google" or "China" after "excluding" is a
company or a place to leave out ("anywhere but China" excludes China, it never targets it), "TX"
after "Paris," says which Paris. Anything that ends up meaning nothing is recorded as ignored, so
`parse_goal` can report it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from agents.goal_parser_lexicon import GoalIndex, Meaning
from foundation.companies import canonical_company, company_directory, display_company
from foundation.schemas.campaign import ActivityScope
from foundation.text import fold
from tools.geo import PlaceRef, gazetteer, normalize_location
from tools.normalize import Token

_PLACE_PREFERENCE = ("region", "country", "city", "subdivision")
# Place kinds that can say which city of a name is meant when they follow it ("Paris, TX").
_QUALIFIER_KINDS = frozenset({"country", "code", "subdivision", "subdivision_code"})
# Codes ("TX", "DE", "ON") are trusted in a goal only right after a city ("Austin, TX", "Paris TX"):
# elsewhere "IT", "ME" or "CA" are as likely words as places.
_CODE_KINDS = frozenset({"code", "subdivision_code"})
_SEPARATORS = frozenset({",", "/", "&", "+", "and", "or", "nor"})
_SENTENCE_ENDS = frozenset(".!?")
# A place name right before these, or right after a language or domain, names software: "Phoenix
# apps", "Elixir/Phoenix", "web frameworks like Phoenix". Filler words may sit in between, but not
# the prepositions that introduce a place ("Rust devs in Phoenix") nor list separators ("Go and
# Berlin-based Python devs").
_SOFTWARE_NOUNS = frozenset({"app", "apps", "framework", "frameworks"})
_PLACE_PREPOSITIONS = frozenset(
    {"in", "at", "from", "near", "around", "across", "within", "to", "based", "located", "living", "live", "lives"}
)
_TIGHT_JOINS = frozenset("/&+")
# How many of a company's divisions the note "'Google' covers ..." names before "and N more".
_SHOWN_DIVISIONS = 4
# What an exclusion trigger may leave out besides companies and places (see `_read_entry`).
Subjects = Literal["none", "also", "first"]
_TRIGGERS = {
    "exclude": ("exclude", False),
    "exclude_known": ("exclude", True),
    "include": ("include", False),
    "include_known": ("include", True),
}


@dataclass(frozen=True, slots=True)
class _Item:
    """Tokens `start:end` with their meanings; no meanings = a word the index does not know."""

    start: int
    end: int
    meanings: tuple[Meaning, ...] = ()

    def kinds(self) -> set[str]:
        return {m.kind for m in self.meanings}


@dataclass
class Reading:
    """The goal being read: its tokens and items, and everything understood so far."""

    text: str
    tokens: list[Token]
    items: list[_Item]
    index: GoalIndex
    languages: list[str] = field(default_factory=list)
    subjects: list[tuple[int, str]] = field(default_factory=list)  # (item, domain) named as a target
    excluded_subjects: list[tuple[int, str]] = field(default_factory=list)  # (item, domain) after "not", "excluding"
    excluded_words: list[tuple[int, str]] = field(default_factory=list)  # (item, word) unknown, after "not", "no"
    unknown: list[int] = field(default_factory=list)  # items of one unknown word (reported as ignored)
    scope: ActivityScope = "subject"
    roles: set[str] = field(default_factory=set)
    developer_words: bool = False
    software: bool = False
    regions: list[str] = field(default_factory=list)
    cities: list[str] = field(default_factory=list)
    excluded_regions: list[str] = field(default_factory=list)
    excluded_cities: list[str] = field(default_factory=list)
    companies: dict[str, dict[str, str]] = field(default_factory=lambda: {"exclude": {}, "include": {}})
    stars: list[tuple[str, str]] = field(default_factory=list)
    activity: list[tuple[int, str]] = field(default_factory=list)
    private: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def surface(self, item: _Item) -> str:
        """The goal's text of one item, as written."""
        return self.text[self.tokens[item.start].start : self.tokens[item.end - 1].end]

    def span_text(self, first: int, after: int) -> str:
        """The goal's text from item `first` up to (not including) item `after`."""
        return self.surface(_Item(self.items[first].start, self.items[after - 1].end))

    def key(self, item: _Item) -> str:
        return " ".join(t.key for t in self.tokens[item.start : item.end] if t.kind != "punct")


def _items(tokens: list[Token], index: GoalIndex, skip: frozenset[int]) -> list[_Item]:
    """Known phrases and single unknown tokens, in order, leaving out what the numbers used."""
    gaz = gazetteer()

    def accept(toks: Sequence[Token], start: int, end: int, meanings: tuple[Meaning, ...]) -> tuple[Meaning, ...]:
        span = [t for t in toks[start:end] if t.kind == "word"]
        words = tuple(t.key for t in span)
        caps = all(t.all_caps for t in span)
        kept = []
        for meaning in meanings:
            if meaning.kind == "place" and meaning.place is not None:
                if gaz.needs_capital(words) and not span[0].capitalised:
                    continue
                after_city = start > 0 and (toks[start - 1].text == "," or gaz.city_before(toks, start))
                if meaning.place.kind in _CODE_KINDS and not (caps and after_city):
                    continue
                short_city = meaning.place.kind in ("city", "subdivision") and len(words[0]) <= 2
                if len(words) == 1 and (words[0] in index.stop_words or short_city) and not caps:
                    continue
            kept.append(meaning)
        return tuple(kept)

    matches = {m.start: m for m in index.phrases.scan(tokens, accept, skip)}
    items: list[_Item] = []
    i = 0
    while i < len(tokens):
        if i in matches:
            items.append(_Item(i, matches[i].end, matches[i].meanings))
            i = matches[i].end
            continue
        if i not in skip:
            trigger = index.char_triggers.get(tokens[i].text)
            items.append(_Item(i, i + 1, (trigger,) if trigger else ()))
        i += 1
    return items


def _is_separator(reading: Reading, j: int) -> bool:
    """Item j joins two names in a list: ",", "/", "&", "and", "or", "nor"."""
    if not 0 <= j < len(reading.items):
        return False
    item = reading.items[j]
    return item.end - item.start == 1 and reading.tokens[item.start].key in _SEPARATORS


def _has_language(reading: Reading, j: int) -> bool:
    """Item j is a language named without ambiguity ("C++", "Rust", not "Go" or "C")."""
    if not 0 <= j < len(reading.items):
        return False
    item = reading.items[j]
    return "language" in item.kinds() and reading.key(item) not in reading.index.ambiguous_languages


def _language_ok(reading: Reading, i: int) -> bool:
    """Whether an alias that is also a word ("go", "c", "r") is meant as the language here."""
    item = reading.items[i]
    rules = reading.index.ambiguous_languages.get(reading.key(item))
    if rules is None:
        return True
    j = i + 1
    while j < len(reading.items) and (_is_separator(reading, j) or "language" in reading.items[j].kinds()):
        j += 1
    following = reading.items[j] if j < len(reading.items) else None
    token = reading.tokens[item.start]
    before = reading.tokens[item.start - 1] if item.start > 0 else None
    cues = {
        "follower": following is not None
        and (bool({"role", "people"} & following.kinds()) or reading.key(following) in reading.index.followers),
        "capitalised": token.capitalised and before is not None and before.text not in _SENTENCE_ENDS,
        "adjacent": any(
            _has_language(reading, k) or (_is_separator(reading, k) and _has_language(reading, k + step))
            for step, k in ((-1, i - 1), (1, i + 1))
        ),
        "preposition": before is not None and before.key in reading.index.prepositions,
    }
    return any(all(cues.get(cue, False) for cue in rule) for rule in rules)


def _company_at(reading: Reading, j: int, known_only: bool) -> tuple[Meaning | str, int] | None:
    """The company (or group) named at item j in a company context, and the next item's index."""
    if j >= len(reading.items):
        return None
    item = reading.items[j]
    named = [m for m in item.meanings if m.kind in ("company", "group")]
    if named:
        return named[0], j + 1
    if known_only:
        return None
    end = j
    while end < len(reading.items):
        candidate = reading.items[end]
        token = reading.tokens[candidate.start]
        if candidate.meanings or token.kind != "word" or not token.capitalised or token.key in reading.index.stop_words:
            break
        end += 1
    if end == j:
        return None
    return reading.span_text(j, end), end


def _add_company(reading: Reading, mode: str, named: Meaning | str, surface: str) -> None:
    """Record a known company, a group's members or an unknown name (as written) to exclude/include."""
    directory = company_directory()
    if isinstance(named, str):
        key, display = canonical_company(named), display_company(named)
        if key and display:
            reading.companies[mode].setdefault(key, display)
        return
    if named.kind == "group":
        members = directory.groups[named.value].members
        families = " with their divisions and subsidiaries" if any(directory.divisions(k) for k in members) else ""
        reading.notes.append(f"'{surface}' expanded to {', '.join(directory.members(named.value))}{families}")
    else:
        members = [named.value]
        if divisions := directory.divisions(named.value):
            shown = [directory.companies[k].display for k in divisions]
            more = f" and {len(shown) - _SHOWN_DIVISIONS} more" if len(shown) > _SHOWN_DIVISIONS else ""
            display = directory.companies[named.value].display
            reading.notes.append(f"'{display}' covers {', '.join(shown[:_SHOWN_DIVISIONS])}{more}")
    for key in members:
        reading.companies[mode].setdefault(key, directory.companies[key].display)


def _place_refs(reading: Reading, i: int) -> list[PlaceRef]:
    """The meanings of item i that can stand alone as a place (codes need a city before them)."""
    refs = [m.place for m in reading.items[i].meanings if m.kind == "place" and m.place is not None]
    return [ref for ref in refs if ref.kind not in _CODE_KINDS]


def _place_at(reading: Reading, j: int) -> int | None:
    """The item of the place named from item j on, past filler and people words ("anyone in the EU")."""
    while j < len(reading.items) and (_is_filler(reading, j) or reading.items[j].kinds() == {"people"}):
        j += 1
    if j >= len(reading.items) or not _place_refs(reading, j) or _names_software(reading, j):
        return None
    return j


def _named_at(reading: Reading, j: int, mode: str, known_only: bool, subjects: Subjects) -> bool:
    """Item j starts a company, or when excluding, a place or subject: what a list after a trigger goes on with."""
    if _company_at(reading, j, known_only) is not None:
        return True
    excluded_subject = subjects != "none" and _subject_at(reading, j) is not None
    return mode == "exclude" and (_place_at(reading, j) is not None or excluded_subject)


def _read_entry(reading: Reading, j: int, mode: str, known_only: bool, subjects: Subjects) -> int | None:
    """Record the company (or, when excluding, the place or subject) named at item j; the next item, or None.

    `subjects` is "none" after triggers that leave out places only ("outside", "anywhere but") and
    "first" after those about technologies ("rather than Unity": the engine, not the company).
    """
    first = subjects == "first" and "domain" in reading.items[j].kinds() if j < len(reading.items) else False
    if not first and (found := _company_at(reading, j, known_only)) is not None:
        named, after = found
        _add_company(reading, mode, named, reading.span_text(j, after))
        return after
    if mode == "exclude" and (k := _place_at(reading, j)) is not None:
        return _apply_place(reading, k, _place_refs(reading, k), exclude=True)
    if mode == "exclude" and subjects != "none" and (k := _subject_at(reading, j)) is not None:
        domains = [m.value for m in reading.items[k].meanings if m.kind == "domain"]
        if domains:
            reading.excluded_subjects.append((k, domains[0]))
        else:
            reading.excluded_words.append((k, reading.tokens[reading.items[k].start].key))
        return k + 1
    return None


def _subject_at(reading: Reading, j: int) -> int | None:
    """The item of the subject a negation names from item j on: a domain, past filler ("not into
    ML"), or right at j one unknown word that could name a subject ("no Electron"); else None."""
    k = j
    while k < len(reading.items) and _is_filler(reading, k):
        k += 1
    if k < len(reading.items) and "domain" in reading.items[k].kinds():
        return k
    if j >= len(reading.items):
        return None
    item = reading.items[j]
    token = reading.tokens[item.start]
    unknown = not item.meanings and token.kind == "word" and token.key not in reading.index.stop_words
    return j if unknown and token.key not in reading.index.not_subjects and token.key.isalnum() else None


def _entry_kind(reading: Reading, j: int, known_only: bool) -> str:
    """What the entry at item j names, as `_read_entry` would take it: a company, else a place or a subject."""
    if _company_at(reading, j, known_only) is not None:
        return "company"
    return "place" if _place_at(reading, j) is not None else "subject"


def _read_list(reading: Reading, j: int, mode: str, known_only: bool, subjects: Subjects) -> int:
    """Read what a trigger names ("excluding Google, Meta and Acme", "anywhere but China or Russia"); the next item.

    A comma followed by another kind of name ends the list: in "exclude Google/Meta/Microsoft, EU or
    US" the places after the companies are the target, not more exclusions (SPEC's own example)."""
    while (after := _read_entry(reading, j, mode, known_only, subjects)) is not None:
        kind = _entry_kind(reading, j, known_only)
        j = after
        if not (_is_separator(reading, j) and _named_at(reading, j + 1, mode, known_only, subjects)):
            break
        if reading.tokens[reading.items[j].start].key == "," and _entry_kind(reading, j + 1, known_only) != kind:
            break
        j += 1
    return j


def _apply_place(reading: Reading, i: int, refs: list[PlaceRef], exclude: bool = False) -> int:
    """Target (or exclude) the most general reading of a place word: region, country, city, state.

    Returns the next item to read: past a state or country that says which place was meant.
    """
    item = reading.items[i]
    surface, key = reading.surface(item), reading.key(item)
    qualified = _qualifier(reading, i, refs)
    after = i + 1
    if qualified is not None:
        _, after, refs = qualified
    ref = next(r for kind in _PLACE_PREFERENCE for r in refs if r.kind == kind)
    if qualified is None and gazetteer().is_ambiguous_alone(tuple(key.split())):
        reading.notes.append(f"'{surface}' names places in several countries: read as {ref.name} ({ref.countries[0]})")
    regions = reading.excluded_regions if exclude else reading.regions
    if ref.kind == "region":
        regions.extend([*ref.regions, *ref.countries])
        if not ref.regions and not ref.countries:
            reading.notes.append(f"'{surface}' read as: no region filter")
        elif ref.countries:
            reading.notes.append(f"'{surface}' expanded to {', '.join(ref.countries)}")
    elif ref.kind == "country":
        regions.append(ref.countries[0])
        if key != fold(ref.name) and not surface.isupper():
            reading.notes.append(f"'{surface}' read as {ref.countries[0]} ({ref.name})")
    elif ref.kind == "city" and ref.city:
        country = ref.countries[0] if qualified is None else qualified[0]
        if exclude:
            reading.excluded_cities.append(ref.city)
            if qualified is not None:
                reading.notes.append(
                    f"'{reading.span_text(i, after)}' excluded by its name: every city called {ref.city} is left out"
                )
        else:
            reading.cities.append(ref.city)
            regions.append(country)
        if key != fold(ref.city):
            reading.notes.append(f"'{surface}' read as the city {ref.city} ({country})")
    elif exclude:
        reading.ignored.append(reading.span_text(i, after))
        reading.notes.append(f"'{surface}' not excluded: state and province filters are not supported")
    else:
        regions.append(ref.countries[0])
        reading.notes.append(f"'{surface}' read as {ref.countries[0]}: state and province filters are not supported")
    return after


def _qualifier(reading: Reading, i: int, refs: list[PlaceRef]) -> tuple[str, int, list[PlaceRef]] | None:
    """The country a state or country right after place item i gives it, the next item, and the
    meanings of item i that hold there (a city of that name, when the city is usually elsewhere).

    "London, Ontario", "Paris, TX", "Paris Texas", "Berlin, DE" and "Georgia, USA" are read as one
    place by `normalize_location` (a same-named town in that state when the city is elsewhere).
    None when no such word follows, when it is a city (the next one of a list) or when it does not
    place item i: "Germany, France" and "Berlin, France" are lists, not a French Berlin.
    """
    j = i + 2 if _is_comma(reading, i + 1) else i + 1
    if j >= len(reading.items) or not {ref.kind for ref in refs} & {"city", "subdivision"}:
        return None
    where = [m.place for m in reading.items[j].meanings if m.kind == "place" and m.place is not None]
    kinds = {ref.kind for ref in where}
    if not kinds or not kinds <= _QUALIFIER_KINDS:
        return None
    country = normalize_location(reading.span_text(i, j + 1)).country
    own = {c for m in reading.items[i].meanings if m.place is not None for c in m.place.countries}
    if country is None or country not in {c for ref in where for c in ref.countries}:
        return None
    if country not in own and not kinds & {"subdivision", "subdivision_code"}:
        return None
    held = [ref for ref in refs if country in ref.countries] or [ref for ref in refs if ref.kind == "city"]
    return (country, j + 1, held) if held else None


def _is_comma(reading: Reading, j: int) -> bool:
    return 0 <= j < len(reading.items) and reading.tokens[reading.items[j].start].text == ","


def _read_item(reading: Reading, i: int) -> int:
    """Apply what item i means out of a company context, reporting it when nothing applies; the next item."""
    item = reading.items[i]
    surface = reading.surface(item)
    places = _place_refs(reading, i)
    if places and _names_software(reading, i):
        reading.notes.append(f"'{surface}' not read as a place: here it names software")
        places = []
    after = _apply_place(reading, i, places) if places else i + 1
    used = [_apply(reading, i, meaning, surface) for meaning in item.meanings]
    if places or any(used) or _star_phrase_around(reading, i):
        return after
    token = reading.tokens[item.start]
    if token.kind == "punct" or (item.end - item.start == 1 and token.key in reading.index.stop_words):
        return after
    reading.ignored.append(surface)
    if not item.meanings and token.kind == "word":
        reading.unknown.append(i)
    if item.kinds() & {"company", "group"}:
        reading.notes.append(f"'{surface}' ignored: name a company after 'at' or 'excluding' to filter on it")
    return after


def _names_software(reading: Reading, i: int) -> bool:
    """Place item i is a framework's name here: before "apps"/"framework" or after a language or domain."""
    if i + 1 < len(reading.items) and reading.key(reading.items[i + 1]) in _SOFTWARE_NOUNS:
        return True
    j = i - 1
    while j >= 0:
        key = reading.key(reading.items[j])
        tight = reading.tokens[reading.items[j].start].text in _TIGHT_JOINS
        filler = _is_filler(reading, j) or reading.items[j].kinds() == {"stop"}  # "like", "such as"
        if not (tight or (filler and key not in _PLACE_PREPOSITIONS and key not in _SEPARATORS)):
            break
        j -= 1
    if j < 0:
        return False
    return bool(reading.items[j].kinds() & {"language", "domain"}) or reading.key(reading.items[j]) in _SOFTWARE_NOUNS


def _star_phrase_around(reading: Reading, i: int) -> bool:
    """ "tiny Rust projects" reads as "tiny projects": a star phrase around the languages and domains it sizes."""
    item = reading.items[i]
    j = i + 1
    while j < len(reading.items) and reading.items[j].kinds() & {"language", "domain"}:
        j += 1
    if item.meanings or reading.tokens[item.start].kind != "word" or j == i + 1 or j == len(reading.items):
        return False
    words = (*reading.key(item).split(), *reading.key(reading.items[j]).split())
    stars = [m.value for m in reading.index.phrases.get(words) if m.kind == "stars"]
    if stars:
        reading.stars.append((stars[0], reading.span_text(i, j + 1)))
    return bool(stars)


def _apply(reading: Reading, i: int, meaning: Meaning, surface: str) -> bool:
    """Apply one (non-place) meaning of item i; False when it does not hold in this context."""
    kind, value = meaning.kind, meaning.value
    if kind == "language":
        if not _language_ok(reading, i):
            return False
        reading.languages.append(value)
    elif kind == "domain":
        reading.subjects.append((i, value))
    elif kind == "role":
        reading.roles.add(value)
        reading.developer_words = True
    elif kind == "people":
        reading.roles.add("any")
    elif kind == "stars":
        reading.stars.append((value, surface))
    elif kind == "activity":
        reading.activity.append((int(value), surface))
    elif kind == "scope":
        reading.software = True  # activity on GitHub: about software whatever else it says
        before = i - 1
        while before >= 0 and reading.tokens[reading.items[before].start].kind == "punct":
            before -= 1
        if value == "after" and not (before >= 0 and "activity" in reading.items[before].kinds()):
            return False
        reading.scope = "anywhere"
        reading.notes.append(f"'{surface}': activity anywhere on GitHub counts, not only in the subject's repos")
    elif kind == "private":
        reading.private.append(surface)
    elif kind in ("software", "hint"):
        reading.software = True
        return kind == "software"
    elif kind in ("company", "group"):
        if not _followed_by_company_word(reading, i):
            return False
        _add_company(reading, "include", meaning, surface)
    else:
        return kind == "stop"
    return True


def _followed_by_company_word(reading: Reading, i: int) -> bool:
    """ "Stripe employees": a company name outside any context still counts when staff words follow."""
    return i + 1 < len(reading.items) and reading.key(reading.items[i + 1]) in reading.index.company_followers


def _trigger(reading: Reading, j: int) -> tuple[str, bool] | None:
    """(mode, known_only) when item j opens a company context ("excluding", "at"), else None."""
    if not 0 <= j < len(reading.items):
        return None
    return next((_TRIGGERS[m.kind] for m in reading.items[j].meanings if m.kind in _TRIGGERS), None)


def _is_filler(reading: Reading, j: int) -> bool:
    """Item j is one stop word that means nothing by itself ("who", "those")."""
    item = reading.items[j]
    one_word = item.end - item.start == 1
    return not item.meanings and one_word and reading.tokens[item.start].key in reading.index.stop_words


def _excluded_staff(reading: Reading, j: int) -> tuple[int, bool] | None:
    """ "excluding anyone at Netlify": where the companies start and whether only known names count.

    People words and filler between an exclusion and an inclusion trigger ("at", "working for")
    describe the people left out, so the exclusion wins and the names after the inclusion trigger
    are excluded; the inclusion trigger decides whether unknown names are taken, as it would alone.
    """
    while j < len(reading.items) and (bool({"people", "role"} & reading.items[j].kinds()) or _is_filler(reading, j)):
        j += 1
    inner = _trigger(reading, j)
    if inner is None or inner[0] != "include":
        return None
    return j + 1, inner[1]


def _read_context(reading: Reading, i: int, mode: str, known_only: bool) -> int:
    """Read the companies (and places, when excluding) after the trigger at item i; return the next item to read."""
    start = i + 1
    if mode == "exclude" and (staff := _excluded_staff(reading, start)) is not None:
        start, known_only = staff
    trigger = reading.key(reading.items[i])
    index = reading.index
    subjects: Subjects = (
        "none" if trigger in index.place_only_triggers else "first" if trigger in index.subject_triggers else "also"
    )
    after = _read_list(reading, start, mode, known_only, subjects)
    trigger_item = reading.items[i]
    words = [t for t in reading.tokens[trigger_item.start : trigger_item.end] if t.kind == "word"]
    if after == start and any(t.key not in reading.index.stop_words for t in words):
        reading.ignored.append(reading.surface(trigger_item))  # "outside the office": nothing it could exclude
    return after


def read_words(text: str, tokens: list[Token], skip: frozenset[int], index: GoalIndex, notes: list[str]) -> Reading:
    """Read the goal's words (those not used by its numbers, `skip`) in order, in context."""
    reading = Reading(text, tokens, _items(tokens, index, skip), index, notes=notes)
    i = 0
    while i < len(reading.items):
        trigger = _trigger(reading, i)
        if trigger is not None:
            i = _read_context(reading, i, *trigger)
            continue
        i = _read_item(reading, i)
    return reading
