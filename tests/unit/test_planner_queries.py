"""The planner's searches for a subject: the narrowest part of each domain, keywords as topics and
words, never a qualifier smuggled in through a goal's words, and nothing the definition accepts
left unsearched (checked against the sandbox's search over a generated world)."""

from __future__ import annotations

from datetime import date

import pytest

from agents.planner import build_queries, subject_terms
from foundation.schemas.campaign import TargetAudience
from foundation.vocabulary import load_vocabulary
from sandbox import BUILTIN_GOALS, World, generate_world
from sandbox.search import MAX_QUERY_LENGTH, Searcher, parse_query
from sandbox.truth import matched_repos

TODAY = date(2026, 12, 8)


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=7, users=1500)


def test_a_conjunctive_domain_is_searched_by_its_narrowest_part() -> None:
    audience = TargetAudience(domains=["react_components"], topics=["design-system", "ui-kit"], languages=["TypeScript"])
    terms = subject_terms(audience)
    assert "topic:design-system" in terms and "topic:react" not in terms
    phrases = load_vocabulary().domains["ui_components"].description_phrases
    assert [f'"{phrase}" in:description' for phrase in phrases] == [t for t in terms if "in:description" in t]


def test_keywords_alone_are_searched_as_topics_and_words() -> None:
    terms = subject_terms(TargetAudience(keywords=["webassembly", "runtime"]))
    assert terms == [
        "topic:webassembly",
        "topic:runtime",
        "topic:webassembly-runtime",
        "webassembly runtime in:name,description,topics",
    ]
    with_domain = subject_terms(TargetAudience(domains=["terraform"], topics=["terraform"], keywords=["provider"]))
    assert with_domain == [
        "topic:terraform",
        '"terraform" in:description',
        '"opentofu" in:description',
    ]  # the keep-check applies "provider"


def test_a_keyword_cannot_add_qualifiers_or_operators() -> None:
    hostile = TargetAudience(keywords=['x" stars:>99999 user:evil', "in:readme"], languages=["Go"])
    for query in build_queries(hostile, TODAY, 100):
        clauses = [clause for group in parse_query(query.q, Searcher.REPO_QUALIFIERS) for clause in group]
        assert {c.key for c in clauses if c.key} <= {"topic", "in", "language", "archived"}, query.q
        assert len(query.q) <= MAX_QUERY_LENGTH


AUDIENCES = {
    **{name: goal.audience for name, goal in BUILTIN_GOALS.items()},
    "vue-design-systems": TargetAudience(domains=["vue+ui_components"]),
    "kubernetes-not-operators": TargetAudience(
        domains=["kubernetes"], exclude_domains=["kubernetes_operators"], languages=["Go"]
    ),
    "keywords": TargetAudience(keywords=["ui"], languages=["TypeScript"]),
}


@pytest.mark.parametrize("name", sorted(AUDIENCES))
def test_every_repo_the_definition_accepts_is_searched(world: World, name: str) -> None:
    """Searches are wider than the keep-check, never narrower: no matching repo is out of their reach."""
    audience = AUDIENCES[name]
    if audience.domains:  # as the planner fills them
        facets = [load_vocabulary().search_facet(domain) for domain in audience.domains]
        audience = audience.model_copy(update={"topics": [t for facet in facets if facet for t in facet.topics]})
    searcher = Searcher(world)
    found = {
        repo.full_name
        for query in build_queries(audience, TODAY, 100)
        for repo in searcher.search("repositories", query.q, "stars", "desc")
    }
    wanted = {repo.full_name for repo in matched_repos(world, audience)}
    assert wanted, f"{name}: the world has no repo of this subject"
    assert wanted <= found, sorted(wanted - found)[:5]
