"""Numbers in a goal: star ranges, activity windows, minimum commits and how many prospects to find.

These are read with regular expressions over the raw text before the word scan, because their
meaning hangs on the words around the number ("over 1k stars", "in the last 2 weeks", "top 200"):
the spans they cover are then off limits to the word scan, so "stars" or "days" is never reported
as an ignored word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from foundation.limits import MAX_PROSPECTS
from foundation.vocabulary import GoalLexicon

_MAX_DAYS = 3650

_N = r"(\d+(?:[.,]\d+)*(?:\s?k\b)?)"
_GE = r"at\s+least|min(?:imum)?(?:\s+of)?|no\s+(?:fewer|less)\s+than|>=|≥"
_GT = r"more\s+than|over|above|greater\s+than|in\s+excess\s+of|>"
_LT = r"under|less\s+than|fewer\s+than|below|<"
_LE = r"at\s+most|up\s+to|no\s+more\s+than|max(?:imum)?(?:\s+of)?|<=|≤"
_CMP = rf"(?:(?P<ge>{_GE})|(?P<gt>{_GT})|(?P<le>{_LE})|(?P<lt>{_LT}))"
_STARS = r"(?:github\s+)?(?:stars?|stargazers|⭐|★)"
_COMMITS = r"(?:commits?|contributions?|merged\s+(?:prs|pull\s+requests)|prs|pull\s+requests|patches)"
# Not an amount of stars, commits or time, nor one end of a range: then it may be a count.
_NOT_A_UNIT = (
    r"(?!\s*\+?\s*(?:stars?|stargazers|commits?|contributions?|prs|pull|days?|weeks?|months?|years?|%|percent"
    r"|\.\.|-\s*\d|to\s+\d|and\s+\d))"
)
_NOT_A_COUNT = r"(?!\d|[.,]\d|\s?k\b)" + _NOT_A_UNIT  # the whole number, not a prefix of "10%" or "1k"
_PEOPLE = (
    r"(?:leads?|prospects?|candidates?|contacts?|profiles?|results?|people|persons|developers?|devs?|engineers?"
    r"|maintainers?|contributors?|programmers?|folks|names|users|coders|committers)"
)

_STAR_PATTERNS = [
    re.compile(rf"\b(?:(?:between|from)\s+)?{_N}\s*(?:-|–|—|to|and|\.\.)\s*{_N}\s*{_STARS}", re.I),
    re.compile(rf"(?:{_CMP}\s*)?{_N}\s*(?P<plus>\+)?(?:\s+or\s+(?P<more>more|fewer|less))?\s*{_STARS}", re.I),
    re.compile(rf"{_STARS}\s*:?\s*{_N}\s*\.\.\s*{_N}", re.I),
    re.compile(rf"{_STARS}\s*:?\s*{_CMP}\s*{_N}", re.I),
]
_COMMIT_PATTERN = re.compile(rf"(?:{_CMP}\s*)?{_N}\s*(?P<plus>\+)?(?:\s+or\s+more)?\s+{_COMMITS}\b", re.I)
_COUNT_PATTERNS = [
    re.compile(rf"\btop\s+{_N}{_NOT_A_COUNT}", re.I),
    re.compile(
        rf"\b(?:find|get|give\s+me|show\s+me|list|fetch|pull|need|want|source|identify|discover|gather|collect)"
        rf"\s+(?:me\s+|us\s+)?(?:the\s+)?(?:top\s+|first\s+|about\s+|around\s+|~\s*)?{_N}{_NOT_A_COUNT}",
        re.I,
    ),
    re.compile(
        rf"\b(?:up\s+to|at\s+most|max(?:imum)?(?:\s+of)?|no\s+more\s+than|limit(?:ed)?\s+to|cap(?:ped)?\s+at)"
        rf"\s+{_N}{_NOT_A_COUNT}",
        re.I,
    ),
    # Only the number is claimed: the words up to the people word ("40 k8s maintainers") are still read.
    re.compile(rf"\b{_N}{_NOT_A_COUNT}(?=\s+(?:[\w+#.-]+\s+){{0,3}}?{_PEOPLE}\b)", re.I),
    re.compile(rf"^\s*{_N}{_NOT_A_COUNT}\b", re.I),
]


@dataclass
class Quantities:
    """What the numbers of a goal say, and which character spans they used up."""

    stars: str | None = None
    activity_days: int | None = None
    min_contributions: int | None = None
    max_prospects: int | None = None
    mentions_code: bool = False
    spans: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def free(self, start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in self.spans)


def parse_number(text: str) -> int | None:
    """ "1,000" -> 1000, "5k" -> 5000, "1.5k" -> 1500, "1.000" -> 1000; None when not a number."""
    raw = text.strip().lower()
    scale = 1000 if raw.endswith("k") else 1
    raw = raw.rstrip("k").strip()
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", raw) or (scale == 1 and re.fullmatch(r"\d{1,3}(?:\.\d{3})+", raw)):
        raw = raw.replace(",", "").replace(".", "")
    try:
        return round(float(raw.replace(",", ".")) * scale)
    except (ValueError, OverflowError):
        return None


@lru_cache(maxsize=4)
def _activity_patterns(units: tuple[str, ...], number_words: tuple[str, ...]) -> list[re.Pattern[str]]:
    unit = rf"(?P<unit>{'|'.join(units)})s?"
    amount = rf"(?P<n>\d+(?:\.\d+)?|{'|'.join(number_words)})"
    window = r"(?:(?:active\s+)?(?:in|within|during|over|for)\s+)?(?:the\s+)?"
    return [
        re.compile(rf"\b{window}(?:last|past|previous|recent)\s+{amount}\s+{unit}\b", re.I),
        re.compile(rf"\b(?:active\s+)?(?:in|within|during|over)\s+(?:the\s+)?{amount}\s+{unit}\b", re.I),
        re.compile(rf"\b{window}(?:last|past|previous)\s+{unit}\b", re.I),
        re.compile(r"\b(?:(?:active\s+)?(?:in|during)\s+)?this\s+(?P<calendar>week|month|quarter|year)\b", re.I),
        re.compile(r"\b(?:active\s+)?since\s+(?P<date>\d{4}-\d{2}-\d{2}|(?:19|20)\d{2})\b", re.I),
    ]


@lru_cache(maxsize=4)
def _dozen_pattern(number_words: tuple[str, ...]) -> re.Pattern[str]:
    """ "a dozen", "two dozen", "half a dozen": a count said in words, read like "12"."""
    amount = rf"(?P<dozen>half\s+a|{'|'.join(number_words)})"
    return re.compile(rf"\b{amount}\s+dozen\b{_NOT_A_UNIT}", re.I)


def _calendar_days(period: str, today: date) -> int:
    """Days since the start of the current week, month, quarter or year (at least 1)."""
    starts = {
        "week": date.fromordinal(today.toordinal() - today.weekday()),
        "month": today.replace(day=1),
        "quarter": date(today.year, 3 * ((today.month - 1) // 3) + 1, 1),
        "year": date(today.year, 1, 1),
    }
    return max(1, (today - starts[period.lower()]).days)


def _since_days(value: str, today: date) -> int | None:
    try:
        start = date.fromisoformat(value) if "-" in value else date(int(value), 1, 1)
    except ValueError:
        return None
    return max(1, (today - start).days)


def _stars_value(match: re.Match[str]) -> tuple[str | None, str | None]:
    """GitHub qualifier for a star match, and a note when the reading is not literal."""
    numbers = [parse_number(g) for g in match.groups() if g and re.match(r"\d", g)]
    if any(n is None for n in numbers) or not numbers:
        return None, None
    groups = match.groupdict()
    if len(numbers) == 2:
        low, high = sorted(numbers)  # type: ignore[type-var]
        return f"{low}..{high}", None
    n = numbers[0]
    if groups.get("ge") or groups.get("plus") or groups.get("more") == "more":
        return f">={n}", None
    if groups.get("gt"):
        return f">{n}", None
    if groups.get("lt"):
        return f"<{n}", None
    if groups.get("le") or groups.get("more") in ("fewer", "less"):
        return f"<={n}", None
    return f">={n}", f"'{match.group().strip()}' read as stars >= {n}"


def extract_quantities(text: str, today: date, lexicon: GoalLexicon) -> Quantities:
    """Read star ranges, activity windows, minimum commits and counts out of a goal."""
    found = Quantities()

    def claim(pattern: re.Pattern[str]) -> list[re.Match[str]]:
        taken = [m for m in pattern.finditer(text) if found.free(*m.span())]
        found.spans.extend(m.span() for m in taken)
        return taken

    for pattern in _STAR_PATTERNS:
        for match in claim(pattern):
            found.mentions_code = True
            value, note = _stars_value(match)
            if value and found.stars is None:
                found.stars = value
                found.notes.extend([note] if note else [])
            elif value:
                found.notes.append(f"'{match.group().strip()}' ignored: the first star range ({found.stars}) is kept")

    for match in claim(_COMMIT_PATTERN):
        found.mentions_code = True
        n = _first_number(match)
        groups = match.groupdict()
        if n is None or groups.get("lt") or groups.get("le"):
            found.notes.append(f"'{match.group().strip()}' ignored: only a minimum number of commits is supported")
        elif found.min_contributions is None:
            found.min_contributions = n + 1 if groups.get("gt") else n

    units = lexicon.time_units
    patterns = _activity_patterns(tuple(units), tuple(lexicon.number_words))
    for pattern in patterns:
        for match in claim(pattern):
            days = _activity_days(match, today, lexicon)
            if days is None:
                continue
            if found.activity_days is not None:
                found.notes.append(f"'{match.group().strip()}' ignored: the first activity window is kept")
                continue
            found.activity_days = min(max(days, 1), _MAX_DAYS)
            if days != found.activity_days:
                found.notes.append(f"activity window capped at {_MAX_DAYS} days")
            if match.groupdict().get("calendar") or match.groupdict().get("date"):
                found.notes.append(f"'{match.group().strip()}' read as the last {found.activity_days} days")

    for pattern in [*_COUNT_PATTERNS, _dozen_pattern(tuple(lexicon.number_words))]:
        for match in claim(pattern):
            n = _count(match, lexicon)
            if n is None or not 1 <= n <= MAX_PROSPECTS:
                found.notes.append(f"'{match.group().strip()}' ignored: prospect counts run from 1 to {MAX_PROSPECTS}")
            elif found.max_prospects is None:
                found.max_prospects = n
    return found


def _count(match: re.Match[str], lexicon: GoalLexicon) -> int | None:
    """The prospect count of a count match: its number, or so many dozens."""
    dozens = match.groupdict().get("dozen")
    if dozens is None:
        return _first_number(match)
    return 6 if dozens.lower().startswith("half") else lexicon.number_words[dozens.lower()] * 12


def _first_number(match: re.Match[str]) -> int | None:
    number = next((g for g in match.groups() if g and re.match(r"\d", g)), None)
    return parse_number(number) if number else None


def _activity_days(match: re.Match[str], today: date, lexicon: GoalLexicon) -> int | None:
    groups = match.groupdict()
    if groups.get("calendar"):
        return _calendar_days(groups["calendar"], today)
    if groups.get("date"):
        return _since_days(groups["date"], today)
    amount = (groups.get("n") or "1").lower()
    count = lexicon.number_words.get(amount)
    if count is None:
        try:
            count = round(float(amount))
        except (ValueError, OverflowError):
            return None
    return count * lexicon.time_units[groups["unit"].lower()]
