"""Researcher: runs the plan's GitHub searches, then mines each matched repo's contributors.

`researcher` searches (splitting any query GitHub caps at 1,000 results by star ranges) and keeps
the repos that really match; `fan_out_repos` sends one `researcher_repo` branch per repo;
`select_candidates` turns contributions into the people worth enriching, best first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from langgraph.runtime import Runtime
from langgraph.types import Send

from agents import drops
from agents.context import Context
from agents.enricher import graphql_off, next_wave
from agents.mining import next_chunk, repo_order, repo_sends
from agents.semantic_research import decide, feedback_queries, open_queries, score, subject_text
from agents.state import RepoTask, State
from foundation.events import PROSPECT_FOUND, emit, reasoning
from foundation.schemas import SearchQuery, TargetAudience
from foundation.schemas.github import Candidate, RepoContribution, RepoInfo
from foundation.subjects import fits
from foundation.vocabulary import load_vocabulary
from tools.github import SEARCH_CAP, GitHubClient, split_by_stars
from tools.github_transport import GitHubStop
from tools.identity import is_person
from tools.suppression import SuppressionList
from tools.tracing import traced

AGENT = "researcher"
# Beyond this many candidates per requested lead the weakest ones (fewest commits, no maintained
# repo) are not worth enriching (over REST 3-7 requests a person, over GraphQL a fraction of a point).
CANDIDATES_PER_PROSPECT = 4


def researcher(state: State, runtime: Runtime[Context]) -> dict:
    plan = state["plan"]
    ctx = runtime.context
    semantic = plan.open_ended and ctx.embedder is not None
    # An open-ended subject is searched by its own words (a language-only search finds nothing about it).
    queries = (
        [q for q in plan.queries if q.purpose != "language"] + open_queries(plan, state["goal"]) if semantic else plan.queries
    )
    found: dict[str, RepoInfo] = {}
    ran, stops, core_stopped = _search(ctx.github, queries, found)
    # With semantic relevance deciding, an open-ended subject's words need not all be named literally
    # (a CRDT library may never say "sync"): the relevance score replaces the keyword rule.
    rules = plan.audience.model_copy(update={"keywords": []}) if semantic else plan.audience
    kept = _kept(found, rules, ctx.suppression)
    scores = score(ctx, plan, kept)
    if semantic and not stops:
        more = feedback_queries(plan, scores, kept, {q.q for q in queries})
        extra, stops, core_stopped = _search(ctx.github, more, found)
        ran, queries = ran + extra, queries + more
        kept = _kept(found, rules, ctx.suppression)
        scores = score(ctx, plan, kept)
    if semantic and not scores:  # the embedder failed: the rules' keep-check, keywords included
        kept, semantic = _kept(found, plan.audience, ctx.suppression), False
    searched = f"{ran} of {len(queries)}" if stops else str(len(queries))
    reasoning(
        AGENT,
        f"{searched} searches returned {len(found)} repos; {len(kept)} match the audience "
        "(forks, archived repos and off-topic repos never count)",
        repos=len(kept),
    )
    outcome = decide(ctx, plan, kept, scores)
    update: State = {
        "repos": outcome.kept,
        "repo_order": outcome.order or repo_order(outcome.kept),
        "mined": 0,
        "core_stopped": core_stopped,
    }
    if semantic and outcome.kept:
        reasoning(
            AGENT,
            f"{len(outcome.kept)} repos are close enough to {subject_text(plan)!r}: they are the subject",
            repos=len(outcome.kept),
        )
        audience = plan.audience.model_copy(update={"subject_repos": sorted(outcome.kept)[:1000]})
        update["plan"] = plan.model_copy(update={"audience": audience})
        update["campaign"] = state["campaign"].model_copy(update={"target_audience": audience})
    return {"stop_reasons": stops, **update, **next_chunk({**state, **update})}


def _search(client: GitHubClient, queries: list[SearchQuery], found: dict[str, RepoInfo]) -> tuple[int, list[str], bool]:
    """Run `queries` into `found`: how many ran, and why and whether GitHub stopped them."""
    ran = 0
    try:
        for query in queries:
            for repo in search_all(client, query):
                found.setdefault(repo.full_name, repo)
            ran += 1
    except GitHubStop as exc:
        return ran, [str(exc)], exc.stops_core
    return ran, [], False


def _kept(found: dict[str, RepoInfo], audience: TargetAudience, suppression: SuppressionList) -> dict[str, RepoInfo]:
    """The found repos that fit the audience, tagged with their vocabulary domains. A suppressed
    person's repos are left alone too: their names carry the person's login, which would otherwise
    reach other leads' evidence and drafts ("Your work on <login>/<repo>")."""
    vocabulary = load_vocabulary()
    tagged = [r.model_copy(update={"domains": vocabulary.domains_of(r.topics, r.description)}) for r in found.values()]
    return {repo.full_name: repo for repo in tagged if _keep(repo, audience) and not suppression.contains(login=repo.owner)}


