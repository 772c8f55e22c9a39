"""Lookalikes: "developers like @alice, @bob and @carol" — people similar to a few seed people.

The seeds are read through the run's budgeted GitHub client (profile, own repos, repos they pushed
to lately); their profile vectors' mean is the seed profile. Candidate repos are the seeds' own and
pushed-to repos (whose other contributors are their co-contributors) plus searches for their most
common topics; each repo is ranked by how close its text is to the seed profile, copies are merged,
and the closest are mined first by the usual mining, selection (seeds and suppressed people left
out) and enrichment. At the end `rerank` orders the qualified people by how close their own profile
is to the seeds', and each lead's evidence names what they share: topics, languages, co-contributed
repos and the similarity.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from functools import partial

from github import GithubException
from langgraph.runtime import Runtime

from agents.context import Context
from agents.mining import next_chunk
from agents.semantic_research import merge_copies, store
from agents.state import State
from foundation.events import reasoning
from foundation.schemas import Evidence, Prospect, SearchQuery, Signal
from foundation.schemas.github import RepoInfo
from foundation.schemas.plan import SeedProfile
from foundation.subjects import fits
from tools.github import GitHubClient
from tools.github_graphql_queries import OWNED_REPOS
from tools.github_transport import GitHubStop
from tools.semantic import EmbeddingFailed, centroid, cosine, profile_record, profile_text, repo_text
from tools.tracing import traced
from tools.vectors.base import Embedder

AGENT = "lookalike"
OWN_REPOS = 10  # a seed's
PEOPLE_OWN_REPOS = OWNED_REPOS  # a lead's, as many as GraphQL enrichment brings, whichever path enriched them
PUSHED_REPOS = 5
TOPIC_SEARCHES = 4
# Candidate repos mined at most (closest to the seed profile first); mining stops earlier when enough people qualify.
MAX_REPOS = 150
SIGNAL = "lookalike"


def lookalike(state: State, runtime: Runtime[Context]) -> dict:
    plan, ctx = state["plan"], runtime.context
    empty: State = {"repos": {}, "repo_order": [], "mined": 0, "core_stopped": False}
    if ctx.embedder is None:
        reasoning(AGENT, "no embedding model is available: lookalikes cannot be ranked, so none are searched")
        return {**empty, "stop_reasons": ["lookalikes need an embedding model (none is configured)"]}
    try:
        seeds, seed_repos = read_seeds(ctx, plan.lookalike_of)
        if not seeds.logins:
            why = f"none of the seeds is a person on GitHub that may be used: {', '.join(seeds.skipped)}"
            reasoning(AGENT, why)
            return {**empty, "seed_profile": seeds, "stop_reasons": [why]}
        found = {r.full_name: r for r in seed_repos}
        for query in seed_queries(seeds, plan.audience.languages):
            _, repos = traced(
                AGENT,
                "search_repositories",
                {"q": query.q},
                ctx.github.budget,
                partial(ctx.github.search_repositories, query.q, query.sort, query.order, query.max_results),
            )
            found.update((r.full_name, r) for r in repos if r.full_name not in found)
        ranked = rank_repos(ctx, seeds, found, state)
    except GitHubStop as exc:
        return {**empty, "stop_reasons": [str(exc)], "core_stopped": exc.stops_core}
    except EmbeddingFailed as exc:
        reasoning(AGENT, f"the seeds cannot be compared with anyone ({exc}): no lookalikes are searched")
        return {**empty, "stop_reasons": [f"lookalikes need embeddings: {exc}"]}
    merged = merge_copies(ctx, ranked)
    kept = {name: repo for name, repo in ranked.items() if name not in merged}
    reasoning(
        AGENT,
        f"seed profile from {', '.join('@' + s for s in seeds.logins)}: topics {seeds.topics[:6]}, languages "
        f"{seeds.languages[:3]}; {len(found)} candidate repos, the {len(kept)} closest are mined closest first",
        repos=len(kept),
        skipped=seeds.skipped,
    )
    update: State = {**empty, "repos": kept, "repo_order": list(kept), "seed_profile": seeds}
    return {"stop_reasons": [], **update, **next_chunk({**state, **update})}


def read_seeds(ctx: Context, logins: list[str]) -> tuple[SeedProfile, list[RepoInfo]]:
    """Each seed's profile and repos (own ones, and the ones they pushed to lately), their vectors'
    mean, and their most common topics and languages. Unknown logins, organizations and suppressed
    people are skipped (a suppressed person is never collected, not even as a seed)."""
    client = ctx.github
    found: list[str] = []
    skipped: list[str] = []
    texts: list[str] = []
    all_repos: dict[str, RepoInfo] = {}
    for login in logins:
        if ctx.suppression.contains(login=login):
            skipped.append(login)
            continue
        try:
            profile = traced(AGENT, "user", {"login": login}, client.budget, partial(client.user, login))
        except GithubException as exc:
            if exc.status != 404:
                raise
            skipped.append(login)  # an unknown login: the other seeds still count
            continue
        if profile.type != "User" or ctx.suppression.contains(github_id=profile.id, login=profile.login):
            skipped.append(login)  # an org, or a person suppressed by GitHub id or under a new login
            continue
        repos = [r for r in _seed_repos(client, profile.login) if not r.fork]
        all_repos.update((r.full_name, r) for r in repos)
        found.append(profile.login)
        texts.append(profile_text(profile.bio, repos, [r.language for r in repos if r.language]))
    if not found:
        return SeedProfile(logins=[], skipped=skipped), []
    assert ctx.embedder is not None
    vectors = ctx.embedder.embed(texts)
    now = datetime.now(UTC)  # seeds are people: their vectors carry `person` so erasure finds them
    store(ctx, AGENT, [profile_record(login, v, now) for login, v in zip(found, vectors, strict=True)])
    repos = list(all_repos.values())
    topics = Counter(t for r in repos for t in r.topics)
    languages = Counter(r.language for r in repos if r.language)
    seeds = SeedProfile(
        logins=found,
        skipped=skipped,
        vector=centroid(vectors),
        topics=[t for t, _ in topics.most_common()],
        languages=[lang for lang, _ in languages.most_common()],
        repos=sorted(all_repos),
    )
    return seeds, repos


def _seed_repos(client: GitHubClient, login: str) -> list[RepoInfo]:
    owned = traced(AGENT, "owned_repos", {"login": login}, client.budget, lambda: client.owned_repos(login, OWN_REPOS))
    events = traced(AGENT, "public_events", {"login": login}, client.budget, lambda: client.public_events(login))
    own = {r.full_name for r in owned}
    pushed = [e.repo for e in events if e.type == "PushEvent" and e.repo not in own]
    extra = []
    for name in list(dict.fromkeys(pushed))[:PUSHED_REPOS]:
        repo = traced(AGENT, "repo", {"repo": name}, client.budget, partial(client.repo, name))
        if repo is not None:
            extra.append(repo)
    return [*owned, *extra]


def seed_queries(seeds: SeedProfile, languages: list[str]) -> list[SearchQuery]:
    """Searches for the seeds' most common topics (in the goal's language when it names one), or for
    their main language when their repos carry no topics."""
    language = f" language:{languages[0]}" if len(languages) == 1 and " " not in languages[0] else ""
    terms = [f"topic:{t}" for t in seeds.topics[:TOPIC_SEARCHES]]
    if not terms and seeds.languages and not language:
        terms = [f"language:{seeds.languages[0]}" if " " not in seeds.languages[0] else f'language:"{seeds.languages[0]}"']
    return [SearchQuery(q=f"{t}{language} archived:false", sort="updated", max_results=100, purpose="lookalike") for t in terms]


def rank_repos(ctx: Context, seeds: SeedProfile, found: dict[str, RepoInfo], state: State) -> dict[str, RepoInfo]:
    """The found repos that fit the audience (never forks, archived repos or suppressed owners),
    closest to the seed profile first, at most `MAX_REPOS`."""
    audience = state["plan"].audience
    usable = [r for r in found.values() if fits(audience, r) and not ctx.suppression.contains(login=r.owner)]
    if not usable:
        return {}
    assert ctx.embedder is not None
    vectors = ctx.embedder.embed([repo_text(r) for r in usable])
    closeness = {r.full_name: cosine(v, seeds.vector) for r, v in zip(usable, vectors, strict=True)}
    ordered = sorted(usable, key=lambda r: (-closeness[r.full_name], r.full_name))[:MAX_REPOS]
    return {r.full_name: r for r in ordered}


def rerank(prospects: list[Prospect], state: State, ctx: Context) -> list[Prospect]:
    """Qualified people ordered by how close their profile (bio, matched repos, languages) is to the
    seeds', each with a `lookalike` signal naming what they share; seeds never appear."""
    seeds = state.get("seed_profile")
    if seeds is None or not seeds.vector or ctx.embedder is None or not prospects:
        return prospects
    try:
        return _rerank(prospects, state, ctx, ctx.embedder, seeds)
    except EmbeddingFailed as exc:
        reasoning(AGENT, f"leads ranked by score, not by similarity to the seeds ({exc})")
        return prospects


