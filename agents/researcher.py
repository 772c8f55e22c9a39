"""Researcher: runs the plan's GitHub searches, then mines each matched repo's contributors.

`researcher` searches (splitting any query GitHub caps at 1,000 results by star ranges) and keeps
the repos that really match; `fan_out_repos` sends one `researcher_repo` branch per repo;
`select_candidates` turns contributions into the people worth enriching, best first.
"""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Send

from cmo.schemas import SearchQuery, TargetAudience
from cmo.schemas.github import Candidate, RepoInfo
from cmo.vocabulary import load_vocabulary
from graph.context import Context
from graph.events import PROSPECT_FOUND, emit, reasoning
from graph.state import RepoTask, State
from tools.github import SEARCH_CAP, GitHubClient, split_by_stars
from tools.github_transport import GitHubStop
from tools.identity import is_person
from tools.tracing import traced

AGENT = "researcher"


def researcher(state: State, runtime: Runtime[Context]) -> dict:
    plan = state["plan"]
    client = runtime.context.github
    found: dict[str, RepoInfo] = {}
    stops: list[str] = []
    try:
        for query in plan.queries:
            for repo in _search(client, query):
                found.setdefault(repo.full_name, repo)
    except GitHubStop as exc:
        stops.append(str(exc))
    kept = {name: repo for name, repo in found.items() if _keep(repo, plan.audience)}
    reasoning(
        AGENT,
        f"{len(plan.queries)} searches returned {len(found)} repos; {len(kept)} match the audience "
        "(forks, archived repos and off-topic repos never count)",
        repos=len(kept),
    )
    return {"repos": kept, "stop_reasons": stops}


def fan_out_repos(state: State) -> list[Send] | str:
    """One `researcher_repo` branch per matched repo (LangGraph runs them in parallel)."""
    if not state.get("repos") or state.get("stop_reasons"):
        return "select_candidates"
    return [Send("researcher_repo", RepoTask(repo=repo)) for repo in state["repos"].values()]


def researcher_repo(task: RepoTask, runtime: Runtime[Context]) -> dict:
    repo = task["repo"]
    client = runtime.context.github
    try:
        people = traced(AGENT, "contributors", {"repo": repo.full_name}, client.budget, lambda: client.contributors(repo))
    except GitHubStop as exc:
        return {"stop_reasons": [str(exc)]}
    return {"contributions": people}


def select_candidates(state: State, runtime: Runtime[Context]) -> dict:
    """People (never bots or orgs) whose standing in matched repos fits the audience's role."""
    audience = state["plan"].audience
    by_login: dict[str, Candidate] = {}
    for c in state.get("contributions", []):
        if not is_person(c.login, c.account_type):
            continue
        fits = {
            "maintainer": c.is_maintainer,
            "contributor": c.contributions >= max(1, audience.min_contributions),
            "any": c.is_maintainer or c.contributions >= max(1, audience.min_contributions),
        }[audience.role]
        if fits:
            person = by_login.setdefault(c.login, Candidate(login=c.login, github_id=c.github_id, account_type=c.account_type))
            person.contributions.append(c)
    ranked = sorted(
        by_login.values(),
        key=lambda p: (any(c.is_maintainer for c in p.contributions), sum(c.contributions for c in p.contributions)),
        reverse=True,
    )
    for person in ranked:
        emit(PROSPECT_FOUND, AGENT, login=person.login, repos=[c.repo for c in person.contributions])
    reasoning(AGENT, f"{len(ranked)} people fit role '{audience.role}' across {len(state.get('repos', {}))} repos")
    return {"candidates": ranked}


def _search(client: GitHubClient, query: SearchQuery) -> list[RepoInfo]:
    total, repos = traced(
        AGENT, "search_repositories", {"q": query.q}, client.budget,
        lambda: client.search_repositories(query.q, query.sort, query.order, query.max_results),
    )
    if total <= SEARCH_CAP or len(repos) >= query.max_results:
        return repos
    reasoning(AGENT, f"{query.q!r} has {total} results, above GitHub's 1,000 cap: splitting by star ranges")
    base, lo, hi = split_by_stars(query.q)
    return _split(client, query, base, lo, hi)


def _split(client: GitHubClient, query: SearchQuery, base: str, lo: int, hi: int) -> list[RepoInfo]:
    """Bisect the star range until every slice fits under the cap, then page through each slice."""
    q = f"{base} stars:{lo}..{hi}"
    count = traced(AGENT, "search_count", {"q": q}, client.budget, lambda: client.search_count(q))
    if count > SEARCH_CAP and hi > lo:
        mid = (lo + hi) // 2
        return _split(client, query, base, lo, mid) + _split(client, query, base, mid + 1, hi)
    _, repos = traced(
        AGENT, "search_repositories", {"q": q}, client.budget,
        lambda: client.search_repositories(q, query.sort, query.order, min(query.max_results, SEARCH_CAP)),
    )
    return repos


def _keep(repo: RepoInfo, audience: TargetAudience) -> bool:
    """README definition: forks and archived repos never count; language and domain must match."""
    if repo.fork or repo.archived:
        return False
    if audience.languages and (repo.language or "").lower() not in {l.lower() for l in audience.languages}:
        return False
    repo.domains = load_vocabulary().domains_of(repo.topics, repo.description)
    if audience.domains:
        return bool(set(repo.domains) & set(audience.domains))
    if audience.topics:
        return bool(set(repo.topics) & set(audience.topics))
    return True
