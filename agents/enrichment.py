"""What both enrichment paths (REST per person, GraphQL per batch) decide the same way: who is screened
out before any activity is fetched, what activity counts, and how a qualified person becomes a Prospect.

Activity binds to the subject (README "Definitions"): unless the goal says "active on GitHub",
only a person's own work in repos that fit the audience (`foundation.subjects.repo_fits`: its
languages and subject, never a fork or archived repo) makes them active.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agents import drops
from agents.drops import Drop
from foundation.companies import display_company
from foundation.schemas import DeveloperProfile, PrivacySettings, Prospect, Provenance, TargetAudience
from foundation.schemas.github import Candidate, RepoContribution, RepoInfo, UserProfile
from foundation.subjects import fits
from tools.geo import Place, normalize_location
from tools.identity import is_noreply, is_person
from tools.scoring import activity_score, commit_frequency, contribution_score, explain, overall_score
from tools.signals import Activity, compute_signals


def screen(profile: UserProfile, orgs: list[str] | None, audience: TargetAudience) -> tuple[Place, Drop | None]:
    """The person's place, and why they are out before their activity is looked at (None: still in).
    `orgs` None means "not fetched" (the goal names no company, so they cannot matter)."""
    place = normalize_location(profile.location)
    if not is_person(profile.login, profile.type):
        return place, drops.not_a_person(profile.type)
    if (outside := audience.place_rejection(place.country, place.city)) is not None:
        return place, drops.outside_places(outside, place, profile.location, audience)
    return place, drops.company(profile, orgs or [], audience)


def counts_for(audience: TargetAudience, repo: RepoInfo) -> bool:
    """Whether own work in `repo` makes a person active for this audience."""
    if audience.activity_scope == "anywhere":
        return True
    return fits(audience, repo)


def is_active(activity: Activity, window: datetime) -> bool:
    last = activity.last_active()
    return last is not None and last >= window


def build_prospect(
    candidate: Candidate,
    repos: dict[str, RepoInfo],
    profile: UserProfile,
    place: Place,
    activity: Activity,
    audience: TargetAudience,
    now: datetime,
    retention: int,
    sources: dict[str, str],
) -> Prospect:
    """`sources`: which call each kind of fact came from (`profile`, `commit_email`, `activity`), for
    provenance; `{login}` in the profile's source is the person's login."""
    email, source = _email(profile, activity)
    # Provenance says when each fact was fetched (GDPR export), not when the run began; `now` only
    # stands in where the fetch time is unknown (fixtures).
    profile_at = profile.fetched_at or now
    activity_at = activity.fetched_at or profile_at
    provenance = {
        f: Provenance(source=sources["profile"].replace("{login}", profile.login), fetched_at=profile_at)
        for f in ("name", "email", "company", "location", "bio", "website", "social_links")
    }
    if source == "commit":
        provenance["email"] = Provenance(source=sources["commit_email"], fetched_at=activity_at)
    provenance["developer_profile"] = Provenance(source=sources["activity"], fetched_at=activity_at)
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
        **scored_evidence(candidate.contributions, repos, activity, audience.activity_days, now),
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
