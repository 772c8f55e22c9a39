"""Enricher: who of the candidates qualifies (a person, in the audience's places and companies,
active where it counts), with scored evidence; then rank.

`next_wave` picks the best candidates still needed and `fan_out_candidates` sends the wave to the
GraphQL path (`agents.enricher_graphql`, one branch per batch) or, when GraphQL cannot serve, to the
REST path here (one `enricher` branch per person: profile, orgs, events and commits). Both screen
people out before spending on activity and decide alike (`agents.enrichment`). `enricher_wave`
closes a wave; `rank` merges duplicate accounts, sorts by score and keeps the plan's `max_prospects`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from langgraph.runtime import Runtime
from langgraph.types import Send

from agents import drops
from agents.context import Context
from agents.drops import Drop
from agents.enrichment import build_prospect, counts_for, is_active, screen
from agents.lookalike import rerank
from agents.mining import next_chunk, repo_sends
from agents.state import BatchTask, CandidateTask, State
from foundation.events import PROSPECT_ENRICHED, emit, reasoning
from foundation.schemas import Campaign, TargetAudience
from foundation.schemas.github import Candidate, EventInfo, RepoInfo, UserProfile
from tools.github import GitHubClient
from tools.github_graphql_queries import PEOPLE_PER_QUERY
from tools.github_transport import GitHubStop
from tools.identity import is_person, noreply_user_id
from tools.scoring import rank_prospects
from tools.signals import Activity
from tools.suppression import SuppressionList
from tools.tracing import traced

AGENT = "enricher"
REPOS_PER_PERSON = 4
EVENT_REPO_LOOKUPS = 3
WAVE_MIN = 25


def next_wave(state: State) -> dict:
    """The next slice of candidates to enrich, sized to what is still missing.

    Candidates are enriched best-first in waves of twice the leads still needed (at least
    `WAVE_MIN`), so a goal that is met early stops spending requests on weaker candidates.
    """
    candidates = state.get("candidates", [])
    dispatched = state.get("dispatched", 0)
    need = state["plan"].qualified_wanted - len(state.get("enriched", []))
    if state.get("core_stopped") or need <= 0 or dispatched >= len(candidates):
        return {"wave": []}
    wave = candidates[dispatched : dispatched + max(WAVE_MIN, 2 * need)]
    # Count what was sent, not the wave's room: candidates mined later take the places after these.
    return {"wave": wave, "dispatched": dispatched + len(wave)}


def enricher_wave(state: State, runtime: Runtime[Context]) -> dict:
    """Barrier after a wave: report progress and choose the next wave, or, when the candidates ran
    out before the leads did, another round of mining repos (`agents.mining`), or the end."""
    wave = next_wave(state)
    if wave["wave"]:
        reasoning(AGENT, f"{len(state.get('enriched', []))} qualified so far; enriching {len(wave['wave'])} more candidates")
        return {**wave, "mining": None}
    return {**wave, "mining": None, **next_chunk(state)}


def next_step(state: State) -> list[Send] | str:
    """After selecting candidates or a wave: enrich the next wave, mine more repos, or rank."""
    if state.get("wave"):
        return fan_out_candidates(state)
    if state.get("mining"):
        return repo_sends(state)
    return "rank"


def fan_out_candidates(state: State) -> list[Send] | str:
    """One `enricher_batch` branch per `PEOPLE_PER_QUERY` candidates of the current wave (GraphQL),
    or one `enricher` branch per candidate once GraphQL is off (REST)."""
    if not state.get("wave"):
        return "rank"
    repos = state.get("repos", {})
    if not state.get("graphql_off"):
        wave = state["wave"]
        return [
            Send(
                "enricher_batch",
                BatchTask(
                    candidates=batch,
                    repos={x.repo: repos[x.repo] for c in batch for x in c.contributions},
                    campaign=state["campaign"],
                    keep_owned=bool(plan.lookalike_of) if (plan := state.get("plan")) else False,
                ),
            )
            for batch in (wave[i : i + PEOPLE_PER_QUERY] for i in range(0, len(wave), PEOPLE_PER_QUERY))
        ]
    return [
        Send(
            "enricher",
            CandidateTask(
                candidate=c,
                repos={x.repo: repos[x.repo] for x in c.contributions},
                campaign=state["campaign"],
            ),
        )
        for c in state["wave"]
    ]


def enricher(task: CandidateTask, runtime: Runtime[Context]) -> dict:
    """REST path: one person, 3-7 requests."""
    ctx = runtime.context
    try:
        found = enrich_rest(
            task["candidate"],
            task["repos"],
            task["campaign"],
            ctx.github,
            ctx.now,
            ctx.settings.cmo_retention_days,
            ctx.suppression,
        )
    except GitHubStop as exc:
        return {"stop_reasons": [str(exc)], "core_stopped": exc.stops_core}
    return {**without_suppressed(found, ctx), "enriched_via": {"rest": 1}}


def graphql_off(ctx: Context) -> list[str]:
    """Why this run cannot enrich over GraphQL from the start ([]: it can)."""
    if not ctx.settings.github_graphql:
        return ["GITHUB_GRAPHQL=false"]
    if not ctx.github.graphql.authenticated:
        return ["GitHub's GraphQL API needs a token or a GitHub App; none is set"]
    return []


def without_suppressed(found: dict, ctx: Context) -> dict:
    """Drop people suppressed by what only their profile revealed (an email or a domain)."""
    kept = [p for p in found.get("enriched", []) if not ctx.suppression.contains_prospect(p)]
    gone = len(found.get("enriched", [])) - len(kept)
    if not gone:
        return found
    return {**found, "enriched": kept, "dropped": [*found.get("dropped", []), *["suppressed"] * gone]}


def left_out(login: str, profile: UserProfile, drop: Drop, suppression: SuppressionList) -> dict:
    """The state update for a person screened out: named in a `prospect.dropped` event, unless
    their profile shows them suppressed (then only counted as such: `agents.drops`)."""
    if suppression.contains(github_id=profile.id, login=profile.login, email=profile.email):
        return {"dropped": ["suppressed"]}
    return {"dropped": [drops.report(AGENT, login, drop)]}


_REST_SOURCES = {
    "profile": "GET /users/{login}",
    "commit_email": "GET /repos/{owner}/{repo}/commits (author email)",
    "activity": "GET /repos/{owner}/{repo}/contributors, /repos/{owner}/{repo}/commits, /users/{login}/events/public",
}


def enrich_rest(
    candidate: Candidate,
    repos: dict[str, RepoInfo],
    campaign: Campaign,
    client: GitHubClient,
    now: datetime,
    retention: int,
    suppression: SuppressionList,
) -> dict:
    """One person over REST: profile, orgs (only when a company matters), then activity until the
    first sign of own work in a repo that counts (`counts_for`) within the window."""
    audience = campaign.target_audience

    def call(tool: str, fn, **args: str):
        return traced(AGENT, tool, {"login": candidate.login, **args}, client.budget, fn)

    profile = call("user_profile", lambda: client.user(candidate.login))
    orgs: list[str] | None = None
    if is_person(profile.login, profile.type) and (audience.exclude_companies or audience.include_companies):
        orgs = call("user_orgs", lambda: client.orgs(candidate.login))
    place, out = screen(profile, orgs, audience)
    if out is not None:
        return left_out(candidate.login, profile, out, suppression)
    since = now - timedelta(days=max(audience.activity_days, 90))
    window = now - timedelta(days=audience.activity_days)
    known = dict(repos)  # repos whose facts we hold: the matched ones, then the person's own
    events = call("public_events", lambda: client.public_events(candidate.login))
    # Work in a suppressed person's repo is never evidence: its name carries their login.
    events = [e for e in events if not suppression.contains(login=e.repo.partition("/")[0])]
    activity = Activity(events=_counting_events(events, known, audience, client, call))
    # Only a repo pushed within the window can hold a commit in it; stop at the first sign of activity.
    checked: list[str] = []
    for repo in _pushed_since(candidate, repos, window):
        if is_active(activity, window):
            break
        activity.commits += call("repo_commits", lambda repo=repo: client.commits(repo, candidate.login, since), repo=repo)
        checked.append(repo)
    if not is_active(activity, window):
        # Events reach back 30 days only: look for commits in the person's own recently pushed repos.
        owned = call("owned_repos", lambda: client.owned_repos(candidate.login))
        known.update((r.full_name, r) for r in owned)
        fresh = [
            r.full_name
            for r in owned
            if r.pushed_at and r.pushed_at > window and r.full_name not in checked and counts_for(audience, r)
        ]
        for repo in fresh[:2]:
            activity.commits += call("repo_commits", lambda repo=repo: client.commits(repo, candidate.login, since), repo=repo)
            if is_active(activity, window):
                break
    if not is_active(activity, window):
        return left_out(candidate.login, profile, drops.inactive(activity, window, since, audience), suppression)
    activity.fetched_at = datetime.now(UTC)  # its last request has just been answered
    prospect = build_prospect(candidate, repos, profile, place, activity, audience, now, retention, _REST_SOURCES)
    linked = {i for c in activity.commits if (i := noreply_user_id(c.author_email)) and i != profile.id}
    return {"enriched": [prospect], "links": {profile.id: sorted(linked)} if linked else {}}


def _counting_events(
    events: list[EventInfo], known: dict[str, RepoInfo], audience: TargetAudience, client: GitHubClient, call
) -> list[EventInfo]:
    """The events that show own work where it counts. Anywhere: every push, pull request or branch.
    In the subject: pushes (commits, a pull request's included) to repos that fit the audience; a
    repo we hold no facts for is looked up once (newest events first, at most `EVENT_REPO_LOOKUPS`)."""
    if audience.activity_scope == "anywhere":
        return events
    pushes = sorted((e for e in events if e.type == "PushEvent"), key=lambda e: e.created_at, reverse=True)
    looked = 0
    kept: list[EventInfo] = []
    for event in pushes:
        if event.repo not in known and looked < EVENT_REPO_LOOKUPS:
            looked += 1
            facts = call("repo_facts", lambda name=event.repo: client.repo(name), repo=event.repo)
            if facts is not None:
                known[event.repo] = facts
        if event.repo in known and counts_for(audience, known[event.repo]):
            kept.append(event)
    return kept


def _pushed_since(candidate: Candidate, repos: dict[str, RepoInfo], since: datetime) -> list[str]:
    """The person's matched repos pushed since `since`, newest first, at most `REPOS_PER_PERSON`.

    GitHub gives an empty repo no `pushed_at`: it counts as pushed at `since`, so it sorts last."""
    recent = [c.repo for c in candidate.contributions if (repos[c.repo].pushed_at or since) >= since]
    return sorted(recent, key=lambda r: repos[r].pushed_at or since, reverse=True)[:REPOS_PER_PERSON]


def rank(state: State, runtime: Runtime[Context]) -> dict:
    """Merge accounts of one person, order by score, keep the best `max_prospects`; name everyone
    else who got this far in a `prospect.dropped` event (merged, ranked below the cut, never enriched)."""
    enriched = state.get("enriched", [])
    merged = rank_prospects(enriched, state.get("links", {}))
    if state["plan"].lookalike_of:  # closest to the seeds first, each with what they share
        merged = rerank(merged, state, runtime.context)
    ranked = merged[: state["plan"].max_prospects]
    for p in ranked:
        emit(PROSPECT_ENRICHED, AGENT, prospect_id=p.id, email=p.email, confidence_score=p.score, signals=p.signal_names())
    for p in merged:
        for login in p.merged_logins:
            drops.report(AGENT, login, drops.merged_into(p.username))
    for position, p in enumerate(merged[len(ranked) :], start=len(ranked) + 1):
        drops.report(AGENT, p.username, drops.below_top(position, p, ranked))
    candidates, dispatched = state.get("candidates", []), state.get("dispatched", 0)
    for position, c in enumerate(candidates[dispatched:], start=dispatched + 1):
        drops.report(AGENT, c.login, drops.not_reached(position, len(candidates), bool(state.get("core_stopped"))))
    dropped = state.get("dropped", [])
    counts = {reason: dropped.count(reason) for reason in sorted(set(dropped))}
    reasoning(
        AGENT,
        f"looked up {dispatched} of {len(candidates)} candidates: {len(enriched)} qualified ({len(merged)} after merging "
        f"duplicate accounts), screened out: {counts or 'none'}; kept the top {len(ranked)}",
    )
    return {"prospects": ranked}
