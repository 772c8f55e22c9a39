"""Why a candidate was left out, with the evidence that decided it: one `prospect.dropped` event a person.

A run used to say only how many people each rule dropped (`dropped: {'inactive': 14}`), so nobody
could check a decision. Every place that leaves a candidate out builds a `Drop` here: `reason` is
the code the summary counts, `text` one sentence a person can check, and `evidence` the facts that
decided it (the last activity seen against the window, the place or company matched, the account
type, the candidate's position against a limit). `report` emits it and returns the reason code.

Profile strings (company, location) are hostile input: they appear only in `evidence`, clipped and
without control characters, never in `text` (which holds our own codes, the goal's own names and
logins, whose characters GitHub restricts). Emails never appear. People on the suppression list
are never named: they asked not to be contacted, and a tenant's list is kept blind precisely so
a run does not hold their identities; they are only counted.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from foundation.companies import company_matches
from foundation.events import PROSPECT_DROPPED, emit
from foundation.regions import excluded_by
from foundation.schemas import Prospect, TargetAudience
from foundation.schemas.github import UserProfile
from tools.geo import Place
from tools.signals import Activity

MAX_FIELD_CHARS = 80  # a profile string in evidence: enough to recognise it, never a paragraph
MAX_ORGS = 10


@dataclass(frozen=True)
class Drop:
    reason: str
    text: str
    evidence: dict[str, Any] = field(default_factory=dict)


def report(agent: str, login: str, drop: Drop) -> str:
    """Emit `prospect.dropped` for `login` and return the reason code (what the state counts)."""
    emit(PROSPECT_DROPPED, agent, login=login, reason=drop.reason, text=drop.text, evidence=drop.evidence)
    return drop.reason


def clip(value: str | None) -> str | None:
    """A profile string fit for evidence: control and format characters out, at most `MAX_FIELD_CHARS`."""
    if value is None:
        return None
    shown = "".join(c for c in value if unicodedata.category(c)[0] != "C").strip()
    return shown if len(shown) <= MAX_FIELD_CHARS else f"{shown[: MAX_FIELD_CHARS - 1]}…"


def not_a_person(account_type: str | None, found: bool = True) -> Drop:
    """An organization or a bot (by type or by a `[bot]` login); `found` False: GitHub had no user."""
    if not found:
        return Drop(
            "not_a_person",
            "GitHub has no user by this login (an organization, a bot or a deleted account)",
            {"found": False},
        )
    kind = "an organization" if account_type == "Organization" else "a bot"  # a User is out only for a `[bot]` login
    return Drop("not_a_person", f"{kind} account, not a person", {"account_type": account_type})


def outside_places(reason: str, place: Place, location: str | None, audience: TargetAudience) -> Drop:
    """`reason` is `TargetAudience.place_rejection`'s code for the person's normalised `place`."""
    where = {"country": place.country, "city": place.city, "location": clip(location)}
    if reason == "outside_target_regions":
        wanted = ", ".join(audience.target_regions)
        seen = f"located in {place.country}" if place.country else "no country could be read from the profile's location"
        return Drop(reason, f"{seen}; the goal targets {wanted}", where | {"target_regions": audience.target_regions})
    if reason == "outside_target_cities":
        wanted = ", ".join(audience.target_cities)
        seen = f"located in {place.city}" if place.city else "no city could be read from the profile's location"
        return Drop(reason, f"{seen}; the goal targets {wanted}", where | {"target_cities": audience.target_cities})
    if reason == "excluded_region":
        matched = [r for r in audience.exclude_regions if excluded_by([r], place.country)]
        text = f"located in {place.country}, which the goal excludes ({', '.join(matched)})"
        return Drop(reason, text, where | {"excluded": matched})
    matched = [c for c in audience.exclude_cities if place.city and c.casefold() == place.city.casefold()]
    return Drop(reason, f"located in {place.city}, which the goal excludes", where | {"excluded": matched})


def company(profile: UserProfile, orgs: list[str], audience: TargetAudience) -> Drop | None:
    """Excluded by a company the goal leaves out, or not at one of the companies it wants; None: neither."""
    field_ = clip(profile.company)
    excluded = [name for name in audience.exclude_companies if company_matches(profile.company, [name])]
    by_org = [(o, name) for o in orgs for name in audience.exclude_companies if company_matches(o, [name])]
    if excluded:
        names = ", ".join(excluded)
        text = f"the profile's company names {names}, which the goal excludes"
        return Drop("excluded_company", text, {"rule": "exclude", "matched": excluded, "company": field_})
    if by_org:
        org, name = by_org[0]
        text = f"a member of the GitHub organization {org} ({name}), which the goal excludes"
        return Drop("excluded_company", text, {"rule": "exclude", "matched": [name], "orgs": [o for o, _ in by_org][:MAX_ORGS]})
    wanted = audience.include_companies
    if wanted and not (company_matches(profile.company, wanted) or any(company_matches(o, wanted) for o in orgs)):
        text = f"neither the profile's company nor its {len(orgs)} public organizations name {', '.join(wanted)}"
        return Drop("excluded_company", text, {"rule": "only", "wanted": wanted, "company": field_, "orgs": orgs[:MAX_ORGS]})
    return None


def inactive(activity: Activity, window: datetime, since: datetime, audience: TargetAudience) -> Drop:
    """No own work that counts (`agents.enrichment.counts_for`) within the activity window; `since`
    is how far back activity was looked for (at least 90 days, so older work can show as evidence).
    Dates are UTC days: the same decision reads the same in two runs of one day (a resumed job's)."""
    where = "on GitHub" if audience.activity_scope == "anywhere" else "in repos that fit the goal"
    latest = activity.latest_work()
    last = _day(latest.date) if latest is not None and latest.date is not None else None
    start = _day(window)
    evidence: dict[str, Any] = {
        "window_days": audience.activity_days,
        "window_start": start,
        "looked_back_to": _day(since),
        "scope": audience.activity_scope,
        "last_active": last,
        "repo": latest.repo if latest is not None and last else None,
    }
    if last is None:
        text = f"no own work {where} seen since {evidence['looked_back_to']} (the window is {audience.activity_days} days)"
    else:
        before = "hours before the window that starts that day" if last == start else f"before the window that starts {start}"
        text = f"last own work {where} seen on {last} (in {evidence['repo']}), {before} ({audience.activity_days} days)"
    return Drop("inactive", text, evidence)


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def beyond_limit(position: int, fitting: int, limit: int, leads: int, per_lead: int) -> Drop:
    """Fits the role, but weaker than the `limit` strongest people, the only ones enrichment looks at."""
    text = f"#{position} of {fitting} people who fit; only the strongest {limit} ({per_lead}× the {leads} leads) are candidates"
    return Drop("beyond_candidate_limit", text, {"position": position, "fitting": fitting, "limit": limit})


def not_reached(position: int, candidates: int, stopped: bool) -> Drop:
    """A candidate the run never enriched: it had its leads, or GitHub stopped taking requests, first."""
    why = "GitHub stopped taking requests" if stopped else "the run had enough leads"
    text = f"candidate #{position} of {candidates}, not enriched: {why} before reaching them"
    return Drop("not_reached", text, {"position": position, "candidates": candidates, "stopped": stopped})


def below_top(position: int, prospect: Prospect, kept: list[Prospect]) -> Drop:
    """Qualified, but ranked below the leads kept."""
    cutoff = kept[-1].score if kept else None
    text = f"qualified, but ranked #{position} with score {prospect.score:.2f}; only the top {len(kept)} are kept"
    if cutoff is not None:
        text += f" (the lowest kept scored {cutoff:.2f})"
    return Drop("below_top", text, {"rank": position, "score": prospect.score, "kept": len(kept), "cutoff_score": cutoff})


def merged_into(primary: str) -> Drop:
    """A second account of someone already listed (`tools.identity.merge_duplicates`)."""
    return Drop("merged_account", f"a second account of {primary}; merged into that lead", {"merged_into": primary})
