"""`User.contributionsCollection`: a person's commits and pull requests in a window of at most a year.

The same activity REST shows, counted as GitHub's contributions graph counts it:
- commits: the user's own commits (`Commit.login`) on default branches of non-fork repositories
  (GitHub does not count commits to forks), one CreatedCommitContribution per repository and day;
- pull requests: the world has none, so each feature-branch push (`Account.pushes`, visible in REST
  only as a PushEvent) is the pull request the user opened from that branch at that moment;
- reviews: none.
The window defaults to the year before the world's now; a longer span is GitHub's error.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from graphql import GraphQLError, GraphQLResolveInfo

from sandbox.graphql_paging import Connection, connection, iso
from sandbox.render import WEB, node_id
from sandbox.world import Account, Push, Repo, World

Info = GraphQLResolveInfo
DEFAULT_REPOSITORIES = 25
MAX_REPOSITORIES = 100


class Contributor(Protocol):
    """The User node the collection belongs to (graphql_types.UserNode)."""

    account: Account


def shift_years(moment: datetime, years: int) -> datetime:
    """The same moment `years` calendar years later (or earlier); 29 February becomes the 28th."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def window(now: datetime, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """GitHub's defaults: `from` a year before `to`; `to` now, or a year after `from` if that is earlier."""
    if start is None:
        end = end or now
        start = shift_years(end, -1)
    elif end is None:
        end = min(shift_years(start, 1), max(now, start))
    if end > shift_years(start, 1):
        raise GraphQLError("The total time spanned by 'from' and 'to' must not exceed 1 year")
    return start, end


Dated = tuple[datetime, dict[str, Any]]


def _ordered(items: list[Dated], order_by: dict[str, str] | None, page: dict[str, Any]) -> Connection:
    """A contributions connection: newest first unless `orderBy: {direction: ASC}`."""
    ascending = (order_by or {}).get("direction") == "ASC"
    return connection([node for _, node in sorted(items, key=lambda item: item[0], reverse=not ascending)], **page)


class ByRepository:
    """Commit/PullRequestContributionsByRepository: one repository and its contributions there."""

    def __init__(self, repository: Any, items: list[Dated]) -> None:
        self.repository, self.items = repository, items
        self.url, self.resourcePath = repository.url, repository.resourcePath

    def contributions(self, info: Info, orderBy: dict[str, str] | None = None, **page: Any) -> Connection:
        return _ordered(self.items, orderBy, page)


class ContributionsNode:
    typename = "ContributionsCollection"

    def __init__(
        self, world: World, user: Contributor, start: datetime | None, end: datetime | None, repo_node: Callable[[Repo], Any]
    ) -> None:
        self.world, self.user, self.repo_node = world, user, repo_node
        self.start, self.end = window(world.now, start, end)
        self.startedAt, self.endedAt = iso(self.start), iso(self.end)
        self.isSingleDay = self.start.date() == self.end.date()
        self.commit_repos = self._commits()
        self.pushes = [p for p in user.account.pushes if self.start <= p.at <= self.end]
        self.totalCommitContributions = sum(sum(days.values()) for _, days in self.commit_repos)
        self.totalRepositoriesWithContributedCommits = len(self.commit_repos)
        self.hasAnyContributions = bool(self.totalCommitContributions or self.pushes)
        self.hasAnyRestrictedContributions = False
        self.restrictedContributionsCount = self.totalPullRequestReviewContributions = self.totalRepositoryContributions = 0
        self.totalRepositoriesWithContributedPullRequestReviews = 0
        self.pullRequestReviewContributionsByRepository: list[Any] = []

    def _commits(self) -> list[tuple[Repo, Counter[datetime]]]:
        """Per non-fork repository, the user's commits per day (midnight UTC), most commits first."""
        login, found = self.user.account.login, []
        for repo, contribution in self.world.contributions_by_login.get(login, ()):
            if repo.fork or contribution.last_commit < self.start:
                continue
            days = Counter(
                c.date.replace(hour=0, minute=0, second=0, microsecond=0)
                for c in self.world.commits(repo)
                if c.login == login and self.start <= c.date <= self.end
            )
            if days:
                found.append((repo, days))
        found.sort(key=lambda item: (-sum(item[1].values()), -max(item[1]).timestamp(), item[0].full_name.lower()))
        return found

    def commitContributionsByRepository(self, info: Info, maxRepositories: int | None = None) -> list[ByRepository]:
        rows = []
        for repo, days in self.commit_repos[: _max_repositories(maxRepositories)]:
            node = self.repo_node(repo)
            url = f"{node.url}/commits?author={self.user.account.login}"
            common = {"repository": node, "isRestricted": False, "user": self.user, "url": url, "resourcePath": node.resourcePath}
            rows.append(
                ByRepository(node, [(day, {"occurredAt": iso(day), "commitCount": n} | common) for day, n in days.items()])
            )
        return rows

    def _pull_request(self, push: Push) -> Dated:
        node = self.repo_node(self.world.repos[push.repo])
        branch = push.ref.removeprefix("refs/heads/")
        number = int(hashlib.sha1(f"{push.repo}:{push.ref}:{push.at.isoformat()}".encode()).hexdigest(), 16) % 5000 + 1
        url = f"{WEB}/{push.repo}/pull/{number}"
        pull = {
            "id": node_id("PullRequest", f"{node.databaseId}-{number}"),
            "number": number,
            "title": f"{branch.rsplit('/', 1)[-1].capitalize()} changes",
            "url": url,
            "resourcePath": url.removeprefix(WEB),
            "createdAt": iso(push.at),
            "state": "OPEN",
            "isDraft": False,
            "merged": False,
            "headRefName": branch,
            "repository": node,
            "author": self.user,
        }
        item = {"occurredAt": iso(push.at), "pullRequest": pull, "isRestricted": False, "user": self.user, "url": url}
        return push.at, item | {"resourcePath": pull["resourcePath"]}

    def pullRequestContributionsByRepository(
        self, info: Info, maxRepositories: int | None = None, **_: Any
    ) -> list[ByRepository]:
        by_repo: defaultdict[str, list[Dated]] = defaultdict(list)
        for push in self.pushes:
            by_repo[push.repo].append(self._pull_request(push))
        ranked = sorted(by_repo.items(), key=lambda kv: (-len(kv[1]), -max(at for at, _ in kv[1]).timestamp(), kv[0].lower()))
        return [
            ByRepository(self.repo_node(self.world.repos[name]), items)
            for name, items in ranked[: _max_repositories(maxRepositories)]
        ]

    def pullRequestContributions(self, info: Info, orderBy: dict[str, str] | None = None, **page: Any) -> Connection:
        return _ordered([self._pull_request(p) for p in self.pushes], orderBy, page)

    def totalPullRequestContributions(self, info: Info, **_: Any) -> int:
        return len(self.pushes)

    def totalRepositoriesWithContributedPullRequests(self, info: Info, **_: Any) -> int:
        return len({p.repo for p in self.pushes})

    def totalIssueContributions(self, info: Info, **_: Any) -> int:
        return 0


def _max_repositories(value: int | None) -> int:
    if value is None:
        return DEFAULT_REPOSITORIES
    if not 1 <= value <= MAX_REPOSITORIES:
        raise GraphQLError(f"`maxRepositories` must be between 1 and {MAX_REPOSITORIES}.")
    return value
