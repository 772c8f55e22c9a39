"""The sandbox world's traps for the project's definitions, and a truth that follows those definitions.

Activity binds to the subject (unless the goal says "active on GitHub"), subjects are conjunctive
("React component libraries" = React AND a component-library signal), company families cover their
divisions, and a US state after a city wins over a same-named foreign city.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from agents.goal_parser import parse_goal
from foundation.companies import canonical_company, company_matches
from foundation.schemas.campaign import TargetAudience
from sandbox import BUILTIN_GOALS, World, generate_world, truth
from sandbox.tables import BIG_COMPANIES, LOCATIONS
from sandbox.truth import fitting
from sandbox.world import Repo
from tools.geo import normalize_location

EVERYONE = TargetAudience(activity_days=3650, activity_scope="anywhere")  # every person in role on any live repo
US_TOWNS = ("Paris, TX", "Paris, Texas", "Berlin, NH", "London, KY", "Moscow, ID")


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=7, users=1500)


def _recent(world: World, login: str, days: int, where=None) -> bool:
    last = world.last_activity(login, where)
    return last is not None and last >= world.now - timedelta(days=days)


# ---- activity binds to the subject ------------------------------------------------------------------
def test_last_activity_can_be_limited_to_some_repos(world: World) -> None:
    pusher = next(u for u in world.users.values() if u.pushes)
    push = max(pusher.pushes, key=lambda p: p.at)
    assert world.last_activity(pusher.login, lambda repo: repo.full_name == push.repo) >= push.at
    assert world.last_activity(pusher.login, lambda repo: False) is None
    assert world.last_activity(pusher.login) == world.last_activity(pusher.login, lambda repo: True)


def test_stale_maintainers_are_active_elsewhere_but_not_in_their_subject(world: World) -> None:
    """ML maintainers whose last ML commit is months old and who commit lately in another subject's repo:
    not "Python maintainers active in ML", but "active on GitHub"."""
    in_subject = truth(world, BUILTIN_GOALS["python-ml"].audience, world.now)
    anywhere = truth(world, BUILTIN_GOALS["python-ml-anywhere"].audience, world.now)
    assert in_subject < anywhere
    fits = fitting(BUILTIN_GOALS["python-ml"].audience)
    for login in anywhere - in_subject:
        assert not _recent(world, login, 90, fits) and _recent(world, login, 90)
    stale = [
        login
        for login in anywhere - in_subject
        if not _recent(world, login, 150, fits) and _recent(world, login, 30, lambda repo: not fits(repo))
    ]
    assert stale, "expected maintainers who left ML long ago and commit elsewhere now"


@pytest.mark.parametrize("name", ["python-ml", "rust-db-europe", "go-k8s-na", "ts-react-no-faang"])
def test_everyone_in_truth_is_active_in_a_repo_of_the_subject(world: World, name: str) -> None:
    audience = BUILTIN_GOALS[name].audience
    fits = fitting(audience)  # any stars: the stars range says where people are found, not where they work
    found = truth(world, audience, world.now)
    assert all(_recent(world, login, audience.activity_days, fits) for login in found)


# ---- conjunctive subjects: lookalike repos ----------------------------------------------------------
# The two halves of each two-part subject, as topics ("react-components" says both).
REACT = {"react", "reactjs", "react-components"}
COMPONENTS = {"component-library", "ui-components", "design-system", "ui-kit", "react-components"}
KUBERNETES, OPERATOR = {"kubernetes", "k8s"}, {"operator", "kubernetes-operator"}


def _halves(repo: Repo, one: set[str], other: set[str]) -> tuple[bool, bool]:
    return bool(set(repo.topics) & one), bool(set(repo.topics) & other)


def _lookalikes(world: World, language: str, one: set[str], other: set[str]) -> list[Repo]:
    """Live repos of `language` tagged with one half of a two-part subject but not the other."""
    return [
        r
        for r in world.repos.values()
        if r.language == language and not (r.fork or r.archived) and sum(_halves(r, one, other)) == 1
    ]


def _lookalike_people(world: World, audience: TargetAudience, one: set[str], other: set[str]) -> set[str]:
    """People an OR of the halves' topics finds (active, in role, places, companies) who have no repo of
    the audience's language that could be the real thing (tagged with both halves, or untagged)."""
    either = audience.model_copy(update={"domains": [], "topics": sorted(one | other), "stars_range": None})

    def could_be_real(repo: Repo) -> bool:
        live = repo.language in audience.languages and not (repo.fork or repo.archived)
        return live and (not repo.topics or all(_halves(repo, one, other)))

    return {
        login
        for login in truth(world, either, world.now)
        if not any(could_be_real(repo) for repo, _ in world.contributions_by_login[login])
    }


