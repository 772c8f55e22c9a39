"""The sandbox's personas and its planted local-first community (sandbox/personas.py): hidden truth that
lookalike and relevance evals score against, added without changing anything else in the world."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from foundation.vocabulary import load_vocabulary
from sandbox import BUILTIN_GOALS, LOCAL_FIRST, LOCAL_FIRST_PERSONA, World, generate_world, persona_of, subject_repos, truth
from sandbox.personas import PERSONA_OF_DOMAIN
from sandbox.render import Renderer
from sandbox.truth import fitting


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=7, users=1500)


def test_every_community_member_has_a_persona_and_the_big_ones_hold_more_than_50(world: World) -> None:
    counts = Counter(world.personas.values())
    assert set(counts) == {*PERSONA_OF_DOMAIN.values(), LOCAL_FIRST_PERSONA}
    for persona in ("local-first sync", "databases", "ML and data science", "web frontend", "cloud infrastructure"):
        assert counts[persona] > 50, persona
    generalists = [login for login in world.users if persona_of(world, login) is None]
    assert len(generalists) > 400, "people of no community have no persona"


def test_a_persona_shows_only_through_natural_text(world: World) -> None:
    renderer = Renderer(world, "http://sandbox.test")
    login = next(login for login, p in world.personas.items() if p == LOCAL_FIRST_PERSONA)
    served = json.dumps(renderer.user(world.accounts[login]))
    assert "persona" not in served and LOCAL_FIRST_PERSONA not in served


def test_planted_repos_are_about_the_subject_in_words_no_vocabulary_domain_captures(world: World) -> None:
    vocabulary = load_vocabulary()
    planted = subject_repos(world, LOCAL_FIRST)
    assert len(planted) >= 90
    assert all(vocabulary.domains_of(world.repos[n].topics, world.repos[n].description) == [] for n in planted)
    assert len({world.repos[n].description for n in planted}) >= 10, "many wordings, not one template"
    assert sum(not world.repos[n].topics for n in planted) > 20, "many carry no topic at all"
    for copy, original in world.copies.items():
        assert copy in planted and world.repos[copy].description == world.repos[original].description
        assert copy.split("/")[1].startswith(original.split("/")[1])
    members = {login for login, p in world.personas.items() if p == LOCAL_FIRST_PERSONA}
    for name in planted:
        assert {c.login for c in world.repos[name].contributors} <= members


def test_the_planted_community_leaves_every_builtin_goal_alone(world: World) -> None:
    """Planting comes after the generator (ids above all of its ids): none of the planted repos,
    distractors included, fits a built-in goal, and none of their people is in a goal's truth."""
    first = min(world.repos[n].id for n in subject_repos(world, LOCAL_FIRST))
    planted = [r for r in world.repos.values() if r.id >= first]
    people = {c.login for r in planted for c in r.contributors}
    assert len(planted) > len(subject_repos(world, LOCAL_FIRST)), "same-word distractors are planted too"
    for goal in BUILTIN_GOALS.values():
        fits = fitting(goal.audience)
        assert not [r.full_name for r in planted if fits(r)], goal.name
        assert not truth(world, goal.audience, world.now) & people, goal.name
