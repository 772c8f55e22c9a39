"""The GraphQL documents the pipeline sends and their typed readings.

`fetch_people`: profile, orgs, own work in the activity window (commits, pull requests, reviews, each
with the repo's facts, so the caller can tell whether the work is in the audience's subject) and the
most recently pushed own repos, for up to `PEOPLE_PER_QUERY` people by aliases in one query.
`fetch_commits`: a person's recent default-branch commits in one repo (dates, links, author emails),
for many (person, repo) pairs in one query. Both documents validate against GitHub's published
schema (the sandbox executes them against it).

Logins and names travel as GraphQL variables, never spliced into the document: they are hostile text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from foundation.schemas.github import CommitInfo, PersonFacts, RepoActivity, RepoInfo, UserProfile
from tools.github_graphql import GraphQLClient, GraphQLTimeout, GraphQLUnavailable

PEOPLE_PER_QUERY = 50
MIN_PEOPLE_PER_QUERY = 10
COMMIT_PAIRS_PER_QUERY = 50
COMMITS_PER_PAIR = 10
ORGS_PER_PERSON = 20
OWNED_REPOS = 5
REPOS_PER_KIND = 25
# contributionsCollection spans at most one year: a longer window is asked as several.
MAX_SPAN = timedelta(days=365)

_RATE_LIMIT = "rateLimit { cost remaining resetAt limit used nodeCount }"
_REPO_FACTS = """fragment RepoFacts on Repository {
  nameWithOwner url isFork isArchived stargazerCount pushedAt description
  owner { login __typename }
  primaryLanguage { name }
  repositoryTopics(first: 20) { nodes { topic { name } } }
}"""
# The commit list is ordered by a `CommitContributionOrder` (which needs its field), the others by `ContributionOrder`.
_ORDER = {"commit": "{field: OCCURRED_AT, direction: DESC}", "pull_request": "{direction: DESC}", "review": "{direction: DESC}"}
_KINDS: dict[str, Literal["commit", "pull_request", "review"]] = {
    "commitContributionsByRepository": "commit",
    "pullRequestContributionsByRepository": "pull_request",
    "pullRequestReviewContributionsByRepository": "review",
}


def _person_fragment(windows: int) -> str:
    collections = "\n".join(
        f"  w{i}: contributionsCollection(from: $from{i}{f', to: $to{i}' if i else ''}) {{\n"
        + "\n".join(
            f"    {field}(maxRepositories: {REPOS_PER_KIND}) {{ repository {{ ...RepoFacts }} "
            f"contributions(first: 1, orderBy: {_ORDER[kind]}) {{ totalCount nodes {{ occurredAt }} }} }}"
            for field, kind in _KINDS.items()
        )
        + "\n  }"
        for i in range(windows)
    )
    return f"""fragment Person on User {{
  id databaseId login name company location email bio websiteUrl twitterUsername createdAt url
  followers {{ totalCount }}
  organizations(first: {ORGS_PER_PERSON}) {{ nodes {{ login }} }}
{collections}
  repositories(first: {OWNED_REPOS}, ownerAffiliations: OWNER, isFork: false, orderBy: {{field: PUSHED_AT, direction: DESC}}) {{
    totalCount nodes {{ ...RepoFacts }}
  }}
}}"""


def people_query(people: int, windows: int) -> str:
    """The enrichment document for `people` logins ($l0...) and `windows` one-year spans ($from0, then
    $from1, $to1...). The newest span has no `to`: GitHub reads it as "until now", and the document
    and its variables stay the same all day (the answer cache's key)."""
    spans = ", ".join(f"$from{i}: DateTime!" + (f", $to{i}: DateTime!" if i else "") for i in range(windows))
    logins = ", ".join(f"$l{i}: String!" for i in range(people))
    aliases = "\n".join(f"  u{i}: user(login: $l{i}) {{ ...Person }}" for i in range(people))
    return f"query People({spans}, {logins}) {{\n  {_RATE_LIMIT}\n{aliases}\n}}\n{_person_fragment(windows)}\n{_REPO_FACTS}\n"


def windows_of(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """[since, until] cut into spans of at most a year, newest first; `since` from midnight UTC."""
    since = since.replace(hour=0, minute=0, second=0, microsecond=0)
    spans: list[tuple[datetime, datetime]] = []
    end = until
    while end > since:
        start = max(since, end - MAX_SPAN)
        spans.append((start, end))
        end = start
    return spans or [(since, until)]


def fetch_people(client: GraphQLClient, logins: Sequence[str], since: datetime, until: datetime) -> dict[str, PersonFacts | None]:
    """Facts per login (None: no such user — an organization, a bot, a deleted account). A query
    that times out is asked again in halves, down to `MIN_PEOPLE_PER_QUERY` people."""
    found: dict[str, PersonFacts | None] = {}
    for chunk in _chunks(list(logins), PEOPLE_PER_QUERY):
        found.update(_people(client, chunk, windows_of(since, until)))
    return found


def _people(client: GraphQLClient, chunk: list[str], spans: list[tuple[datetime, datetime]]) -> dict[str, PersonFacts | None]:
    variables: dict[str, Any] = {f"l{i}": login for i, login in enumerate(chunk)}
    for i, (start, end) in enumerate(spans):
        variables[f"from{i}"] = start.isoformat()
        if i:
            variables[f"to{i}"] = end.isoformat()
    try:
        data, _, fetched_at = client.execute(people_query(len(chunk), len(spans)), variables)
    except GraphQLTimeout:
        if len(chunk) <= MIN_PEOPLE_PER_QUERY:
            raise
        half = len(chunk) // 2
        return {**_people(client, chunk[:half], spans), **_people(client, chunk[half:], spans)}
    return {
        login: _person(node, len(spans), fetched_at) if isinstance(node := data.get(f"u{i}"), dict) else None
        for i, login in enumerate(chunk)
    }


def _person(node: dict[str, Any], windows: int, fetched_at: datetime) -> PersonFacts:
    try:
        profile = UserProfile(
            login=node["login"],
            id=node["databaseId"],
            type="User",
            name=node.get("name"),
            company=node.get("company"),
            blog=node.get("websiteUrl") or None,
            location=node.get("location"),
            email=node.get("email") or None,
            bio=node.get("bio"),
            twitter_username=node.get("twitterUsername"),
            followers=(node.get("followers") or {}).get("totalCount", 0),
            public_repos=(node.get("repositories") or {}).get("totalCount", 0),
            created_at=node.get("createdAt"),
            html_url=node.get("url") or "",
            fetched_at=fetched_at,
        )
        latest: dict[tuple[str, str], RepoActivity] = {}
        for w in range(windows):
            collection = node.get(f"w{w}") or {}
            for field, kind in _KINDS.items():
                for entry in collection.get(field) or []:
                    contributions = entry["contributions"]
                    if not contributions["nodes"]:
                        continue
                    item = RepoActivity(
                        repo=_repo(entry["repository"]),
                        kind=kind,
                        last_at=contributions["nodes"][0]["occurredAt"],
                        count=contributions["totalCount"],
                    )
                    key = (item.repo.full_name, kind)
                    if key in latest:  # the same repo in an older window: newest date, counts add up
                        older = latest[key]
                        item = item.model_copy(
                            update={"last_at": max(item.last_at, older.last_at), "count": item.count + older.count}
                        )
                    latest[key] = item
        return PersonFacts(
            profile=profile,
            node_id=node["id"],
            orgs=[o["login"] for o in (node.get("organizations") or {}).get("nodes") or [] if o],
            activity=list(latest.values()),
            owned=[_repo(r) for r in (node.get("repositories") or {}).get("nodes") or [] if r],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise GraphQLUnavailable(f"GraphQL answered a user in an unexpected shape ({type(exc).__name__}: {exc})") from exc


def _repo(node: dict[str, Any]) -> RepoInfo:
    owner = node["owner"]
    return RepoInfo(
        full_name=node["nameWithOwner"],
        owner=owner["login"],
        owner_type="Organization" if owner.get("__typename") == "Organization" else "User",
        language=(node.get("primaryLanguage") or {}).get("name"),
        topics=[t["topic"]["name"] for t in (node.get("repositoryTopics") or {}).get("nodes") or [] if t],
        description=node.get("description"),
        stars=node.get("stargazerCount") or 0,
        fork=bool(node.get("isFork")),
        archived=bool(node.get("isArchived")),
        pushed_at=node.get("pushedAt"),
        html_url=node.get("url") or "",
    )


def commits_query(pairs: int) -> str:
    """Recent commits of one author in one repo's default branch, for `pairs` (repo, author) pairs."""
    params = ", ".join(f"$o{i}: String!, $n{i}: String!, $a{i}: ID!" for i in range(pairs))
    aliases = "\n".join(
        f"  c{i}: repository(owner: $o{i}, name: $n{i}) {{ defaultBranchRef {{ target {{ ... on Commit {{ "
        f"history(first: {COMMITS_PER_PAIR}, since: $since, author: {{id: $a{i}}}) {{ nodes {{ oid committedDate url "
        "author { email user { login } } } } } } } }"
        for i in range(pairs)
    )
    return f"query Commits($since: GitTimestamp!, {params}) {{\n  {_RATE_LIMIT}\n{aliases}\n}}\n"


def fetch_commits(
    client: GraphQLClient, pairs: Sequence[tuple[str, str, str]], since: datetime
) -> dict[tuple[str, str], list[CommitInfo]]:
    """Commits since `since` per (repo full name, login), for (repo, login, user node id) pairs."""
    found: dict[tuple[str, str], list[CommitInfo]] = {}
    day = since.replace(hour=0, minute=0, second=0, microsecond=0)  # the same query all day
    for chunk in _chunks(list(pairs), COMMIT_PAIRS_PER_QUERY):
        variables: dict[str, Any] = {"since": day.isoformat()}
        for i, (repo, _, node_id) in enumerate(chunk):
            owner, _, name = repo.partition("/")
            variables.update({f"o{i}": owner, f"n{i}": name, f"a{i}": node_id})
        data, _, _ = client.execute(commits_query(len(chunk)), variables)
        for i, (repo, login, _) in enumerate(chunk):
            try:
                history = ((((data.get(f"c{i}") or {}).get("defaultBranchRef") or {}).get("target") or {}).get("history")) or {}
                found[(repo, login)] = [
                    CommitInfo(
                        repo=repo,
                        sha=c["oid"],
                        date=c["committedDate"],
                        author_login=((c.get("author") or {}).get("user") or {}).get("login"),
                        author_email=(c.get("author") or {}).get("email"),
                        html_url=c.get("url") or "",
                    )
                    for c in history.get("nodes") or []
                ]
            except (KeyError, TypeError, ValueError) as exc:
                raise GraphQLUnavailable(f"GraphQL answered a commit history in an unexpected shape ({exc})") from exc
    return found


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