def test_react_apps_vue_design_systems_and_kubernetes_tools_exist(world: World) -> None:
    apps = _lookalikes(world, "TypeScript", REACT, COMPONENTS)
    assert any("react" in r.topics for r in apps), "React apps tagged react"
    assert any({"vue", "svelte"} & set(r.topics) and "react" not in r.topics for r in apps), "Vue/Svelte design systems"
    assert any(r.description and "web app" in r.description for r in world.repos.values())
    assert any(set(r.topics) & KUBERNETES for r in _lookalikes(world, "Go", KUBERNETES, OPERATOR)), "Kubernetes tools"
    assert _lookalike_people(world, BUILTIN_GOALS["ts-react-no-faang"].audience, REACT, COMPONENTS)
    assert _lookalike_people(world, BUILTIN_GOALS["go-k8s-na"].audience, KUBERNETES, OPERATOR)


def test_react_app_and_vue_design_system_people_are_not_react_component_library_people(world: World) -> None:
    audience = BUILTIN_GOALS["ts-react-no-faang"].audience
    assert not any(fitting(audience)(r) for r in _lookalikes(world, "TypeScript", REACT, COMPONENTS))
    assert not _lookalike_people(world, audience, REACT, COMPONENTS) & truth(world, audience, world.now)


def test_kubernetes_tool_people_are_not_operator_people(world: World) -> None:
    audience = BUILTIN_GOALS["go-k8s-na"].audience
    tools = [r for r in _lookalikes(world, "Go", KUBERNETES, OPERATOR) if set(r.topics) & KUBERNETES]
    assert not any(fitting(audience)(r) for r in tools)
    assert not _lookalike_people(world, audience, KUBERNETES, OPERATOR) & truth(world, audience, world.now)


# ---- companies: divisions belong to their family ----------------------------------------------------
def test_division_staff_are_excluded_with_their_parent(world: World) -> None:
    assert all(canonical_company(spelling) == key for key, spellings in BIG_COMPANIES.items() for spelling in spellings)
    everyone = truth(world, EVERYONE, world.now)
    no_meta = truth(world, EVERYONE.model_copy(update={"exclude_companies": ["Meta"]}), world.now)
    no_google = truth(world, EVERYONE.model_copy(update={"exclude_companies": ["Google"]}), world.now)
    meta_ai = {login for login in everyone if world.accounts[login].company in ("Meta AI", "FAIR", "Facebook AI Research")}
    deepmind = {login for login in everyone if world.accounts[login].company in ("Google DeepMind", "@DeepMind", "DeepMind")}
    assert meta_ai and deepmind
    assert not meta_ai & no_meta and not deepmind & no_google
    assert all(company_matches(world.accounts[login].company, ["Meta"]) for login in meta_ai), "what the profile says agrees"
    assert meta_ai <= no_google and deepmind <= no_meta


# ---- places: a US state after a city wins; ambiguous stays unknown ----------------------------------
def test_truth_places_are_what_the_location_says() -> None:
    """What `tools.geo` reads from each location is its truth: the enricher can agree with the oracle."""
    for text, country, city, _ in LOCATIONS:
        if text is not None:
            place = normalize_location(text)
            assert (place.country, place.city) == (country, city), text


def test_us_towns_named_after_foreign_cities_count_as_us(world: World) -> None:
    everyone = truth(world, EVERYONE, world.now)
    in_us = truth(world, EVERYONE.model_copy(update={"target_regions": ["US"]}), world.now)
    in_europe = truth(world, EVERYONE.model_copy(update={"target_regions": ["EUROPE"]}), world.now)
    towns = {login for login in everyone if world.accounts[login].location in US_TOWNS}
    assert {world.accounts[login].location for login in towns} == set(US_TOWNS)
    assert towns <= in_us and not towns & in_europe
    not_paris = truth(world, EVERYONE.model_copy(update={"exclude_cities": ["Paris"]}), world.now)
    assert {login for login in towns if world.accounts[login].city == "Paris"} - not_paris, (
        "an excluded city name drops every Paris"
    )


def test_an_ambiguous_place_is_unknown(world: World) -> None:
    everyone = truth(world, EVERYONE, world.now)
    georgia = {login for login in everyone if world.accounts[login].location == "Georgia"}
    assert georgia and all(world.accounts[login].country is None for login in georgia)
    for region in ("US", "GE"):
        assert not georgia & truth(world, EVERYONE.model_copy(update={"target_regions": [region]}), world.now)
        assert georgia <= truth(world, EVERYONE.model_copy(update={"exclude_regions": [region]}), world.now)


# ---- built-in goals are what the goal parser reads --------------------------------------------------
@pytest.mark.parametrize("name", sorted(BUILTIN_GOALS))
def test_builtin_goal_audience_is_what_the_parser_reads(name: str) -> None:
    goal = BUILTIN_GOALS[name]
    assert parse_goal(goal.goal).audience == goal.audience
