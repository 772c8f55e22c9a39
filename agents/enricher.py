"""Enricher: profile, orgs, public events and commit activity per candidate, then rank.

`next_wave` picks the best candidates still needed and `fan_out_candidates` sends one `enricher`
branch per candidate of the wave; `enricher_wave` closes a wave. Each branch drops non-people and
people outside the audience as early as possible (before spending requests on activity), computes
signals with evidence and scores, and returns a Prospect. `rank` merges duplicate accounts,
sorts by score and keeps the plan's `max_prospects`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from agents.context import Context
from agents.state import CandidateTask, State
from foundation.companies import company_matches, display_company
from foundation.events import PROSPECT_ENRICHED, emit, reasoning
from foundation.schemas import Campaign, DeveloperProfile, PrivacySettings, Prospect, Provenance, TargetAudience
from foundation.schemas.github import Candidate, RepoContribution, RepoInfo, UserProfile
from tools.geo import normalize_location
from tools.github import GitHubClient
from tools.github_transport import GitHubStop
from tools.identity import is_noreply, is_person, noreply_user_id
from tools.scoring import activity_score, commit_frequency, contribution_score, explain, overall_score, rank_prospects
from tools.signals import Activity, compute_signals
from tools.tracing import traced

AGENT = "enricher"
REPOS_PER_PERSON = 4
WAVE_MIN = 25


def next_wave(state: State) -> dict:
    """The next slice of candidates to enrich, sized to what is still missing.

    Candidates are enriched best-first in waves of twice the leads still needed (at least
    `WAVE_MIN`), so a goal that is met early stops spending requests on weaker candidates.
    """
    candidates = state.get("candidates", [])
    dispatched = state.get("dispatched", 0)
    need = state["plan"].max_prospects - len(state.get("enriched", []))
    if state.get("core_stopped") or need <= 0 or dispatched >= len(candidates):
        return {"wave": []}
    size = max(WAVE_MIN, 2 * need)
    return {"wave": candidates[dispatched : dispatched + size], "dispatched": dispatched + size}


def enricher_wave(state: State, runtime: Runtime[Context]) -> dict:
    """Barrier after a wave: report progress and choose the next wave (or none)."""
    wave = next_wave(state)
    if wave["wave"]:
        reasoning(AGENT, f"{len(state.get('enriched', []))} qualified so far; enriching {len(wave['wave'])} more candidates")
    return wave


def fan_out_candidates(state: State) -> list[Send] | str:
    """One `enricher` branch per candidate of the current wave."""
    if not state.get("wave"):
        return "rank"
    repos = state.get("repos", {})
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
    ctx = runtime.context
    try:
        found = _enrich(task["candidate"], task["repos"], task["campaign"], ctx.github, ctx.now, ctx.settings.cmo_retention_days)
    except GitHubStop as exc:
        return {"stop_reasons": [str(exc)], "core_stopped": exc.stops_core}
    if any(ctx.suppression.contains_prospect(p) for p in found.get("enriched", [])):
        return {"dropped": ["suppressed"]}  # e.g. by an email or domain only the profile revealed
    return found


def _enrich(
    candidate: Candidate, repos: dict[str, RepoInfo], campaign: Campaign, client: GitHubClient, now: datetime, retention: int
) -> dict:
    audience = campaign.target_audience

    def call(tool: str, fn, **args: str):
        return traced(AGENT, tool, {"login": candidate.login, **args}, client.budget, fn)

    profile = call("user_profile", lambda: client.user(candidate.login))
    if not is_person(profile.login, profile.type):
        return {"dropped": ["not_a_person"]}
    place = normalize_location(profile.location)
    if (outside := audience.place_rejection(place.country, place.city)) is not None:
        return {"dropped": [outside]}
    orgs: list[str] = []
    if audience.exclude_companies or audience.include_companies:
        orgs = call("user_orgs", lambda: client.orgs(candidate.login))
    if _excluded(profile, orgs, audience):
        return {"dropped": ["excluded_company"]}
    since = now - timedelta(days=max(audience.activity_days, 90))
    window = now - timedelta(days=audience.activity_days)
    activity = Activity(events=call("public_events", lambda: client.public_events(candidate.login)))
    # Only a repo pushed within the window can hold a commit in it; stop at the first sign of activity.
    checked: list[str] = []
    for repo in _pushed_since(candidate, repos, window):
        if _active(activity, window):
            break
        activity.commits += call("repo_commits", lambda repo=repo: client.commits(repo, candidate.login, since), repo=repo)
        checked.append(repo)
    if not _active(activity, window):
        # Events reach back 30 days only: look for commits in the person's own recently pushed repos.
        owned = call("owned_repos", lambda: client.owned_repos(candidate.login))
        fresh = [r.full_name for r in owned if r.pushed_at and r.pushed_at > window and r.full_name not in checked]
        for repo in fresh[:2]:
            activity.commits += call("repo_commits", lambda repo=repo: client.commits(repo, candidate.login, since), repo=repo)
            if _active(activity, window):
                break
    if not _active(activity, window):
        return {"dropped": ["inactive"]}
    prospect = _prospect(candidate, repos, profile, place, activity, audience, now, retention, orgs)
    linked = {i for c in activity.commits if (i := noreply_user_id(c.author_email)) and i != profile.id}
    return {"enriched": [prospect], "links": {profile.id: sorted(linked)} if linked else {}}


def _pushed_since(candidate: Candidate, repos: dict[str, RepoInfo], since: datetime) -> list[str]:
    """The person's matched repos pushed since `since`, newest first, at most `REPOS_PER_PERSON`.

    GitHub gives an empty repo no `pushed_at`: it counts as pushed at `since`, so it sorts last."""
    recent = [c.repo for c in candidate.contributions if (repos[c.repo].pushed_at or since) >= since]
    return sorted(recent, key=lambda r: repos[r].pushed_at or since, reverse=True)[:REPOS_PER_PERSON]


def _active(activity: Activity, window: datetime) -> bool:
    last = activity.last_active()
    return last is not None and last >= window


def _excluded(profile: UserProfile, orgs: list[str], audience: TargetAudience) -> bool:
    if audience.exclude_companies and (
        company_matches(profile.company, audience.exclude_companies)
        or any(company_matches(o, audience.exclude_companies) for o in orgs)
    ):
        return True
    if audience.include_companies:
        return not (
            company_matches(profile.company, audience.include_companies)
            or any(company_matches(o, audience.include_companies) for o in orgs)
        )
    return False


def _prospect(
    candidate: Candidate,
    repos: dict[str, RepoInfo],
    profile: UserProfile,
    place,  # tools.geo.Place
    activity: Activity,
    audience: TargetAudience,
    now: datetime,
    retention: int,
    orgs: list[str],
) -> Prospect:
    contributions = candidate.contributions
    email, source = _email(profile, activity)
    endpoint = f"GET /users/{profile.login}"
    provenance = {
        f: Provenance(source=endpoint, fetched_at=now)
        for f in ("name", "email", "company", "location", "bio", "website", "social_links")
    }
    if source == "commit":
        provenance["email"] = Provenance(source="GET /repos/{owner}/{repo}/commits (author email)", fetched_at=now)
    provenance["developer_profile"] = Provenance(
        source="GET /repos/{owner}/{repo}/contributors, /repos/{owner}/{repo}/commits, /users/{login}/events/public",
        fetched_at=now,
    )
    social = {"github": profile.html_url} if profile.html_url else {}
    if profile.twitter_username:
        social["twitter"] = f"https://twitter.com/{profile.twitter_username}"
    return Prospect(
        id=f"gh_{profile.login}",
        username=profile.login,
        name=profile.name,
        email=email,
        company=display_company(profile.company),
        location=profile.location,
        bio=profile.bio,
        website=profile.blog,
        social_links=social,
        **scored_evidence(contributions, repos, activity, audience.activity_days, now),
        privacy_settings=PrivacySettings(email_visible=source == "profile", contact_allowed=True, data_retention_days=retention),
        github_id=profile.id,
        account_type=profile.type,
        email_source=source,
        country=place.country,
        region=place.region,
        provenance=provenance,
    )


def scored_evidence(
    contributions: list[RepoContribution], repos: dict[str, RepoInfo], activity: Activity, activity_days: int, now: datetime
) -> dict[str, Any]:
    """The part of a prospect computed from its evidence: developer profile, score (and why) and
    signals. Public because the eval fixtures must score a person exactly as the enricher does."""
    c_score, a_score = contribution_score(contributions), activity_score(activity, now)
    return {
        "developer_profile": DeveloperProfile(
            languages=sorted({repos[c.repo].language for c in contributions if repos[c.repo].language}),
            repositories=[c.repo for c in sorted(contributions, key=lambda c: c.contributions, reverse=True)],
            contribution_score=c_score,
            activity_score=a_score,
            expertise_areas=sorted({d for c in contributions for d in repos[c.repo].domains}),
            commit_frequency=commit_frequency(activity, now),
            last_active=activity.last_active(),
        ),
        "score": overall_score(contributions, repos, c_score, a_score),
        "score_explanation": explain(contributions, repos, activity, now),
        "signals": compute_signals(contributions, repos, activity, activity_days, now),
    }


def _email(profile: UserProfile, activity: Activity) -> tuple[str | None, str | None]:
    """The published profile email; else a real (non-noreply) commit email, marked as such."""
    if profile.email and not is_noreply(profile.email):
        return profile.email, "profile"
    for commit in activity.commits:
        if commit.author_email and not is_noreply(commit.author_email):
            return commit.author_email, "commit"
    return None, None


def rank(state: State, runtime: Runtime[Context]) -> dict:
    """Merge accounts of one person, order by score, keep the best `max_prospects`."""
    merged = rank_prospects(state.get("enriched", []), state.get("links", {}))
    ranked = merged[: state["plan"].max_prospects]
    for p in ranked:
        emit(PROSPECT_ENRICHED, AGENT, prospect_id=p.id, email=p.email, confidence_score=p.score, signals=p.signal_names())
    dropped = state.get("dropped", [])
    counts = {reason: dropped.count(reason) for reason in sorted(set(dropped))}
    reasoning(
        AGENT,
        f"{len(state.get('enriched', []))} people qualified ({len(merged)} after merging duplicate accounts); "
        f"kept the top {len(ranked)}; dropped: {counts or 'none'}",
    )
    return {"prospects": ranked}
