"""Seed logins of a lookalike run, checked once for every way they arrive (`cmo run --like`, the API's
`lookalike_of`, chat "more like #3"): GitHub login syntax, no duplicates (case-insensitive), at most
`MAX_LOOKALIKE_SEEDS`. A login is a stranger's string: nothing else may reach a search or a path."""

from __future__ import annotations

import re
from collections.abc import Iterable

from foundation.schemas.campaign import LOGIN_PATTERN
from foundation.schemas.plan import MAX_LOOKALIKE_SEEDS

_LOGIN = re.compile(LOGIN_PATTERN)


def parse_seeds(values: Iterable[str]) -> list[str]:
    """The logins (a leading `@` allowed, blanks skipped), or ValueError naming the first bad one."""
    seeds: dict[str, str] = {}
    for raw in values:
        login = raw.strip().removeprefix("@")
        if not login:
            continue
        if not _LOGIN.match(login) or login.endswith("-") or "--" in login:
            raise ValueError(f"{raw.strip()[:60]!r} is not a GitHub login")
        seeds.setdefault(login.casefold(), login)
    if not seeds:
        raise ValueError("no GitHub login given")
    if len(seeds) > MAX_LOOKALIKE_SEEDS:
        raise ValueError(f"at most {MAX_LOOKALIKE_SEEDS} seed logins, got {len(seeds)}")
    return list(seeds.values())


def goal_with_seeds(goal: str, seeds: list[str]) -> str:
    """The goal naming its seeds the way a person would ("... like @alice, @bob"), unless it already
    @-mentions every one: where a job or chat turn stores only its goal, the seeds travel in it, and
    the goal parser reads them back (`agents.goal_parser.lookalike_seeds`)."""
    mentioned = {m.casefold() for m in re.findall(r"@([A-Za-z0-9-]+)", goal)}
    missing = [s for s in seeds if s.casefold() not in mentioned]
    if not missing:
        return goal
    return f"{goal.rstrip(' .')} like {', '.join('@' + s for s in seeds)}"