def fan_out_repos(state: State) -> list[Send] | str:
    """One `researcher_repo` branch per repo of the first round (LangGraph runs them in parallel)."""
    if not state.get("mining") or state.get("core_stopped"):
        return "select_candidates"
    return repo_sends(state)


def researcher_repo(task: RepoTask, runtime: Runtime[Context]) -> dict:
    repo = task["repo"]
    client = runtime.context.github
    try:
        people = traced(AGENT, "contributors", {"repo": repo.full_name}, client.budget, lambda: client.contributors(repo))
    except GitHubStop as exc:
        return {"stop_reasons": [str(exc)], "core_stopped": exc.stops_core}
    return {"contributions": people}


def select_candidates(state: State, runtime: Runtime[Context]) -> dict:
    """People (never bots or orgs) whose standing in some matched repo fits the audience's role.

    A selected person keeps all their matched-repo contributions, not only the qualifying ones:
    the enricher looks for recent activity in whichever of those repos was pushed most recently.
    """
    plan = state["plan"]
    audience = plan.audience
    least = max(1, audience.min_contributions)
    fits = {
        "maintainer": lambda c: c.is_maintainer,
        "contributor": lambda c: c.contributions >= least,
        "any": lambda c: c.is_maintainer or c.contributions >= least,
    }[audience.role]
    by_login: dict[str, list[RepoContribution]] = {}
    seeds = {login.casefold() for login in plan.lookalike_of}  # a lookalike run's seeds are never its leads
    for c in state.get("contributions", []):
        if c.login.casefold() in seeds:
            continue
        if is_person(c.login, c.account_type) and not runtime.context.suppression.contains(github_id=c.github_id, login=c.login):
            by_login.setdefault(c.login, []).append(c)
    people = [
        Candidate(login=login, github_id=items[0].github_id, account_type=items[0].account_type, contributions=items)
        for login, items in by_login.items()
        if any(fits(c) for c in items)
    ]
    repos = state.get("repos", {})
    oldest = datetime.min.replace(tzinfo=UTC)

    # A lookalike run mines repos closest to the seeds first (`repo_order`); its people go first in that order too.
    closeness = {name: -i for i, name in enumerate(state.get("repo_order", []))} if plan.lookalike_of else {}

    def strength(p: Candidate) -> tuple:
        """Maintainers first, then people in the most recently pushed repos, then by commits (a
        lookalike run: people of the repos closest to the seeds first, then the same)."""
        latest = max((repos[c.repo].pushed_at or oldest for c in p.contributions if c.repo in repos), default=oldest)
        rule = (any(c.is_maintainer for c in p.contributions), latest.date(), sum(c.contributions for c in p.contributions))
        if closeness:
            return (max(closeness.get(c.repo, -len(closeness)) for c in p.contributions), len(p.contributions), *rule)
        return rule

    fitting = _keep_order(state.get("candidates", [])[: state.get("dispatched", 0)], sorted(people, key=strength, reverse=True))
    limit = CANDIDATES_PER_PROSPECT * plan.qualified_wanted
    ranked = fitting[:limit]
    reported = set(state.get("passed_over", []))
    passed_over = [(i, p.login) for i, p in enumerate(fitting[limit:], start=limit + 1) if p.login not in reported]
    for position, login in passed_over:  # once past the limit, always past it: stronger people only get added
        drops.report(AGENT, login, drops.beyond_limit(position, len(fitting), limit, plan.max_prospects, CANDIDATES_PER_PROSPECT))
    known = {c.login for c in state.get("candidates", [])}
    for person in ranked:
        if person.login not in known:
            emit(PROSPECT_FOUND, AGENT, login=person.login, repos=[c.repo for c in person.contributions])
    reasoning(AGENT, _selection_note(state, len(fitting), limit, len(by_login) - len(people)))
    selected: State = {**state, "candidates": ranked}
    more = next_chunk(selected)
    update = {
        "candidates": ranked,
        "passed_over": [login for _, login in passed_over],
        "graphql_off": [] if state.get("graphql_off") else graphql_off(runtime.context),
    }
    return {**update, **more} if more else {**update, "mining": None, **next_wave(selected)}


