"""Enricher, GraphQL path: a batch of candidates in one query (`tools.github_graphql_queries`).

One query of up to 50 people gives profile, orgs and every repo they worked in within the window
(with the repo's facts, so `counts_for` can tell work in the subject from work elsewhere); a second,
only for the people who qualified, gives their latest commits where they committed (dates, links,
commit emails and the noreply addresses that link a person's second account). A few points per 50
people where REST spends 3-7 requests a person.

When GraphQL cannot serve (no token, no endpoint, persistent errors, its bucket spent), the batch is
enriched over REST and the state's `graphql_off` makes every later wave use REST: the run says so.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from langgraph.runtime import Runtime

from agents import drops
from agents.context import Context
from agents.enricher import AGENT, enrich_rest, left_out, without_suppressed
from agents.enrichment import build_prospect, counts_for, is_active, screen
from agents.state import BatchTask
from foundation.events import reasoning
from foundation.schemas.github import Candidate, CommitInfo, PersonFacts
from tools.github_graphql import GraphQLUnavailable
from tools.github_graphql_queries import fetch_commits, fetch_people
from tools.github_transport import GitHubStop
from tools.identity import noreply_user_id
from tools.signals import Activity
from tools.tracing import traced

COMMIT_REPOS_PER_PERSON = 2
_SOURCES = {
    "profile": 'POST /graphql user(login: "{login}")',
    "commit_email": "POST /graphql repository.defaultBranchRef.history (author email)",
    "activity": "GET /repos/{owner}/{repo}/contributors, POST /graphql user.contributionsCollection",
}


def enricher_batch(task: BatchTask, runtime: Runtime[Context]) -> dict:
    ctx = runtime.context
    client, audience = ctx.github, task["campaign"].target_audience
    since = ctx.now - timedelta(days=max(audience.activity_days, 90))
    window = ctx.now - timedelta(days=audience.activity_days)
    logins = [c.login for c in task["candidates"]]
    try:
        facts = traced(
            AGENT,
            "graphql_people",
            {"people": len(logins), "logins": logins},
            client.budget,
            lambda: fetch_people(client.graphql, logins, since, ctx.now),
        )
    except GraphQLUnavailable as exc:
        reasoning(AGENT, f"GraphQL is unavailable ({exc}); enriching over REST from here on")
        return {**_over_rest(task, ctx), "graphql_off": [str(exc)]}
    found: dict = {"enriched": [], "dropped": [], "links": {}, "owned_repos": {}, "enriched_via": {"graphql": len(logins)}}
    qualified: list[tuple[Candidate, PersonFacts, Activity]] = []
    places = {}
    for candidate in task["candidates"]:
        person = facts.get(candidate.login)
        if person is None:  # an organization, a bot or a deleted account
            found["dropped"].append(drops.report(AGENT, candidate.login, drops.not_a_person(None, found=False)))
            continue
        place, out = screen(person.profile, person.orgs, audience)
        if out is not None:
            found["dropped"] += left_out(candidate.login, person.profile, out, ctx.suppression)["dropped"]
            continue
        activity = Activity(
            work=[
                w
                for w in person.activity
                if w.last_at >= since and counts_for(audience, w.repo) and not ctx.suppression.contains(login=w.repo.owner)
            ]
        )
        if not is_active(activity, window):
            found["dropped"] += left_out(
                candidate.login, person.profile, drops.inactive(activity, window, since, audience), ctx.suppression
            )["dropped"]
            continue
        qualified.append((candidate, person, activity))
        places[candidate.login] = place
    try:
        commits, off = _latest_commits(qualified, since, ctx)
    except GitHubStop as exc:  # REST could not finish them either: the people screened so far are kept out
        return {
            "stop_reasons": [str(exc)],
            "core_stopped": exc.stops_core,
            "dropped": found["dropped"],
            "graphql_off": ["stopped"],
        }
    if off:
        found["graphql_off"] = off
    for candidate, person, activity in qualified:
        activity.commits = [c for w in _commit_repos(activity) for c in commits.get((w, candidate.login), [])]
        prospect = build_prospect(
            candidate,
            task["repos"],
            person.profile,
            places[candidate.login],
            activity,
            audience,
            ctx.now,
            ctx.settings.cmo_retention_days,
            _SOURCES,
        )
        found["enriched"].append(prospect)
        if task.get("keep_owned"):
            found["owned_repos"][candidate.login] = person.owned
        linked = {i for c in activity.commits if (i := noreply_user_id(c.author_email)) and i != person.profile.id}
        if linked:
            found["links"][person.profile.id] = sorted(linked)
    return without_suppressed(found, ctx)


def _commit_repos(activity: Activity) -> list[str]:
    """Where to read a person's commits: the repos they last committed to, newest first."""
    commit_work = sorted((w for w in activity.work if w.kind == "commit"), key=lambda w: w.last_at, reverse=True)
    return [w.repo.full_name for w in commit_work[:COMMIT_REPOS_PER_PERSON]]


def _latest_commits(
    qualified: list[tuple[Candidate, PersonFacts, Activity]], since: datetime, ctx: Context
) -> tuple[dict[tuple[str, str], list[CommitInfo]], list[str]]:
    """Commits of the qualified people (for commit emails and linked accounts), and why GraphQL
    stopped if it did: then they are read over REST, as the REST path would."""
    pairs = [(repo, c.login, p.node_id) for c, p, a in qualified for repo in _commit_repos(a)]
    if not pairs:
        return {}, []
    client = ctx.github
    try:
        return traced(
            AGENT,
            "graphql_commits",
            {"pairs": len(pairs), "logins": list(dict.fromkeys(login for _, login, _ in pairs))},
            client.budget,
            lambda: fetch_commits(client.graphql, pairs, since),
        ), []
    except GraphQLUnavailable as exc:
        reasoning(AGENT, f"GraphQL is unavailable ({exc}); reading these commits and the rest of the run over REST")
        found: dict[tuple[str, str], list[CommitInfo]] = {}
        for repo, login, _ in pairs:
            found[(repo, login)] = traced(
                AGENT, "repo_commits", {"login": login, "repo": repo}, client.budget, partial(client.commits, repo, login, since)
            )
        return found, [str(exc)]


def _over_rest(task: BatchTask, ctx: Context) -> dict:
    """The batch over REST, person by person, until GitHub stops taking requests."""
    merged: dict = {"enriched": [], "dropped": [], "links": {}, "stop_reasons": [], "enriched_via": {"rest": 0}}
    for candidate in task["candidates"]:
        try:
            found = enrich_rest(
                candidate, task["repos"], task["campaign"], ctx.github, ctx.now, ctx.settings.cmo_retention_days, ctx.suppression
            )
        except GitHubStop as exc:
            merged["stop_reasons"].append(str(exc))
            merged["core_stopped"] = exc.stops_core
            break
        merged["enriched_via"]["rest"] += 1
        found = without_suppressed(found, ctx)
        merged["enriched"] += found.get("enriched", [])
        merged["dropped"] += found.get("dropped", [])
        merged["links"].update(found.get("links", {}))
    return merged
