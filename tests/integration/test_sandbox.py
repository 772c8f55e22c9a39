"""The sandbox over real HTTP with real PyGithub: shapes, search, pagination, ETags, limits, faults."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from github import Auth, BadCredentialsException, Github, GithubException, RateLimitExceededException

from foundation.vocabulary import load_vocabulary
from sandbox import BUILTIN_GOALS, SandboxServer, World, generate_world, truth


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=7, users=1500)


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[SandboxServer]:
    with SandboxServer(world, search_limit=10_000) as running:
        yield running


@pytest.fixture(scope="module")
def gh(server: SandboxServer) -> Github:
    return Github(base_url=server.url, retry=None, seconds_between_requests=None, per_page=100)


def _gh(url: str, token: str | None = None) -> Github:
    auth = Auth.Token(token) if token else None
    return Github(base_url=url, auth=auth, retry=None, seconds_between_requests=None, per_page=100)


def test_repository_search_pages_through_pygithub(gh: Github, world: World) -> None:
    found = gh.search_repositories(query="language:Python", sort="stars", order="desc")
    names = [r.full_name for r in found]
    expected = {r.full_name for r in world.repos.values() if r.language == "Python" and not r.fork}
    assert found.totalCount == len(expected) and set(names) == expected and len(names) > 100
    stars = [world.repos[n].stars for n in names]
    assert stars == sorted(stars, reverse=True)
    first = gh.get_repo(names[0])
    assert (first.language, first.fork, first.private) == ("Python", False, False)
    assert first.owner.login == world.repos[names[0]].owner and first.stargazers_count == stars[0]


@pytest.mark.parametrize(
    ("q", "check"),
    [
        ("language:Go stars:100..5000", lambda r: r.language == "Go" and 100 <= r.stars <= 5000 and not r.fork),
        ("language:Go -topic:kubernetes", lambda r: r.language == "Go" and "kubernetes" not in r.topics and not r.fork),
        ("fork:only language:Python", lambda r: r.fork and r.language == "Python"),
        ("archived:true fork:true", lambda r: r.archived),
        ('"machine learning" in:description', lambda r: "machine learning" in (r.description or "").lower() and not r.fork),
        ("language:Rust OR language:Zig", lambda r: r.language == "Rust" and not r.fork),
        ("stars:>=1000 pushed:<2099-01-01 created:*..2099-01-01", lambda r: r.stars >= 1000 and not r.fork),
    ],
)
def test_repository_qualifiers(gh: Github, world: World, q: str, check) -> None:
    names = {r.full_name for r in gh.search_repositories(query=q)}
    assert names and names == {r.full_name for r in world.repos.values() if check(r)}


def test_user_and_org_qualifiers(gh: Github, world: World) -> None:
    org = next(a for a in world.accounts.values() if a.type == "Organization")
    assert {r.full_name for r in gh.search_repositories(query=f"org:{org.login}")} == {
        r.full_name for r in world.repos_by_owner[org.login] if not r.fork
    }
    people = list(gh.search_users(query="location:berlin type:user", sort="followers", order="desc"))
    assert people and all("berlin" in (world.accounts[p.login].location or "").lower() for p in people)
    followers = [world.accounts[p.login].followers for p in people]
    assert followers == sorted(followers, reverse=True)
    rustaceans = {p.login for p in gh.search_users(query="language:rust followers:>=0")}
    assert rustaceans and all(any(r.language == "Rust" for r in world.repos_by_owner[x]) for x in rustaceans)


def test_unknown_qualifier_is_422(gh: Github) -> None:
    with pytest.raises(GithubException) as caught:
        gh.search_repositories(query="colour:blue").totalCount  # noqa: B018 - the property fetches
    assert caught.value.status == 422 and caught.value.data["message"] == "Validation Failed"


def test_search_is_capped_at_1000_results(gh: Github, server: SandboxServer) -> None:
    found = gh.search_repositories(query="stars:>=0", sort="stars")
    items = list(found)
    assert len(items) == 1000 and found.totalCount > 1000
    page = httpx.get(f"{server.url}/search/repositories", params={"q": "stars:>=0", "per_page": 100, "page": 10})
    assert page.status_code == 200 and 'rel="next"' not in page.headers["link"]
    beyond = httpx.get(f"{server.url}/search/repositories", params={"q": "stars:>=0", "per_page": 100, "page": 11})
    assert beyond.status_code == 422
    assert beyond.json()["message"] == "Only the first 1000 search results are available"


def test_link_headers_are_absolute_with_all_rels(server: SandboxServer) -> None:
    response = httpx.get(f"{server.url}/search/repositories", params={"q": "stars:>=0", "per_page": 50, "page": 2})
    links = {rel: url for url, rel in (part.split("; rel=") for part in response.headers["link"].split(", "))}
    assert set(links) == {'"next"', '"last"', '"prev"', '"first"'}
    assert all(url.startswith(f"<{server.url}/search/repositories?") for url in links.values())
    assert "page=20" in links['"last"'] and "page=3" in links['"next"'] and "q=stars%3A%3E%3D0" in links['"next"']


def test_contributors_sorted_with_bots_anon_and_204_for_empty(gh: Github, world: World, server: SandboxServer) -> None:
    repo = next(
        r
        for r in world.repos.values()
        if not r.fork
        and any(c.login is None for c in r.contributors)
        and any(c.login and world.accounts[c.login].type == "Bot" for c in r.contributors)
    )
    people = list(gh.get_repo(repo.full_name).get_contributors())
    assert [(p.login, p.contributions) for p in people] == [(c.login, c.count) for c in repo.contributors if c.login]
    assert "Bot" in {p.type for p in people}
    with_anon = httpx.get(f"{server.url}/repos/{repo.full_name}/contributors", params={"anon": "1"}).json()
    assert any(row["type"] == "Anonymous" and row["email"] for row in with_anon)
    empty = next(r for r in world.repos.values() if not r.contributors)
    response = httpx.get(f"{server.url}/repos/{empty.full_name}/contributors")
    assert response.status_code == 204 and response.content == b""
    assert httpx.get(f"{server.url}/repos/{empty.full_name}/commits").status_code == 409


def test_commits_filter_by_author_and_since(gh: Github, world: World) -> None:
    repo = next(r for r in world.repos.values() if not r.fork and len(r.contributors) > 4)
    author = next(c for c in repo.contributors if c.login and c.count > 2)
    since = author.last_commit - timedelta(days=400)
    commits = list(gh.get_repo(repo.full_name).get_commits(author=author.login, since=since))
    expected = [c for c in world.commits(repo) if c.login == author.login and c.date >= since]
    assert [c.sha for c in commits] == [c.sha for c in expected] and commits
    assert commits[0].commit.author.date == author.last_commit
    assert commits[0].author.login == author.login
    assert {c.commit.author.email for c in commits} <= set(world.accounts[author.login].commit_emails)


def test_user_profile_orgs_and_lookup_by_id(gh: Github, world: World, server: SandboxServer) -> None:
    person = next(u for u in world.users.values() if u.email and u.orgs and u.company and u.location)
    user = gh.get_user(person.login)
    assert (user.login, user.id, user.type, user.name, user.company, user.location, user.email, user.bio) == (
        person.login,
        person.id,
        "User",
        person.name,
        person.company,
        person.location,
        person.email,
        person.bio,
    )
    assert user.created_at == person.created_at and user.followers == person.followers
    assert user.public_repos == len(world.repos_by_owner.get(person.login, ()))
    assert [o.login for o in user.get_orgs()] == person.orgs
    org = gh.get_organization(person.orgs[0])
    assert org.type == "Organization" and org.public_repos == len(world.repos_by_owner[person.orgs[0]])
    assert httpx.get(f"{server.url}/user/{person.id}").json()["login"] == person.login
    assert gh.get_user("dependabot[bot]").type == "Bot"
    assert httpx.get(f"{server.url}/orgs/{person.login}").status_code == 404
    assert httpx.get(f"{server.url}/nope").json()["message"] == "Not Found"


def test_user_repos_and_repo_extras(gh: Github, world: World, server: SandboxServer) -> None:
    fork = next(r for r in world.repos.values() if r.fork)
    repo = gh.get_repo(fork.full_name)
    assert repo.fork and repo.parent.full_name == fork.parent
    owned = [r.full_name for r in gh.get_user(fork.owner).get_repos(sort="full_name")]
    assert owned == sorted((r.full_name for r in world.repos_by_owner[fork.owner]), key=str.lower)
    source = world.repos[fork.parent]
    assert httpx.get(f"{server.url}/repos/{source.full_name}/topics").json() == {"names": source.topics}
    assert source.language in httpx.get(f"{server.url}/repos/{source.full_name}/languages").json()


def test_public_events_shape(gh: Github, world: World, server: SandboxServer) -> None:
    login = max(world.users, key=lambda x: sum(e.type == "PushEvent" for e in world.events(x)))
    events = list(gh.get_user(login).get_public_events())
    assert 0 < len(events) <= 300
    assert all(e.created_at >= datetime.now(UTC) - timedelta(days=31) for e in events)
    raw = httpx.get(f"{server.url}/users/{login}/events/public", params={"per_page": 100}).json()
    push = next(e for e in raw if e["type"] == "PushEvent")
    assert set(push["payload"]) == {"repository_id", "push_id", "ref", "head", "before"}
    assert set(push) >= {"id", "type", "actor", "repo", "payload", "public", "created_at"}
    assert push["actor"]["login"] == login and set(push["repo"]) == {"id", "name", "url"}


def test_etag_304_does_not_count(server: SandboxServer, world: World) -> None:
    url = f"{server.url}/users/{next(iter(world.users))}"
    first = httpx.get(url)
    tag = first.headers["etag"]
    before = server.stats
    again = httpx.get(url, headers={"If-None-Match": tag})
    after = server.stats
    assert again.status_code == 304 and again.content == b""
    assert after.counted == before.counted and after.not_modified == before.not_modified + 1
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]
    assert httpx.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200
    with SandboxServer(world) as restarted:  # another port, same world: the ETag still matches
        assert httpx.get(url.replace(server.url, restarted.url), headers={"If-None-Match": tag}).status_code == 304


def test_rate_limit_exhaustion_and_reset(world: World) -> None:
    with SandboxServer(world) as server:
        client = _gh(server.url)
        server.set_rate_limit("core", remaining=2, reset_in=1.0)
        client.get_user("dependabot[bot]")
        client.get_user("renovate[bot]")
        with pytest.raises(RateLimitExceededException):
            client.get_user("dependabot[bot]")
        blocked = httpx.get(f"{server.url}/users/dependabot[bot]")
        assert blocked.status_code == 403 and blocked.json()["message"].startswith("API rate limit exceeded")
        assert blocked.headers["x-ratelimit-remaining"] == "0" and blocked.headers["x-ratelimit-resource"] == "core"
        assert int(blocked.headers["x-ratelimit-reset"]) >= int(time.time())
        assert client.get_rate_limit().resources.core.remaining == 0, "/rate_limit answers and does not count"
        assert client.search_repositories(query="stars:>5000").totalCount > 0, "search has its own bucket"
        time.sleep(1.1)
        assert client.get_user("dependabot[bot]").type == "Bot"
        stats = server.stats
        assert stats.counted == 4 and stats.by_path["/users/dependabot[bot]"] == 4, "403s do not count"


def test_search_limit_is_per_minute(world: World) -> None:
    with SandboxServer(world, search_limit=2) as server:
        client = _gh(server.url)
        for _ in range(2):
            client.search_repositories(query="stars:>5000").totalCount  # noqa: B018
        with pytest.raises(RateLimitExceededException):
            client.search_repositories(query="stars:>5000").totalCount  # noqa: B018
        assert client.get_rate_limit().resources.search.limit == 2


def test_injected_faults(world: World) -> None:
    with SandboxServer(world) as server:
        client = _gh(server.url)
        server.inject_fault("/users/", 502, times=2)
        for _ in range(2):
            with pytest.raises(GithubException) as caught:
                client.get_user("dependabot[bot]")
            assert caught.value.status == 502
        assert client.get_user("dependabot[bot]").login == "dependabot[bot]"
        server.inject_fault(
            "/search/",
            403,
            headers={"Retry-After": "1"},
            body={"message": "You have exceeded a secondary rate limit. Please wait."},
        )
        secondary = httpx.get(f"{server.url}/search/repositories", params={"q": "stars:>1"})
        assert secondary.status_code == 403 and secondary.headers["retry-after"] == "1"
        assert httpx.get(f"{server.url}/search/repositories", params={"q": "stars:>1"}).status_code == 200
        assert server.stats.faults == 3
        server.reset_stats()
        assert server.stats.total == 0


def test_error_rate_and_latency(world: World) -> None:
    with SandboxServer(world, error_rate=0.5, latency_ms=20) as server:
        started = time.perf_counter()
        codes = [httpx.get(f"{server.url}/rate_limit").status_code for _ in range(20)]
        assert time.perf_counter() - started >= 0.4
        assert 0 < codes.count(502) < 20 and set(codes) == {200, 502}


def test_bad_token_is_401_when_a_token_is_configured(world: World) -> None:
    with SandboxServer(world, token="s3cret") as server:
        with pytest.raises(BadCredentialsException):
            _gh(server.url, "wrong").get_user("dependabot[bot]")
        assert _gh(server.url, "s3cret").get_user("dependabot[bot]").type == "Bot"
        assert httpx.get(f"{server.url}/users/dependabot[bot]", headers={"Authorization": "Bearer s3cret"}).is_success
        assert _gh(server.url).get_user("dependabot[bot]").type == "Bot", "no auth header is allowed"


def test_truth_endpoint(server: SandboxServer, world: World) -> None:
    body = httpx.get(f"{server.url}/_sandbox/truth/python-ml").json()
    goal = BUILTIN_GOALS["python-ml"]
    assert body["goal"] == goal.goal and body["audience"]["topics"] == load_vocabulary().domains["machine_learning"].topics
    assert set(body["logins"]) == truth(world, goal.audience, datetime.now(UTC))
    assert body["groups"] and httpx.get(f"{server.url}/_sandbox/truth/nope").status_code == 404
