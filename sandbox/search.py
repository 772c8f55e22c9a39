"""GitHub search `q` strings over a `World`: parsing, qualifier semantics, sorting.

Covers what GitHub documents for repository and user search and what a planner emits: free text
(with quoted phrases), qualifiers with GitHub's range syntax, `-qualifier` / `NOT` negation and
top-level `OR` (no parentheses). Whatever GitHub would reject raises `SearchError`, which the server
turns into a 422 the way GitHub does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from sandbox.world import Account, Repo, World

Kind = Literal["repositories", "users"]
MAX_QUERY_LENGTH = 256

_TOKEN = re.compile(r'-?[\w.+#-]+:"[^"]*"|-?"[^"]*"|\S+')
_RANGE = re.compile(r"^(?:(?P<op>[<>]=?)(?P<bound>[^<>]+)|(?P<lo>[^.]*)\.\.(?P<hi>[^.]*)|(?P<eq>[^<>.]+))$")
_WORD = re.compile(r"\w+")
# Linguist aliases GitHub accepts in `language:`; anything else must be the language's name.
_LANGUAGE_ALIASES = {
    "cpp": "c++",
    "csharp": "c#",
    "golang": "go",
    "js": "javascript",
    "ts": "typescript",
    "python3": "python",
    "jupyter": "jupyter notebook",
}


class SearchError(ValueError):
    """A query GitHub would answer with 422 Validation Failed."""


def _interval(spec: str) -> tuple[str | None, bool, str | None, bool]:
    match = _RANGE.match(spec.strip())
    if not match:
        raise SearchError(f"{spec!r} is not a valid range")
    if match["op"]:
        bound, inclusive = match["bound"], match["op"].endswith("=")
        return (bound, inclusive, None, False) if match["op"][0] == ">" else (None, False, bound, inclusive)
    if match["eq"] is not None:
        return match["eq"], True, match["eq"], True
    low, high = (None if b in ("*", "") else b for b in (match["lo"], match["hi"]))
    return low, True, high, True


def _within(value: object, low: object | None, low_inc: bool, high: object | None, high_inc: bool) -> bool:
    above = low is None or (value >= low if low_inc else value > low)  # type: ignore[operator]
    below = high is None or (value <= high if high_inc else value < high)  # type: ignore[operator]
    return above and below


def int_range(spec: str) -> Callable[[int], bool]:
    """GitHub number ranges: `N`, `>N`, `>=N`, `<N`, `<=N`, `a..b`, `a..*`, `*..b`."""
    low, low_inc, high, high_inc = _interval(spec)
    try:
        lo, hi = (None if b is None else int(b) for b in (low, high))
    except ValueError as exc:
        raise SearchError(f"{spec!r} is not a number range") from exc
    return lambda value: _within(value, lo, low_inc, hi, high_inc)


def _instant(text: str) -> datetime | date:
    try:
        if "T" not in text:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SearchError(f"{text!r} is not a date (YYYY-MM-DD)") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def date_range(spec: str) -> Callable[[datetime], bool]:
    """The same ranges over dates; a bare day covers the whole day (UTC), as on GitHub."""
    low, low_inc, high, high_inc = _interval(spec)
    lo = _instant(low) if low is not None else None
    hi = _instant(high) if high is not None else None
    if type(lo) is date:
        lo, low_inc = _midnight(lo) + (timedelta(0) if low_inc else timedelta(days=1)), True
    if type(hi) is date:
        hi, high_inc = _midnight(hi) + (timedelta(days=1) if high_inc else timedelta(0)), False
    return lambda value: _within(value, lo, low_inc, hi, high_inc)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@lru_cache(maxsize=1 << 16)
def _norm(text: str | None) -> str:
    """Words, space-padded: free text matches whole words and phrases, not substrings of words."""
    return " " + " ".join(_WORD.findall((text or "").casefold())) + " "


def _language(name: str | None) -> str:
    key = (name or "").casefold().replace("-", " ")
    return _LANGUAGE_ALIASES.get(key, key)


def _flag(value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise SearchError(f"{value!r} is not true or false")
    return value.lower() == "true"


@dataclass(frozen=True, slots=True)
class Clause:
    """One term of a query; `key` is empty for free text."""

    key: str
    value: str
    negated: bool


def parse_query(q: str, qualifiers: frozenset[str]) -> list[list[Clause]]:
    """Alternatives (top-level OR) of conjunctions of clauses."""
    if not q.strip():
        raise SearchError("q must not be empty")
    if len(q) > MAX_QUERY_LENGTH:
        raise SearchError(f"The search is longer than {MAX_QUERY_LENGTH} characters.")
    groups: list[list[Clause]] = [[]]
    negate_next = False
    for token in _TOKEN.findall(q):
        if token in ("OR", "AND", "NOT"):
            negate_next = token == "NOT"
            if token == "OR":
                groups.append([])
            continue
        negated = negate_next or (token.startswith("-") and len(token) > 1)
        negate_next = False
        body = token[1:] if token.startswith("-") and len(token) > 1 else token
        key, colon, value = body.partition(":")
        if colon and not body.startswith('"'):
            if key.lower() not in qualifiers:
                raise SearchError(f"The qualifier {key!r} is not supported; known: {', '.join(sorted(qualifiers))}")
            groups[-1].append(Clause(key.lower(), value.strip('"'), negated))
        else:
            groups[-1].append(Clause("", body.strip('"'), negated))
    groups = [g for g in groups if g]
    if not groups:
        raise SearchError("q has no search terms")
    return groups


Item = Repo | Account
Predicate = Callable[[Any], bool]


class Searcher:
    """Runs searches against one world; results per (kind, q, sort, order) are cached for paging."""

    REPO_QUALIFIERS = frozenset(
        [
            "language",
            "topic",
            "topics",
            "stars",
            "forks",
            "pushed",
            "created",
            "archived",
            "fork",
            "in",
            "user",
            "org",
            "repo",
            "license",
            "is",
        ]
    )
    USER_QUALIFIERS = frozenset(["type", "location", "language", "followers", "repos", "created", "in"])
    REPO_FIELDS = ("name", "description", "topics")
    USER_FIELDS = ("login", "name", "email")

    def __init__(self, world: World) -> None:
        self.world = world
        self.search = lru_cache(maxsize=256)(self._search)
        by_id: Callable[[Any], int] = lambda item: item.id  # noqa: E731 - ties keep id order
        self._repos = sorted(world.repos.values(), key=by_id)
        self._accounts = sorted((a for a in world.accounts.values() if a.type != "Bot"), key=by_id)  # bots: unsearchable
        self._sorts: dict[Kind, tuple[Callable[[Any], Any], dict[str, Callable[[Any], Any]]]] = {
            "repositories": (
                lambda r: r.stars,
                {"forks": lambda r: r.forks, "updated": lambda r: r.updated_at, "help-wanted-issues": lambda r: r.open_issues},
            ),
            "users": (lambda a: a.followers, {"repositories": self._repo_count, "joined": lambda a: a.created_at}),
        }

    def _search(self, kind: Kind, q: str, sort: str, order: str) -> tuple[Item, ...]:
        """Matches sorted by `sort` (best match: stars / followers), `order` desc unless "asc"."""
        if kind == "repositories":
            items: list[Any] = self._repos
            predicates = [self._repo_group(group) for group in parse_query(q, self.REPO_QUALIFIERS)]
        else:
            items = self._accounts
            predicates = [self._user_group(group) for group in parse_query(q, self.USER_QUALIFIERS)]
        default, keys = self._sorts[kind]
        found = [item for item in items if any(p(item) for p in predicates)]
        found.sort(key=keys.get(sort, default), reverse=order != "asc")
        return tuple(found)

    def _repo_count(self, account: Account) -> int:
        return len(self.world.repos_by_owner.get(account.login, ()))

    @staticmethod
    def _fields(group: list[Clause], default: tuple[str, ...]) -> tuple[str, ...]:
        chosen = [f for c in group if c.key == "in" for f in c.value.lower().split(",")]
        return tuple(f if f != "readme" else "description" for f in chosen) or default

    @staticmethod
    def _all(tests: list[tuple[Predicate, bool]]) -> Predicate:
        return lambda item: all(test(item) != negated for test, negated in tests)

    @staticmethod
    def _text(term: str, fields: tuple[str, ...], getters: dict[str, Callable[[Any], str]]) -> Predicate:
        needle = _norm(term)
        return lambda item: any(needle in getters[f](item) for f in fields if f in getters)

    def _repo_group(self, group: list[Clause]) -> Predicate:
        forks = next((c.value.lower() for c in group if c.key == "fork"), "false")
        tests: list[tuple[Predicate, bool]] = []
        if forks != "true":  # GitHub leaves forks out unless asked (fork:true includes, fork:only restricts)
            tests.append((lambda r: r.fork, forks != "only"))
        fields = self._fields(group, self.REPO_FIELDS)
        getters: dict[str, Callable[[Any], str]] = {
            "name": lambda r: _norm(r.name),
            "description": lambda r: _norm(r.description),
            "topics": lambda r: _norm(" ".join(r.topics)),
        }
        for c in group:
            if c.key not in ("fork", "in"):
                tests.append((self._text(c.value, fields, getters) if not c.key else self._repo_test(c), c.negated))
        return self._all(tests)

    def _repo_test(self, c: Clause) -> Predicate:
        value = c.value.lower()
        accounts = self.world.accounts
        match c.key:
            case "language":
                return lambda r: _language(r.language) == _language(value)
            case "topic":
                return lambda r: value in (t.lower() for t in r.topics)
            case "topics":
                count = int_range(value)
                return lambda r: count(len(r.topics))
            case "stars" | "forks":
                within = int_range(value)
                return (lambda r: within(r.stars)) if c.key == "stars" else (lambda r: within(r.forks))
            case "pushed" | "created":
                when = date_range(value)
                return (lambda r: when(r.pushed_at)) if c.key == "pushed" else (lambda r: when(r.created_at))
            case "archived":
                wanted = _flag(value)
                return lambda r: r.archived == wanted
            case "user":
                return lambda r: r.owner.lower() == value
            case "org":
                return lambda r: r.owner.lower() == value and accounts[r.owner].type == "Organization"
            case "repo":
                return lambda r: r.full_name.lower() == value
            case "license":
                return lambda r: (r.license or "") == value
            case _:  # is:
                if value not in ("public", "private"):
                    raise SearchError(f"is:{value} is not supported")
                return lambda r: value == "public"

    def _user_group(self, group: list[Clause]) -> Predicate:
        fields = self._fields(group, self.USER_FIELDS)
        getters: dict[str, Callable[[Any], str]] = {
            "login": lambda a: _norm(a.login),
            "name": lambda a: _norm(a.name),
            "email": lambda a: _norm(a.email),
        }
        tests: list[tuple[Predicate, bool]] = []
        for c in group:
            if c.key != "in":
                tests.append((self._text(c.value, fields, getters) if not c.key else self._user_test(c), c.negated))
        return self._all(tests)

    def _user_test(self, c: Clause) -> Predicate:
        value = c.value.casefold()
        match c.key:
            case "type":
                if value not in ("user", "org"):
                    raise SearchError(f"type:{value} is not user or org")
                kind = "User" if value == "user" else "Organization"
                return lambda a: a.type == kind
            case "location":
                return lambda a: value in (a.location or "").casefold()
            case "language":
                return lambda a: any(
                    _language(r.language) == _language(value) and not r.fork for r in self.world.repos_by_owner.get(a.login, ())
                )
            case "followers":
                within = int_range(value)
                return lambda a: within(a.followers)
            case "repos":
                within = int_range(value)
                return lambda a: within(self._repo_count(a))
            case _:  # created:
                when = date_range(value)
                return lambda a: when(a.created_at)
