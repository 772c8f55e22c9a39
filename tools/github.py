"""GitHub access through PyGithub, with our transport underneath (budget, ETags, retries).

`GitHubClient` (with `tools/github_app.py` for GitHub App tokens and `tools/github_graphql.py` for
GraphQL over the same requester) is the only place that knows PyGithub; it returns the typed models of `foundation.schemas.github`, so agents never see PyGithub
objects (which cannot be checkpointed).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from github import Auth, Github, GithubException
from github.Event import Event
from github.Organization import Organization
from github.PaginatedList import PaginatedList

from foundation.schemas.github import CommitInfo, EventInfo, RepoContribution, RepoInfo, UserProfile
from tools.etag_cache import ETagCache
from tools.github_app import AppCredentials, InstallationTokenAuth
from tools.github_graphql import GraphQLClient
from tools.github_transport import GitHubError, GitHubTransport, RateBudget

SEARCH_CAP = 1000
_STARS = re.compile(r"\bstars:(\S+)")


class GitHubClient:
    """Typed, budgeted GitHub REST access for one job, as a token's owner, a GitHub App's
    installation, or anonymously (`credentials` None)."""

    def __init__(
        self,
        base_url: str,
        credentials: str | AppCredentials | None,
        budget: RateBudget,
        cache: ETagCache | None,
        cache_namespace: str,
        *,
        max_wait: float = 60.0,
        concurrency: int = 8,
        timeout: float = 15.0,
        graphql_cache_seconds: float = 0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.budget = budget
        auth: Auth.Auth | None = None
        if isinstance(credentials, AppCredentials):
            auth = InstallationTokenAuth(credentials, self.base_url, timeout=timeout)
        elif credentials:
            auth = Auth.Token(credentials)
        self._auth = auth
        self._gh = Github(
            auth=auth,
            base_url=self.base_url,
            per_page=100,
            retry=None,
            pool_size=concurrency,
            timeout=int(timeout),
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,
        )
        self.transport = GitHubTransport(budget, cache, cache_namespace, max_wait=max_wait, concurrency=concurrency, auth=auth)
        # PyGithub builds its requests.Session lazily and privately; mount our adapter on it once.
        session = self._gh.requester._Requester__createConnection().session  # type: ignore[attr-defined]
        session.mount("http://", self.transport)
        session.mount("https://", self.transport)
        self.graphql = GraphQLClient(
            self._gh.requester,
            budget,
            authenticated=auth is not None,
            cache=cache,
            cache_namespace=cache_namespace,
            cache_seconds=graphql_cache_seconds,
        )

    def check(self) -> dict[str, Any]:
        """Fail fast with a clear message on a wrong URL, token or App (`/rate_limit` does not count)."""
        if isinstance(self._auth, InstallationTokenAuth):
            self._auth.connect()
        try:
            _, data = self._gh.requester.requestJsonAndCheck("GET", "/rate_limit")
        except GithubException as exc:
            raise GitHubError(f"GitHub at {self.base_url} refused the token: {exc.status} {_message(exc)}") from exc
        except Exception as exc:  # connection errors surface as many requests/urllib3 types
            raise GitHubError(f"cannot reach GitHub API at {self.base_url}: {type(exc).__name__}: {exc}") from exc
        return data

    # --- search -----------------------------------------------------------------------------
    def search_repositories(self, q: str, sort: str, order: str, limit: int) -> tuple[int, list[RepoInfo]]:
        """Up to `limit` (≤ 1,000) results of one query, paginated; returns (total_count, repos)."""
        params: dict[str, Any] = {"q": q, "order": order}
        if sort != "best-match":
            params["sort"] = sort
        total, page = 0, 1
        repos: list[RepoInfo] = []
        while len(repos) < min(limit, SEARCH_CAP):
            params.update(per_page=100, page=page)
            try:
                _, data = self._gh.requester.requestJsonAndCheck("GET", "/search/repositories", parameters=params)
            except GithubException as exc:
                if exc.status == 422 and repos:
                    break
                raise GitHubError(f"search {q!r} failed: {exc.status} {_message(exc)}") from exc
            total = int(data["total_count"])
            repos.extend(_repo_info(item) for item in data["items"])
            if len(data["items"]) < 100 or page * 100 >= min(total, SEARCH_CAP):
                break
            page += 1
        return total, repos[:limit]

    # --- repositories -------------------------------------------------------------------------
    def contributors(self, repo: RepoInfo, limit: int = 100) -> list[RepoContribution]:
        """Top contributors by commits with rank and share; [] for an empty repo (GitHub's 204)."""
        try:
            people = list(_take(self._gh.get_repo(repo.full_name).get_contributors(), limit))
        except TypeError:  # PyGithub 2.10 raises TypeError on the 204 of an empty repository
            return []
        except GithubException as exc:
            if exc.status in (404, 451):
                return []
            raise
        total = sum(p.contributions for p in people) or 1
        return [
            RepoContribution(
                login=p.login,
                github_id=p.id,
                account_type=p.type or "User",
                repo=repo.full_name,
                contributions=p.contributions,
                rank=rank,
                share=p.contributions / total,
                is_owner=p.login.lower() == repo.owner.lower() and repo.owner_type == "User",
            )
            for rank, p in enumerate(people, start=1)
        ]

    def commits(self, repo: str, author: str, since: datetime, limit: int = 100) -> list[CommitInfo]:
        """The person's commits to `repo` since `since` (newest first).

        `since` is cut to midnight UTC so that repeated runs on one day ask the same URL (and hit
        the ETag cache) instead of a new one every second.
        """
        since = since.replace(hour=0, minute=0, second=0, microsecond=0)
        try:
            listing = self._gh.get_repo(repo).get_commits(author=author, since=since)
            return [
                CommitInfo(
                    repo=repo,
                    sha=c.sha,
                    date=c.commit.author.date,
                    author_login=c.author.login if c.author else None,
                    author_email=c.commit.author.email,
                    html_url=c.html_url,
                )
                for c in _take(listing, limit)
            ]
        except GithubException as exc:
            if exc.status in (404, 409):  # 409: empty repository
                return []
            raise

    def repo(self, full_name: str) -> RepoInfo | None:
        """One repo's facts (None: gone or hidden)."""
        try:
            _, data = self._gh.requester.requestJsonAndCheck("GET", f"/repos/{full_name}")
        except GithubException as exc:
            if exc.status in (404, 451):
                return None
            raise
        return _repo_info(data)

    def readme(self, full_name: str) -> str | None:
        """The repo's README as text (None: it has none, or the repo is gone). Its text is the
        repo owner's, so callers treat it as hostile input."""
        try:
            _, data = self._gh.requester.requestJsonAndCheck("GET", f"/repos/{full_name}/readme")
        except GithubException as exc:
            if exc.status in (404, 451):
                return None
            raise
        content = data.get("content") or ""
        if data.get("encoding") == "base64":
            return base64.b64decode(content).decode("utf-8", "replace")
        return content or None

    # --- users --------------------------------------------------------------------------------
    def user(self, login: str) -> UserProfile:
        u = self._gh.get_user(login)
        return UserProfile(
            login=u.login,
            id=u.id,
            type=u.type,
            name=u.name,
            company=u.company,
            blog=u.blog or None,
            location=u.location,
            email=u.email,
            bio=u.bio,
            twitter_username=u.twitter_username,
            followers=u.followers or 0,
            public_repos=u.public_repos or 0,
            created_at=u.created_at,
            html_url=u.html_url,
            fetched_at=datetime.now(UTC),  # a 304 revalidation confirmed it current now, too
        )

    def owned_repos(self, login: str, limit: int = 5) -> list[RepoInfo]:
        """The person's own repos, most recently pushed first (one request)."""
        _, data = self._gh.requester.requestJsonAndCheck(
            "GET", f"/users/{login}/repos", parameters={"type": "owner", "sort": "pushed", "per_page": limit}
        )
        return [_repo_info(item) for item in data[:limit]]

    def orgs(self, login: str) -> list[str]:
        listing = PaginatedList(Organization, self._gh.requester, f"/users/{login}/orgs", None)
        return [o.login for o in _take(listing, 100)]

    def public_events(self, login: str, limit: int = 100) -> list[EventInfo]:
        # Built from the path, not from a lazy NamedUser: its `url` would cost a profile fetch.
        listing = PaginatedList(Event, self._gh.requester, f"/users/{login}/events/public", None)
        return [EventInfo(type=e.type, repo=e.repo.name, created_at=e.created_at) for e in _take(listing, limit)]


def split_by_stars(q: str) -> tuple[str, int, int]:
    """The query without its `stars:` qualifier, and the star bounds it asked for."""
    match = _STARS.search(q)
    lo, hi = 0, 10_000_000
    if match:
        value = match.group(1)
        if ".." in value:
            a, b = value.split("..")
            lo = int(a) if a != "*" else lo
            hi = int(b) if b != "*" else hi
        elif value.startswith(">="):
            lo = int(value[2:])
        elif value.startswith(">"):
            lo = int(value[1:]) + 1
        elif value.startswith("<="):
            hi = int(value[2:])
        elif value.startswith("<"):
            hi = int(value[1:]) - 1
        else:
            lo = hi = int(value)
        q = _STARS.sub("", q)
    return " ".join(q.split()), lo, hi


def _take(items: Any, limit: int) -> Iterator[Any]:
    for index, item in enumerate(items):
        if index >= limit:
            return
        yield item


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    return str(data.get("message", exc.data))


def _repo_info(item: dict[str, Any]) -> RepoInfo:
    return RepoInfo(
        full_name=item["full_name"],
        owner=item["owner"]["login"],
        owner_type="Organization" if item["owner"].get("type") == "Organization" else "User",
        language=item.get("language"),
        topics=item.get("topics") or [],
        description=item.get("description"),
        stars=item.get("stargazers_count", 0),
        fork=bool(item.get("fork")),
        archived=bool(item.get("archived")),
        pushed_at=item.get("pushed_at"),
        html_url=item.get("html_url", ""),
    )
