"""Mining the matched repos for people in rounds, most promising repos first, only as far as needed.

A repo's contributors cost one REST request, and after GraphQL made enrichment cheap they are most
of a run's budget: a 1,000-lead goal matched 3,600 repos and mined them all for 2,000 candidates.
So the researcher orders the matched repos (most recently pushed, then most starred: where active
people are) and mines a chunk sized to what is missing — twice the leads still needed, less the
candidates waiting, divided by the new candidates a repo has brought so far; the select and the
enrichment waves ask for another chunk only when the candidates run short.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from langgraph.types import Send

from agents.state import RepoTask, State
from foundation.events import reasoning
from foundation.schemas.github import RepoInfo

AGENT = "researcher"
# New candidates a repo is assumed to bring before any is mined, and the least a chunk mines.
FIRST_YIELD = 2.0
MIN_CHUNK = 20
_OLDEST = datetime.min.replace(tzinfo=UTC)


def repo_order(repos: dict[str, RepoInfo]) -> list[str]:
    """Most recently pushed first (where active people are), then most starred, then by name."""
    return [
        r.full_name for r in sorted(repos.values(), key=lambda r: (-(r.pushed_at or _OLDEST).timestamp(), -r.stars, r.full_name))
    ]


def next_chunk(state: State) -> dict:
    """The state update that starts the next round of mining (`mining` = its slice of `repo_order`),
    or {} when the candidates in hand are enough or nothing is left to mine."""
    order, mined = state.get("repo_order", []), state.get("mined", 0)
    if state.get("core_stopped") or mined >= len(order):
        return {}
    need = state["plan"].qualified_wanted - len(state.get("enriched", []))
    pending = len(state.get("candidates", [])) - state.get("dispatched", 0)
    want = 2 * need - pending
    if need <= 0 or want <= 0:
        return {}
    found = len(state.get("candidates", []))
    per_repo = found / mined if mined else FIRST_YIELD
    size = max(MIN_CHUNK, math.ceil(want / max(per_repo, 0.25)))
    end = min(len(order), mined + size)
    if mined:
        reasoning(
            AGENT,
            f"{need} leads still needed and {pending} candidates waiting: mining {end - mined} more repos "
            f"({mined} of {len(order)} mined so far, {per_repo:.1f} new people a repo)",
        )
    return {"mining": [mined, end], "mined": end}


def repo_sends(state: State) -> list[Send]:
    """One `researcher_repo` branch per repo of the round `mining` names."""
    start, end = state.get("mining") or [0, 0]
    repos = state.get("repos", {})
    return [Send("researcher_repo", RepoTask(repo=repos[name])) for name in state.get("repo_order", [])[start:end]]
