"""The sandbox's GraphQL over real HTTP: the pipeline's two documents agree with REST on one world;
GitHub's errors, limits, costs, rate limit, auth and the no-GraphQL server."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox import SandboxServer, World, generate_world
from sandbox.render import node_id

QUERIES = Path(__file__).parents[1] / "fixtures" / "graphql"
ENRICH, COMMITS = (QUERIES / "enrich.graphql").read_text(), (QUERIES / "commits.graphql").read_text()
AUTH = {"Authorization": "bearer sandbox-token"}


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=11, users=300)


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[SandboxServer]:
    with SandboxServer(world, graphql_limit=100_000) as running:
        yield running


@pytest.fixture(scope="module")
def http(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=AUTH) as client:
        yield client


def gql(http: httpx.Client, query: str, path: str = "/graphql", **variables: Any) -> dict[str, Any]:
    response = http.post(path, json={"query": query, "variables": variables})
    assert response.status_code == 200 and response.headers["x-ratelimit-resource"] == "graphql"
    return response.json()


def window(world: World) -> dict[str, str]:
    return {"from": (world.now - timedelta(days=365)).isoformat(), "to": world.now.isoformat()}


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_enrichment_agrees_with_rest(http: httpx.Client, world: World) -> None:
    people = [a.login for a in world.users.values() if a.pushes and a.orgs and world.repos_by_owner.get(a.login)][:2]
    body = gql(http, ENRICH, l0=people[0], l1=people[1], **window(world))
    assert "errors" not in body and body["data"]["rateLimit"]["cost"] == 1
    for alias, login in zip(("u0", "u1"), people, strict=True):
        got, rest = body["data"][alias], http.get(f"/users/{login}").json()
        assert got["login"] == rest["login"] and got["databaseId"] == rest["id"] and got["id"] == rest["node_id"]
        for field, key in [("name", "name"), ("company", "company"), ("location", "location"), ("bio", "bio")]:
            assert got[field] == rest[key]
        assert (got["email"], got["websiteUrl"]) == (rest["email"] or "", rest["blog"] or None)
        assert (got["twitterUsername"], got["createdAt"], got["url"]) == (
            rest["twitter_username"],
            rest["created_at"],
            rest["html_url"],
        )
        assert got["followers"]["totalCount"] == rest["followers"]
        orgs = http.get(f"/users/{login}/orgs").json()
        assert [o["login"] for o in got["organizations"]["nodes"]] == [o["login"] for o in orgs]
        repos = http.get(f"/users/{login}/repos", params={"sort": "pushed", "per_page": 100}).json()
        owned = [r["full_name"] for r in repos if not r["fork"]][:5]
        assert [r["nameWithOwner"] for r in got["repositories"]["nodes"]] == owned
        first = got["repositories"]["nodes"][0]
        rest_repo = next(r for r in repos if r["full_name"] == first["nameWithOwner"])
        assert (first["stargazerCount"], first["pushedAt"], first["isArchived"]) == (
            rest_repo["stargazers_count"],
            rest_repo["pushed_at"],
            rest_repo["archived"],
        )
        assert [t["topic"]["name"] for t in first["repositoryTopics"]["nodes"]] == rest_repo["topics"]
        assert first["owner"] == {"login": login, "__typename": "User"}


def test_contributions_follow_commits_and_pushes(http: httpx.Client, world: World) -> None:
    person = next(a for a in world.users.values() if a.pushes)
    span = window(world)
    start, end = when(span["from"]), when(span["to"])
    collection = gql(http, ENRICH, l0=person.login, l1=person.login, **span)["data"]["u0"]["contributionsCollection"]
    days: dict[str, Counter[str]] = {}
    for repo, _ in world.contributions_by_login[person.login]:
        found = Counter(
            c.date.date().isoformat() for c in world.commits(repo) if c.login == person.login and start <= c.date <= end
        )
        if found and not repo.fork:
            days[repo.full_name] = found
    got = {row["repository"]["nameWithOwner"]: row["contributions"] for row in collection["commitContributionsByRepository"]}
    assert got.keys() == days.keys()
    for name, contributions in got.items():
        assert contributions["totalCount"] == len(days[name])
        newest = contributions["nodes"][0]
        assert newest["occurredAt"] == f"{max(days[name])}T00:00:00Z" and newest["commitCount"] == days[name][max(days[name])]
    counts = [sum(days[name].values()) for name in got]
    assert counts == sorted(counts, reverse=True), "busiest repositories first"
    pushes = Counter(p.repo for p in person.pushes if start <= p.at <= end)
    pulls = {
        row["repository"]["nameWithOwner"]: row["contributions"]["totalCount"]
        for row in collection["pullRequestContributionsByRepository"]
    }
    assert pulls == dict(pushes) and collection["pullRequestReviewContributionsByRepository"] == []
    events = http.get(f"/users/{person.login}/events/public", params={"per_page": 100}).json()
    feature = {e["repo"]["name"] for e in events if e["type"] == "PushEvent" and "/feature/" in e["payload"]["ref"]}
    assert feature == set(pushes), "REST sees the same activity as PushEvents"


def test_totals_and_default_window(http: httpx.Client, world: World) -> None:
    person = next(a for a in world.users.values() if a.pushes)
    query = """query($l: String!) { user(login: $l) { contributionsCollection {
      startedAt endedAt totalCommitContributions totalPullRequestContributions hasAnyContributions
      commitContributionsByRepository(maxRepositories: 100) { contributions(first: 100) { nodes { commitCount } } }
      pullRequestContributions(first: 100, orderBy: {direction: ASC}) { totalCount nodes { occurredAt pullRequest { number url createdAt } } } } } }"""
    collection = gql(http, query, l=person.login)["data"]["user"]["contributionsCollection"]
    assert when(collection["endedAt"]) == world.now and when(collection["startedAt"]) == world.now.replace(
        year=world.now.year - 1
    )
    per_day = [n["commitCount"] for row in collection["commitContributionsByRepository"] for n in row["contributions"]["nodes"]]
    assert collection["totalCommitContributions"] == sum(per_day)
    pulls = collection["pullRequestContributions"]
    assert collection["totalPullRequestContributions"] == pulls["totalCount"] == len(person.pushes)
    assert [n["occurredAt"] for n in pulls["nodes"]] == sorted(n["pullRequest"]["createdAt"] for n in pulls["nodes"])
    assert collection["hasAnyContributions"] is True


def test_history_by_author_matches_rest_commits(http: httpx.Client, world: World) -> None:
    repo = max((r for r in world.repos.values() if r.contributors and not r.fork), key=lambda r: len(world.commits(r)))
    login = Counter(c.login for c in world.commits(repo) if c.login).most_common(1)[0][0]
    since = (world.now - timedelta(days=3 * 365)).isoformat()
    account = world.accounts[login]
    body = gql(http, COMMITS, since=since, o0=repo.owner, n0=repo.name, a0=node_id(account.type, account.id))
    nodes = body["data"]["c0"]["defaultBranchRef"]["target"]["history"]["nodes"]
    rest = http.get(f"/repos/{repo.full_name}/commits", params={"author": login, "since": since, "per_page": 10}).json()
    assert nodes and [n["oid"] for n in nodes] == [c["sha"] for c in rest]
    assert [(n["author"]["email"], n["author"]["user"]) for n in nodes] == [
        (c["commit"]["author"]["email"], {"login": login, "databaseId": account.id}) for c in rest
    ]
    assert [n["committedDate"] for n in nodes] == [c["commit"]["author"]["date"] for c in rest]


def test_not_found_keeps_the_other_aliases(http: httpx.Client, world: World) -> None:
    person = next(iter(world.users))
    org = next(a.login for a in world.accounts.values() if a.type == "Organization")
    bot = next(a.login for a in world.accounts.values() if a.type == "Bot")
    query = (
        f'query {{ a: user(login: "no-such-person-x") {{ login }} b: user(login: "{person}") {{ login }}'
        f' c: user(login: "{org}") {{ login }} d: user(login: "{bot}") {{ login }}'
        ' r: repository(owner: "nobody", name: "nothing") { name } }'
    )
    body = gql(http, query)
    assert body["data"] == {"a": None, "b": {"login": person}, "c": None, "d": None, "r": None}
    errors = {e["path"][0]: e for e in body["errors"]}
    assert errors["a"] == {
        "type": "NOT_FOUND",
        "message": "Could not resolve to a User with the login of 'no-such-person-x'.",
        "locations": [{"line": 1, "column": 9}],
        "path": ["a"],
    }
    assert errors["c"]["type"] == errors["d"]["type"] == "NOT_FOUND"
    assert errors["r"]["message"] == "Could not resolve to a Repository with the name 'nobody/nothing'."


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "{ viewer { login bogus } }",
            {
                "message": "Field 'bogus' doesn't exist on type 'User'",
                "extensions": {"code": "undefinedField", "typeName": "User", "fieldName": "bogus"},
            },
        ),
        ("{ viewer { repositories { nodes { name } } } }", {"type": "MISSING_PAGINATION_BOUNDARIES"}),
        ("{ viewer { repositories(first: 500) { nodes { name } } } }", {"type": "EXCESSIVE_PAGINATION"}),
        (
            "{ viewer { repositories(first: 100) { nodes { issues(first: 100) { nodes { labels(first: 100) { nodes { name } } } } } } } }",
            {"type": "MAX_NODE_LIMIT_EXCEEDED"},
        ),
        ("{ viewer { login ", {}),
    ],
)
def test_refusals_have_githubs_shape(http: httpx.Client, server: SandboxServer, query: str, expected: dict[str, Any]) -> None:
    before = server.stats.graphql_points
    body = gql(http, query)
    (error,) = body["errors"]
    assert all(error[key] == value for key, value in expected.items()) and error["locations"]
    assert "data" not in body and server.stats.graphql_points == before, "refused before execution: free"


def test_span_error_on_a_real_user(http: httpx.Client, world: World) -> None:
    login = next(iter(world.users))
    query = 'query($l: String!) { rateLimit { cost } user(login: $l) { login contributionsCollection(from: "2020-01-01T00:00:00Z", to: "2021-06-01T00:00:00Z") { hasAnyContributions } } }'
    body = gql(http, query, l=login)
    assert body["data"] == {"rateLimit": {"cost": 1}, "user": None}, "a non-null field's error nulls its parent, as on GitHub"
    assert body["errors"] == [
        {
            "message": "The total time spanned by 'from' and 'to' must not exceed 1 year",
            "locations": [{"line": 1, "column": 65}],
            "path": ["user", "contributionsCollection"],
        }
    ]


def test_cost_and_bucket_in_rate_limit_and_headers(world: World) -> None:
    login = next(iter(world.users))
    with SandboxServer(world, graphql_limit=10) as server, httpx.Client(base_url=server.url, headers=AUTH) as http:
        query = "query($l: String!) { rateLimit { cost limit remaining used nodeCount resetAt } user(login: $l) { repositories(first: 100) { nodes { repositoryTopics(first: 100) { nodes { url } } } } } }"
        response = http.post("/graphql", json={"query": query, "variables": {"l": login}})
        rate = response.json()["data"]["rateLimit"]
        assert (rate["cost"], rate["limit"], rate["remaining"], rate["used"], rate["nodeCount"]) == (1, 10, 9, 1, 100 + 100 * 100)
        assert response.headers["x-ratelimit-remaining"] == "9" and response.headers["x-ratelimit-used"] == "1"
        server.set_rate_limit("graphql", remaining=0)
        refused = http.post("/api/graphql", json={"query": query, "variables": {"l": login}})
        assert refused.status_code == 200 and refused.json() == {
            "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]
        }
        assert refused.headers["x-ratelimit-remaining"] == "0" and refused.headers["x-ratelimit-resource"] == "graphql"
        assert http.get("/rate_limit").json()["resources"]["graphql"]["remaining"] == 0
        assert http.get(f"/users/{login}").status_code == 200, "REST's core bucket is another bucket"
        stats = server.stats
        assert (
            stats.graphql_queries,
            stats.graphql_points,
            stats.by_path["POST /graphql"],
            stats.by_path["POST /api/graphql"],
        ) == (1, 1, 1, 1)


def test_both_paths_answer_alike(http: httpx.Client, world: World) -> None:
    query = "query($l: String!) { user(login: $l) { login organizations(first: 5) { totalCount } } }"
    login = next(iter(world.users))
    assert gql(http, query, "/graphql", l=login) == gql(http, query, "/api/graphql", l=login)


def test_authentication_and_the_server_without_graphql(world: World) -> None:
    query = {"query": "{ viewer { login } }"}
    with SandboxServer(world, token="right") as server:
        anonymous = httpx.post(f"{server.url}/graphql", json=query)
        assert anonymous.status_code == 401 and anonymous.json()["message"] == "This endpoint requires you to be authenticated."
        assert httpx.get(f"{server.url}/users/{next(iter(world.users))}").status_code == 200, "REST still reads anonymously"
        wrong = httpx.post(f"{server.url}/graphql", json=query, headers={"Authorization": "bearer wrong"})
        assert wrong.status_code == 401 and wrong.json()["message"] == "Bad credentials"
        right = httpx.post(f"{server.url}/graphql", json=query, headers={"Authorization": "bearer right"})
        assert right.json() == {"data": {"viewer": {"login": "sandbox-viewer"}}}
        server.inject_fault("/graphql", 502, times=1)
        assert httpx.post(f"{server.url}/graphql", json=query, headers={"Authorization": "bearer right"}).status_code == 502
    with SandboxServer(world, graphql=False) as server:
        for path in ("/graphql", "/api/graphql"):
            assert httpx.post(f"{server.url}{path}", json=query, headers=AUTH).status_code == 404