def _rerank(prospects: list[Prospect], state: State, ctx: Context, embedder: Embedder, seeds: SeedProfile) -> list[Prospect]:
    repos = state.get("repos", {})
    own = {s.casefold() for s in seeds.logins}
    people = [p for p in prospects if p.username.casefold() not in own]
    matched = {p.username: [repos[r] for r in p.developer_profile.repositories if r in repos] for p in people}
    owned = _owned_repos(ctx, [p.username for p in people], state.get("owned_repos", {}))
    works = {
        p.username: list({r.full_name: r for r in [*matched[p.username], *owned.get(p.username, [])]}.values()) for p in people
    }
    distinct = {r.full_name: r for rs in works.values() for r in rs}
    repo_vectors = dict(zip(distinct, embedder.embed([repo_text(r) for r in distinct.values()]), strict=True)) if distinct else {}
    texts = [profile_text(p.bio, works[p.username], p.developer_profile.languages) for p in people]
    vectors = embedder.embed(texts) if texts else []
    now = datetime.now(UTC)
    store(ctx, AGENT, [profile_record(p.username, v, now) for p, v in zip(people, vectors, strict=True)])
    similarity = {
        p.username: _similarity(v, [repo_vectors[r.full_name] for r in works[p.username]], seeds.vector)
        for p, v in zip(people, vectors, strict=True)
    }
    ordered = sorted(people, key=lambda p: (-similarity[p.username], p.username))
    return [_explained(p, similarity[p.username], matched[p.username], seeds) for p in ordered]


