"""The World seen through GitHub's GraphQL types: one small class per object type, resolved by
graphql-core's default resolver (a field is an attribute or a method called with its arguments).

Every value comes from the same `World` lookups as the REST routes in `server.py`/`render.py`, so
both APIs tell one story: a profile, its organizations and repositories, a default branch's history
filtered by author as `GET /repos/{o}/{r}/commits?author=` filters it. The contributions calendar
lives in `graphql_contributions.py`. Arguments arrive under their GraphQL (camelCase) names; the
methods take `**_` for the arguments the sandbox ignores (privacy, path, ...).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, ClassVar

from graphql import GraphQLResolveInfo

from sandbox.graphql_contributions import ContributionsNode
from sandbox.graphql_paging import Connection, connection, counted, iso, parse_time
from sandbox.render import LICENSE_NAMES, WEB, node_id, profile_updated
from sandbox.world import Account, Commit, Repo, World

Info = GraphQLResolveInfo


# ---- accounts -----------------------------------------------------------------------------------------
_REPO_ORDER: dict[str, Callable[[Repo], Any]] = {
    "CREATED_AT": lambda r: (r.created_at, r.id),
    "UPDATED_AT": lambda r: (r.updated_at, r.id),
    "PUSHED_AT": lambda r: (r.pushed_at, r.id),
    "NAME": lambda r: (r.name.lower(), r.id),
    "STARGAZERS": lambda r: (r.stars, r.id),
}


class AccountNode:
    """What users and organizations share (GitHub's RepositoryOwner, ProfileOwner, Actor)."""

    typename: ClassVar[str]

    def __init__(self, world: World, account: Account) -> None:
        self.world, self.account = world, account
        self.login, self.name, self.location = account.login, account.name, account.location
        self.databaseId = account.id
        self.id = node_id(self.typename, account.id)
        self.url = f"{WEB}/{account.login}"
        self.resourcePath = f"/{account.login}"
        self.createdAt = iso(account.created_at)
        self.websiteUrl = account.blog or None  # REST's `blog` is "" when unset; GraphQL's URI is null
        self.avatarUrl = f"{WEB}/avatars/u/{account.id}?v=4"

    def repositories(
        self,
        info: Info,
        ownerAffiliations: list[str] | None = None,
        isFork: bool | None = None,
        isArchived: bool | None = None,
        orderBy: dict[str, str] | None = None,
        **page: Any,
    ) -> Connection:
        """Owned repositories, as REST's `/users/{login}/repos`; the sandbox has no collaborators."""
        owned = ownerAffiliations is None or "OWNER" in ownerAffiliations
        repos = [
            r
            for r in (self.world.repos_by_owner.get(self.account.login, ()) if owned else ())
            if (isFork is None or r.fork == isFork) and (isArchived is None or r.archived == isArchived)
        ]
        order = orderBy or {"field": "CREATED_AT", "direction": "ASC"}
        repos.sort(key=_REPO_ORDER[order["field"]], reverse=order["direction"] == "DESC")
        return connection(repos, lambda r: RepoNode(self.world, r), **page)

    def repository(self, info: Info, name: str, **_: Any) -> RepoNode | None:
        repo = self.world.repo(f"{self.account.login}/{name}")
        return RepoNode(self.world, repo) if repo else None


class UserNode(AccountNode):
    typename = "User"

    def __init__(self, world: World, account: Account) -> None:
        super().__init__(world, account)
        self.company, self.bio, self.twitterUsername = account.company, account.bio, account.twitter_username
        self.email = account.email or ""  # GitHub: the public profile email, "" when there is none
        self.isHireable = bool(account.hireable)
        self.isBountyHunter = self.isCampusExpert = self.isDeveloperProgramMember = False
        self.isEmployee = self.isGitHubStar = self.isSiteAdmin = self.isViewer = False
        self.updatedAt = iso(profile_updated(world, account))

    def followers(self, info: Info, **_: Any) -> Connection:
        return counted(self.account.followers)

    def following(self, info: Info, **_: Any) -> Connection:
        return counted(self.account.following)

    def organizations(self, info: Info, **page: Any) -> Connection:
        """Public memberships, as REST's `/users/{login}/orgs`."""
        orgs = [self.world.accounts[o] for o in self.account.orgs]
        return connection(orgs, lambda o: OrgNode(self.world, o), **page)

    def contributionsCollection(self, info: Info, **arguments: Any) -> ContributionsNode:
        """`from`/`to` (Python keywords, hence **arguments): at most a year apart, by default the last year."""
        start, end = parse_time(arguments.get("from"), "from"), parse_time(arguments.get("to"), "to")
        return ContributionsNode(self.world, self, start, end, lambda repo: RepoNode(self.world, repo))


class OrgNode(AccountNode):
    typename = "Organization"

    def __init__(self, world: World, account: Account) -> None:
        super().__init__(world, account)
        self.description, self.email = account.bio, account.email
        self.isVerified = False


def account_node(world: World, account: Account) -> AccountNode:
    return OrgNode(world, account) if account.type == "Organization" else UserNode(world, account)


# ---- repositories and commits -------------------------------------------------------------------------
class RepoNode:
    typename = "Repository"

    def __init__(self, world: World, repo: Repo) -> None:
        self.world, self.repo = world, repo
        self.id, self.databaseId = node_id("Repository", repo.id), repo.id
        self.name, self.nameWithOwner, self.description = repo.name, repo.full_name, repo.description
        self.url, self.resourcePath = f"{WEB}/{repo.full_name}", f"/{repo.full_name}"
        self.isFork, self.isArchived, self.isPrivate = repo.fork, repo.archived, False
        self.isDisabled = self.isLocked = self.isMirror = self.isTemplate = False
        self.isEmpty = not repo.contributors
        self.stargazerCount, self.forkCount = repo.stars, repo.forks
        self.createdAt, self.updatedAt, self.pushedAt = iso(repo.created_at), iso(repo.updated_at), iso(repo.pushed_at)
        self.visibility = "PUBLIC"
        self.primaryLanguage = {"name": repo.language} if repo.language else None
        license_ = repo.license
        self.licenseInfo = license_ and {"key": license_, "spdxId": license_.upper(), "name": LICENSE_NAMES[license_]}

    @property
    def owner(self) -> AccountNode:
        return account_node(self.world, self.world.accounts[self.repo.owner])

    @property
    def parent(self) -> RepoNode | None:
        return RepoNode(self.world, self.world.repos[self.repo.parent]) if self.repo.parent else None

    def repositoryTopics(self, info: Info, **page: Any) -> Connection:
        def wrap(name: str) -> dict[str, Any]:
            return {"topic": {"name": name, "id": node_id("Topic", name)}, "url": f"{WEB}/topics/{name}"}

        return connection(self.repo.topics, wrap, **page)

    def stargazers(self, info: Info, **_: Any) -> Connection:
        return counted(self.repo.stars)

    @property
    def defaultBranchRef(self) -> dict[str, Any] | None:
        """Null for an empty repository (REST answers its commits 409)."""
        if not self.repo.contributors:
            return None
        history = self.world.commits(self.repo)
        name = self.repo.default_branch
        return {
            "name": name,
            "prefix": "refs/heads/",
            "target": CommitNode(self.world, self.repo, history, 0),
            "id": node_id("Ref", name),
        }


class CommitNode:
    """One commit of a default branch; `history` walks back from it like `git log`."""

    typename = "Commit"

    def __init__(self, world: World, repo: Repo, history: list[Commit], index: int) -> None:
        self.world, self.repo, self.line, self.index = world, repo, history, index
        commit = history[index]
        self.oid, self.abbreviatedOid = commit.sha, commit.sha[:7]
        self.id = node_id("Commit", commit.sha[:12])
        self.committedDate = self.authoredDate = iso(commit.date)
        self.message = commit.message
        self.messageHeadline = commit.message.splitlines()[0] if commit.message else ""
        self.url = f"{WEB}/{repo.full_name}/commit/{commit.sha}"
        self.author = self.committer = self._actor(commit)

    def _actor(self, commit: Commit) -> dict[str, Any]:
        account = self.world.accounts.get(commit.login) if commit.login else None
        # GitActor.user is a User: a bot's commits (REST shows the bot as author) have no User here
        user = UserNode(self.world, account) if account and account.type == "User" else None
        return {"name": commit.name, "email": commit.email, "date": iso(commit.date), "user": user}

    def history(
        self,
        info: Info,
        author: dict[str, Any] | None = None,
        since: str | None = None,
        until: str | None = None,
        **page: Any,
    ) -> Connection:
        """Filters as REST's `?author=&since=&until=` does; `author.id` (a User's node id) wins over `emails`."""
        start, end = parse_time(since, "since"), parse_time(until, "until")
        keep = _author_filter(self.world, author or {})
        positions = [
            i
            for i in range(self.index, len(self.line))
            if keep(self.line[i]) and (start is None or self.line[i].date >= start) and (end is None or self.line[i].date <= end)
        ]
        return connection(positions, lambda i: CommitNode(self.world, self.repo, self.line, i), **page)


def _author_filter(world: World, author: dict[str, Any]) -> Callable[[Commit], bool]:
    if author.get("id"):
        account = account_by_node_id(world, str(author["id"]))
        login = account.login if account else None
        return lambda c: login is not None and c.login == login
    if author.get("emails"):
        emails = {str(e).lower() for e in author["emails"]}
        return lambda c: c.email.lower() in emails
    return lambda c: True


def account_by_node_id(world: World, ident: str) -> Account | None:
    """The account behind a legacy node id ("04:User123" in base64), None for anything else."""
    try:
        text = base64.b64decode(ident.encode(), validate=True).decode()
    except (ValueError, UnicodeError):
        return None
    _, _, rest = text.partition(":")
    for kind in ("User", "Organization", "Bot"):
        if rest.startswith(kind) and rest[len(kind) :].isdigit():
            account = world.by_id.get(int(rest[len(kind) :]))
            return account if account and account.type == kind else None
    return None
