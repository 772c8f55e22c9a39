"""Ground truth: who in a world truly matches an audience, read straight from the model (never HTTP).

The definitions are the project's own, so a pipeline that applies them through the API can reach
recall 1.0:
- a repo fits the audience per `foundation.subjects.repo_fits` (language and subject; never a fork or
  an archived repo); the audience's stars range narrows only the repos people are found through;
- a maintainer is the owner, a top-3 contributor or one with >= 10% of the listed contributions
  (`RepoContribution.is_maintainer`), a contributor has at least `min_contributions` commits;
- active means an own default-branch commit or a feature-branch push (a pull request to GitHub's
  GraphQL) inside the window, in a repo that fits the audience (any stars) when `activity_scope` is
  "subject" (the default), in any repo when it is "anywhere" ("active on GitHub"): an ML maintainer
  whose recent work is all in someone's web framework is not "active in ML";
- places (target and excluded regions and cities) are judged by `TargetAudience.place_rejection` on
  the person's true place, which is unknown (None) where the profile cannot say ("Georgia" alone), as
  the enricher judges them: an unknown place is outside every target and never excluded;
- companies by `foundation.companies.in_family` applied to the person's true employer (a company
  covers its divisions and subsidiaries; a former employer is not one).
Bots and organizations never count.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from foundation.companies import in_family
from foundation.schemas.campaign import TargetAudience
from foundation.subjects import fits
from sandbox.search import int_range
from sandbox.world import Repo, World

MAINTAINER_TOP_RANK = 3
MAINTAINER_SHARE = 0.10


def fitting(audience: TargetAudience) -> Callable[[Repo], bool]:
    """`foundation.subjects.fits` as a predicate on the world's repos."""
    return lambda repo: fits(audience, repo)


def matched_repos(world: World, audience: TargetAudience) -> list[Repo]:
    """Repos the audience is about (`fitting`) within its stars range."""
    stars = int_range(audience.stars_range) if audience.stars_range else None
    about = fitting(audience)
    return [repo for repo in world.repos.values() if about(repo) and (stars is None or stars(repo.stars))]


def _in_role(world: World, repo: Repo, audience: TargetAudience) -> set[str]:
    listed = [(c.login, c.count) for c in repo.contributors if c.login]  # what /contributors lists without anon=1
    total = sum(count for _, count in listed) or 1
    maintainers = {
        login for rank, (login, count) in enumerate(listed, 1) if rank <= MAINTAINER_TOP_RANK or count / total >= MAINTAINER_SHARE
    }
    if world.accounts[repo.owner].type == "User":
        maintainers.add(repo.owner)
    contributors = {login for login, count in listed if count >= max(1, audience.min_contributions)}
    return {"maintainer": maintainers, "contributor": contributors}.get(audience.role, maintainers | contributors)


def truth(world: World, audience: TargetAudience, now: datetime) -> set[str]:
    """Logins of the people matching `audience` at `now`; a two-account person as their primary login."""
    candidates: set[str] = set()
    for repo in matched_repos(world, audience):
        candidates |= _in_role(world, repo, audience)
    since = now - timedelta(days=audience.activity_days)
    where = fitting(audience) if audience.activity_scope == "subject" else None
    people = set()
    for login in candidates:
        account = world.accounts[login]
        last = world.last_activity(login, where)
        if account.type != "User" or last is None or last < since:
            continue
        if audience.place_rejection(account.country, account.city) is not None:
            continue
        if in_family(account.company_key, audience.exclude_companies):
            continue
        if audience.include_companies and not in_family(account.company_key, audience.include_companies):
            continue
        people.add(world.aliases.get(login, login))
    return people


def identity_groups(world: World) -> list[set[str]]:
    """Logins that belong to one person (only groups of two or more)."""
    groups: dict[str, set[str]] = {}
    for secondary, primary in world.aliases.items():
        groups.setdefault(primary, {primary}).add(secondary)
    return list(groups.values())


def persona_of(world: World, login: str) -> str | None:
    """The person's persona (`sandbox.personas`), their primary account's for a second account;
    None for people of no community."""
    return world.personas.get(world.aliases.get(login, login))


def people_with_persona(world: World, persona: str) -> list[str]:
    """Logins of every person with `persona`, in the world's order."""
    return [login for login, label in world.personas.items() if label == persona]


def subject_repos(world: World, subject: str) -> set[str]:
    """Full names of the repos about an open-ended subject (`sandbox.personas.FUZZY_GOALS`), copies included."""
    return {name for name, key in world.subjects.items() if key == subject}