def _similarity(profile: list[float], repos: list[list[float]], seeds: list[float]) -> float:
    """Half the profile's closeness, half the mean closeness of their repos one by one: a person
    whose every repo is like the seeds' outranks one who sent a patch to one of them."""
    each = [cosine(v, seeds) for v in repos]
    return 0.5 * cosine(profile, seeds) + 0.5 * (sum(each) / len(each) if each else 0.0)


def _owned_repos(ctx: Context, logins: list[str], known: dict[str, list[RepoInfo]]) -> dict[str, list[RepoInfo]]:
    """Each person's own repos: what they build away from the seeds' neighbourhood tells a member of
    the seeds' community from someone who sent one patch there. GraphQL enrichment brought them
    (`known`); people enriched over REST cost one request each. When GitHub stops answering, the
    people not reached are ranked on their matched repos alone."""
    client = ctx.github
    owned = {login: known[login] for login in logins if login in known}
    for login in (login for login in logins if login not in known):
        try:
            repos = traced(
                AGENT, "owned_repos", {"login": login}, client.budget, partial(client.owned_repos, login, PEOPLE_OWN_REPOS)
            )
        except GitHubStop:
            break
        except GithubException:  # renamed, deleted or blocked since they were found: ranked on their matched repos
            continue
        owned[login] = [r for r in repos if not r.fork]
    return owned


def _explained(prospect: Prospect, similarity: float, repos: list[RepoInfo], seeds: SeedProfile) -> Prospect:
    """The prospect with a `lookalike` signal (evidence: similarity in percent, shared topics and
    languages by the repo that carries them, co-contributed seed repos) and a one-line explanation."""
    seed_topics, seed_languages, seed_repos = set(seeds.topics), set(seeds.languages), set(seeds.repos)
    evidence = [Evidence(kind="similarity", count=round(similarity * 100))]
    topics: dict[str, RepoInfo] = {}
    languages: dict[str, RepoInfo] = {}
    for repo in repos:
        for topic in repo.topics:
            if topic in seed_topics:
                topics.setdefault(topic, repo)
        if repo.language in seed_languages:
            languages.setdefault(repo.language or "", repo)
    shared_repos = [r for r in repos if r.full_name in seed_repos]
    evidence += [Evidence(kind="shared_topic", repo=r.full_name, url=r.html_url or None) for r in topics.values()]
    evidence += [Evidence(kind="shared_language", repo=r.full_name, url=r.html_url or None) for r in languages.values()]
    evidence += [Evidence(kind="co_contributed", repo=r.full_name, url=r.html_url or None) for r in shared_repos]
    parts = [f"like {', '.join('@' + s for s in seeds.logins)}: {similarity:.2f} similar"]
    if topics:
        parts.append(f"shared topics {', '.join(sorted(topics)[:5])}")
    if languages:
        parts.append(f"languages {', '.join(sorted(languages))}")
    if shared_repos:
        parts.append(f"co-contributed to {', '.join(r.full_name for r in shared_repos[:3])}")
    explanation = "; ".join(parts) + (f". {prospect.score_explanation}" if prospect.score_explanation else "")
    signals = [s for s in prospect.signals if s.name != SIGNAL]
    # The score of a lookalike lead is its similarity: every reader that ranks by score (the CSV, the
    # service's lead lists, the chat's "#3") then agrees with the run's order.
    return prospect.model_copy(
        update={
            "signals": [*signals, Signal(name=SIGNAL, evidence=evidence)],
            "score_explanation": explanation,
            "score": round(min(1.0, max(0.0, similarity)), 4),
        }
    )