def _selection_note(state: State, fitting: int, limit: int, misfits: int) -> str:
    """One sentence whose numbers agree: who fits, how many of them are enriched, who does not fit."""
    plan = state["plan"]
    role = plan.audience.role
    text = (
        f"{fitting} people fit role '{role}' across {state.get('mined', 0)} mined of {len(state.get('repos', {}))} matched repos"
    )
    if fitting > limit:
        text += f"; the strongest {limit} are candidates ({CANDIDATES_PER_PROSPECT}× the {plan.max_prospects} leads asked for)"
    if misfits:
        text += f"; {misfits} other contributors do not fit the role"
    return text


def _keep_order(dispatched: list[Candidate], ranked: list[Candidate]) -> list[Candidate]:
    """The candidates already sent to enrichment keep their places (the waves count them by
    position); the rest follow, strongest first."""
    sent = {c.login for c in dispatched}
    by_login = {c.login: c for c in ranked}
    return [by_login.get(c.login, c) for c in dispatched] + [c for c in ranked if c.login not in sent]


def search_all(client: GitHubClient, query: SearchQuery) -> list[RepoInfo]:
    """Up to `query.max_results` repos. Past GitHub's 1,000 cap the query is sliced by stars."""
    if query.max_results <= SEARCH_CAP:
        _, repos = traced(
            AGENT,
            "search_repositories",
            {"q": query.q},
            client.budget,
            lambda: client.search_repositories(query.q, query.sort, query.order, query.max_results),
        )
        return repos
    base, lo, hi = split_by_stars(query.q)
    return _slices(client, query, base, lo, hi)


def _slices(client: GitHubClient, query: SearchQuery, base: str, lo: int, hi: int) -> list[RepoInfo]:
    """Walk down the star range: each slice is `stars:lo..upper` sorted by stars, and the next
    slice starts at the last star count seen, so no count probes are needed. Repos sharing one
    star count beyond the cap cannot be reached this way; the reasoning event says when that happens."""
    found: dict[str, RepoInfo] = {}
    upper = hi
    while len(found) < query.max_results and upper >= lo:
        q = f"{base} stars:{lo}..{upper}"
        total, repos = traced(
            AGENT,
            "search_repositories",
            {"q": q},
            client.budget,
            partial(client.search_repositories, q, "stars", "desc", SEARCH_CAP),
        )
        fresh = [r for r in repos if r.full_name not in found]
        found.update((r.full_name, r) for r in fresh)
        if total <= SEARCH_CAP or not fresh:
            break
        if upper == hi:
            reasoning(AGENT, f"{query.q!r} has {total} results, above GitHub's 1,000 cap: slicing it by star ranges")
        lowest = repos[-1].stars
        if lowest == upper:
            reasoning(AGENT, f"more than 1,000 repos have exactly {lowest} stars; some of them are out of reach")
        upper = lowest if lowest < upper else lowest - 1
    return list(found.values())[: query.max_results]


def _keep(repo: RepoInfo, audience: TargetAudience) -> bool:
    """README definition (`foundation.subjects.repo_fits`): forks and archived repos never count."""
    return fits(audience, repo)
