"""GitHub's JSON shapes for the sandbox's objects, and the paging GitHub applies to lists of them.

Pure functions of a `World` and the request, apart from the HTTP plumbing in `server.py`: what a
user, org, repo, commit or event looks like on api.github.com, and the Link header that walks a list.
"""

from __future__ import annotations

import base64
import hashlib
import math
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sandbox.world import Account, Commit, Event, Repo, World

LICENSE_NAMES = {
    "mit": "MIT License",
    "apache-2.0": "Apache License 2.0",
    "gpl-3.0": "GNU General Public License v3.0",
    "bsd-3-clause": 'BSD 3-Clause "New" or "Revised" License',
    "mpl-2.0": "Mozilla Public License 2.0",
}


def timestamp(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def node_id(kind: str, ident: int | str) -> str:
    """GitHub's legacy global node id: base64 of "0<len>:<Type><id>"."""
    return base64.b64encode(f"0{len(kind)}:{kind}{ident}".encode()).decode()


def profile_updated(world: World, a: Account) -> datetime:
    """When a profile last changed: a fixed point between its creation and the world's now."""
    return a.created_at + (world.now - a.created_at) * ((a.id % 89) / 89)


def paging(query: dict[str, str]) -> tuple[int, int]:
    """(per_page, page) as GitHub reads them: default 30, at most 100; junk means the default."""
    numbers = []
    for key, default in (("per_page", 30), ("page", 1)):
        try:
            numbers.append(int(query.get(key, default)))
        except ValueError:
            numbers.append(default)
    return min(max(numbers[0], 1), 100), max(numbers[1], 1)


def paginate(
    items: list[Any] | tuple[Any, ...], query: dict[str, str], url: str, cap: int | None = None
) -> tuple[list[Any], dict[str, str]]:
    """One page plus GitHub's Link header (next/last/prev/first, absolute URLs); `cap` hides the rest."""
    per_page, page = paging(query)
    reachable = len(items) if cap is None else min(len(items), cap)
    last = max(1, math.ceil(reachable / per_page))
    window = list(items[(page - 1) * per_page : min(page * per_page, reachable)])
    rels = ([("next", page + 1), ("last", last)] if page < last else []) + (
        [("prev", min(page - 1, last)), ("first", 1)] if page > 1 else []
    )
    links = ", ".join(f'<{url}?{urlencode({**query, "page": n})}>; rel="{rel}"' for rel, n in rels)
    return window, {"Link": links} if links else {}


# Web links point at a reserved, never-resolving host: the sandbox's people are generated, and a
# github.com link could name a real account.
WEB_HOST = "github.sandbox.invalid"
WEB = f"https://{WEB_HOST}"


class Renderer:
    """GitHub's JSON shapes; URLs are built from the Host the client used."""

    def __init__(self, world: World, base: str) -> None:
        self.world, self.base = world, base

    def simple_user(self, a: Account) -> dict[str, Any]:
        url = f"{self.base}/users/{a.login}"
        html = f"{WEB}/apps/{a.login.removesuffix('[bot]')}" if a.type == "Bot" else f"{WEB}/{a.login}"
        return {
            "login": a.login,
            "id": a.id,
            "node_id": node_id(a.type, a.id),
            "avatar_url": f"{self.base}/avatars/u/{a.id}?v=4",
            "gravatar_id": "",
            "url": url,
            "html_url": html,
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": a.type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def user(self, a: Account) -> dict[str, Any]:
        return self.simple_user(a) | {
            "name": a.name,
            "company": a.company,
            "blog": a.blog,
            "location": a.location,
            "email": a.email,
            "hireable": a.hireable,
            "bio": a.bio,
            "twitter_username": a.twitter_username,
            "public_repos": len(self.world.repos_by_owner.get(a.login, ())),
            "public_gists": 0,
            "followers": a.followers,
            "following": a.following,
            "created_at": timestamp(a.created_at),
            "updated_at": timestamp(profile_updated(self.world, a)),
        }

    def simple_org(self, a: Account) -> dict[str, Any]:
        url = f"{self.base}/orgs/{a.login}"
        return {
            "login": a.login,
            "id": a.id,
            "node_id": node_id("Organization", a.id),
            "url": url,
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events",
            "hooks_url": f"{url}/hooks",
            "issues_url": f"{url}/issues",
            "members_url": f"{url}/members{{/member}}",
            "public_members_url": f"{url}/public_members{{/member}}",
            "avatar_url": f"{self.base}/avatars/u/{a.id}?v=4",
            "description": a.bio,
        }

    def org(self, a: Account) -> dict[str, Any]:
        return self.simple_org(a) | {
            "name": a.name,
            "company": None,
            "blog": a.blog,
            "location": a.location,
            "email": a.email,
            "twitter_username": None,
            "is_verified": False,
            "has_organization_projects": True,
            "has_repository_projects": True,
            "public_repos": len(self.world.repos_by_owner.get(a.login, ())),
            "public_gists": 0,
            "followers": a.followers,
            "following": 0,
            "html_url": f"{WEB}/{a.login}",
            "created_at": timestamp(a.created_at),
            "updated_at": timestamp(profile_updated(self.world, a)),
            "archived_at": None,
            "type": "Organization",
        }

    def repo(self, r: Repo, full: bool = False) -> dict[str, Any]:
        api, html = f"{self.base}/repos/{r.full_name}", f"{WEB}/{r.full_name}"
        owner = self.world.accounts[r.owner]
        size = sum(c.count for c in r.contributors) * 3 + r.id % 500
        license_ = r.license and {
            "key": r.license,
            "name": LICENSE_NAMES[r.license],
            "spdx_id": r.license.upper(),
            "url": f"{self.base}/licenses/{r.license}",
            "node_id": node_id("License", r.license),
        }
        data: dict[str, Any] = {
            "id": r.id,
            "node_id": node_id("Repository", r.id),
            "name": r.name,
            "full_name": r.full_name,
            "private": False,
            "owner": self.simple_user(owner),
            "html_url": html,
            "description": r.description,
            "fork": r.fork,
            "url": api,
            "forks_url": f"{api}/forks",
            "contributors_url": f"{api}/contributors",
            "commits_url": f"{api}/commits{{/sha}}",
            "languages_url": f"{api}/languages",
            "events_url": f"{api}/events",
            "issues_url": f"{api}/issues{{/number}}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "stargazers_url": f"{api}/stargazers",
            "tags_url": f"{api}/tags",
            "git_url": f"git://{WEB_HOST}/{r.full_name}.git",
            "ssh_url": f"git@{WEB_HOST}:{r.full_name}.git",
            "clone_url": f"{html}.git",
            "homepage": None,
            "size": size,
            "stargazers_count": r.stars,
            "watchers_count": r.stars,
            "language": r.language,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": r.forks,
            "mirror_url": None,
            "archived": r.archived,
            "disabled": False,
            "open_issues_count": r.open_issues,
            "license": license_,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": r.topics,
            "visibility": "public",
            "forks": r.forks,
            "open_issues": r.open_issues,
            "watchers": r.stars,
            "default_branch": r.default_branch,
            "created_at": timestamp(r.created_at),
            "updated_at": timestamp(r.updated_at),
            "pushed_at": timestamp(r.pushed_at),
        }
        if full:
            data |= {"network_count": r.forks, "subscribers_count": max(1, r.stars // 20)}
            if owner.type == "Organization":
                data["organization"] = self.simple_user(owner)
            if r.parent:
                data["parent"] = data["source"] = self.repo(self.world.repos[r.parent])
        return data

    def commit(self, r: Repo, c: Commit) -> dict[str, Any]:
        api, html = f"{self.base}/repos/{r.full_name}", f"{WEB}/{r.full_name}"
        account = self.world.accounts.get(c.login) if c.login else None
        person = {"name": c.name, "email": c.email, "date": timestamp(c.date)}
        tree = hashlib.sha1(c.sha.encode()).hexdigest()
        parents = [{"sha": c.parent, "url": f"{api}/commits/{c.parent}", "html_url": f"{html}/commit/{c.parent}"}]
        return {
            "sha": c.sha,
            "node_id": node_id("Commit", c.sha[:12]),
            "commit": {
                "author": person,
                "committer": person,
                "message": c.message,
                "tree": {"sha": tree, "url": f"{api}/git/trees/{tree}"},
                "url": f"{api}/git/commits/{c.sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "url": f"{api}/commits/{c.sha}",
            "html_url": f"{html}/commit/{c.sha}",
            "comments_url": f"{api}/commits/{c.sha}/comments",
            "author": self.simple_user(account) if account else None,
            "committer": self.simple_user(account) if account else None,
            "parents": parents if c.parent else [],
        }

    def event(self, e: Event) -> dict[str, Any]:
        actor = self.world.accounts[e.actor]
        repo = self.world.repos[e.repo]
        owner = self.world.accounts[repo.owner]
        compact = {
            "id": actor.id,
            "login": actor.login,
            "display_login": actor.login,
            "gravatar_id": "",
            "url": f"{self.base}/users/{actor.login}",
            "avatar_url": f"{self.base}/avatars/u/{actor.id}?",
        }
        data = {
            "id": e.id,
            "type": e.type,
            "actor": compact,
            "repo": {"id": repo.id, "name": repo.full_name, "url": f"{self.base}/repos/{repo.full_name}"},
            "payload": e.payload,
            "public": True,
            "created_at": timestamp(e.created_at),
        }
        if owner.type == "Organization":
            data["org"] = {
                "id": owner.id,
                "login": owner.login,
                "gravatar_id": "",
                "url": f"{self.base}/orgs/{owner.login}",
                "avatar_url": f"{self.base}/avatars/u/{owner.id}?",
            }
        return data
