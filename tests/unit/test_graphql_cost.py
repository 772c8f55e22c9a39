"""GitHub's GraphQL limits on the sandbox's schema: the documented node counts and point costs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse, validate

from sandbox.graphql_api import github_schema
from sandbox.graphql_cost import QueryCost, measure

QUERIES = Path(__file__).parents[1] / "fixtures" / "graphql"


def cost_of(query: str, variables: dict[str, Any] | None = None) -> QueryCost:
    schema, document = github_schema(), parse(query)
    assert validate(schema, document) == []
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return measure(schema, operation, fragments, variables)


def test_documented_simple_node_count() -> None:
    """Docs, "Calculating nodes in a call", example 1: 50 + 50 x 10 = 550 nodes."""
    found = cost_of(
        "query { viewer { repositories(first: 50) { edges { repository: node { name"
        " issues(first: 10) { totalCount edges { node { title bodyHTML } } } } } } } }"
    )
    assert (found.node_count, found.requests, found.cost, found.errors) == (550, 51, 1, [])


def test_documented_complex_node_count() -> None:
    """Example 2: 50 + 1,000 + 10,000 + 1,000 + 10,000 + 10 = 22,060 nodes."""
    found = cost_of(
        """query { viewer {
          repositories(first: 50) { edges { repository: node { name
            pullRequests(first: 20) { edges { pullRequest: node { title
              comments(first: 10) { edges { comment: node { bodyHTML } } } } } }
            issues(first: 20) { totalCount edges { issue: node { title bodyHTML
              comments(first: 10) { edges { comment: node { bodyHTML } } } } } } } } }
          followers(first: 10) { edges { follower: node { login } } } } }"""
    )
    assert found.node_count == 22_060 and not found.errors
    assert found.requests == 1 + 50 + 1000 + 50 + 1000 + 1 and found.cost == 21


def test_documented_rate_limit_score() -> None:
    """Docs, "Calculating a rate limit score": 1 + 100 + 5,000 requests = 5,101 -> 51 points."""
    found = cost_of(
        "query { viewer { login repositories(first: 100) { edges { node { id"
        " issues(first: 50) { edges { node { id labels(first: 60) { edges { node { id name } } } } } } } } } } }"
    )
    assert (found.requests, found.cost, found.node_count) == (5101, 51, 100 + 5000 + 300_000)


def test_node_limit() -> None:
    found = cost_of(
        "query($n: Int!) { viewer { repositories(first: $n) { nodes { issues(first: $n) { nodes {"
        " labels(first: $n) { nodes { name } } } } } } } }",
        {"n": 100},
    )
    assert found.node_count == 1_010_100
    assert [e.extensions for e in found.errors] == [{"type": "MAX_NODE_LIMIT_EXCEEDED"}]
    assert "labels connection" in found.errors[0].message and "500,000" in found.errors[0].message


@pytest.mark.parametrize(
    ("page", "kind"),
    [("", "MISSING_PAGINATION_BOUNDARIES"), ("(first: 101)", "EXCESSIVE_PAGINATION"), ("(last: 0)", "EXCESSIVE_PAGINATION")],
)
def test_page_bounds(page: str, kind: str) -> None:
    found = cost_of(f'query {{ user(login: "x") {{ repositories{page} {{ nodes {{ name }} }} }} }}')
    assert [e.extensions for e in found.errors] == [{"type": kind}] and found.errors[0].path == ["user", "repositories"]


def test_counts_alone_need_no_bounds_and_lists_do_not_multiply() -> None:
    """`followers { totalCount }` is fine unpaged (one request); a by-repository list is one parent."""
    found = cost_of(
        'query { user(login: "x") { followers { totalCount } contributionsCollection {'
        " commitContributionsByRepository(maxRepositories: 100) { repository { repositoryTopics(first: 10) { nodes { url } } } } } } }"
    )
    assert (found.errors, found.requests, found.node_count, found.cost) == ([], 2, 10, 1)


def test_fragments_and_variables_count_where_used() -> None:
    found = cost_of(
        'query($n: Int = 30) { a: user(login: "a") { ...R } b: user(login: "b") { ...R } }'
        " fragment R on User { repositories(first: $n) { nodes { repositoryTopics(last: 5) { nodes { url } } } } }",
        {"n": 30},
    )
    assert (found.requests, found.node_count) == (2 * (1 + 30), 2 * (30 + 150))


def test_enrichment_query_for_fifty_people() -> None:
    """The pipeline's batched enrichment (tests/fixtures/graphql/enrich.graphql) widened to 50 aliases:
    14 requests a person (orgs, followers, 3 x (topics + contributions), repositories + 5 x topics)."""
    query = (QUERIES / "enrich.graphql").read_text()
    aliases = "".join(f"  u{i}: user(login: $l{i}) {{ ...Person }}\n" for i in range(50))
    variables = ", ".join(f"$l{i}: String!" for i in range(50))
    wide = query.replace("$l0: String!, $l1: String!", variables).replace(
        "  u0: user(login: $l0) { ...Person }\n  u1: user(login: $l1) { ...Person }\n", aliases
    )
    found = cost_of(wide)
    assert (found.requests, found.cost, found.node_count, found.errors) == (700, 7, 9400, [])
