"""A GitHub REST v3 look-alike over a `World`, on the stdlib's ThreadingHTTPServer.

Real PyGithub talks to it over real HTTP, so the pipeline's pagination, conditional requests,
rate-limit waits and retries run exactly as against api.github.com: Link headers, the 1,000-result
search cap, per-resource limits with GitHub's headers, 304s that cost nothing, 204 on empty repos,
and faults a test can schedule.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from cmo.sandbox.goals import BUILTIN_GOALS
from cmo.sandbox.search import SearchError, Searcher
from cmo.sandbox.truth import identity_groups, truth
from cmo.sandbox.world import Account, Commit, Event, Repo, World

DOCS = "https://docs.github.com/rest"
SEARCH_CAP = 1000
_LICENSES = {"mit": "MIT License", "apache-2.0": "Apache License 2.0", "gpl-3.0": "GNU General Public License v3.0",
             "bsd-3-clause": 'BSD 3-Clause "New" or "Revised" License', "mpl-2.0": "Mozilla Public License 2.0"}


@dataclass
class ServerStats:
    """Request counters; `counted` are the requests that consumed rate limit."""

    total: int = 0
    counted: int = 0
    not_modified: int = 0
    faults: int = 0
    by_path: Counter[str] = field(default_factory=Counter)


@dataclass
class _Bucket:
    """One rate-limit resource: `limit` requests per `window` seconds, refilled at `reset` (epoch)."""

    limit: int
    window: float
    remaining: int
    reset: float

    def roll(self, now: float) -> None:
        if now >= self.reset:
            self.remaining, self.reset = self.limit, now + self.window


@dataclass
class _Fault:
    """A scheduled answer for the next `times` requests under `prefix`."""

    prefix: str
    status: int
    times: int
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Reply:
    """What an endpoint answers; `body` is JSON-able, None for no body."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, message: str, **extra: Any) -> Reply:
    return Reply(status, {"message": message, "documentation_url": DOCS, "status": str(status), **extra})


def _not_found() -> Reply:
    return _error(404, "Not Found")


def _ts(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _node_id(kind: str, ident: int | str) -> str:
    """GitHub's legacy global node id: base64 of "0<len>:<Type><id>"."""
    return base64.b64encode(f"0{len(kind)}:{kind}{ident}".encode()).decode()


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Renderer:
    """GitHub's JSON shapes; URLs are built from the Host the client used."""

    def __init__(self, world: World, base: str) -> None:
        self.world, self.base = world, base

    def simple_user(self, a: Account) -> dict[str, Any]:
        url = f"{self.base}/users/{a.login}"
        html = f"{self.base}/apps/{a.login.removesuffix('[bot]')}" if a.type == "Bot" else f"{self.base}/{a.login}"
        return {
            "login": a.login, "id": a.id, "node_id": _node_id(a.type, a.id),
            "avatar_url": f"{self.base}/avatars/u/{a.id}?v=4", "gravatar_id": "", "url": url, "html_url": html,
            "followers_url": f"{url}/followers", "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}", "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions", "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos", "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events", "type": a.type, "user_view_type": "public",
            "site_admin": False,
        }

    def _updated(self, a: Account) -> datetime:
        return a.created_at + (self.world.now - a.created_at) * ((a.id % 89) / 89)

    def user(self, a: Account) -> dict[str, Any]:
        return self.simple_user(a) | {
            "name": a.name, "company": a.company, "blog": a.blog, "location": a.location, "email": a.email,
            "hireable": a.hireable, "bio": a.bio, "twitter_username": a.twitter_username,
            "public_repos": len(self.world.repos_by_owner.get(a.login, ())), "public_gists": 0,
            "followers": a.followers, "following": a.following, "created_at": _ts(a.created_at),
            "updated_at": _ts(self._updated(a)),
        }

    def simple_org(self, a: Account) -> dict[str, Any]:
        url = f"{self.base}/orgs/{a.login}"
        return {
            "login": a.login, "id": a.id, "node_id": _node_id("Organization", a.id), "url": url,
            "repos_url": f"{url}/repos", "events_url": f"{url}/events", "hooks_url": f"{url}/hooks",
            "issues_url": f"{url}/issues", "members_url": f"{url}/members{{/member}}",
            "public_members_url": f"{url}/public_members{{/member}}",
            "avatar_url": f"{self.base}/avatars/u/{a.id}?v=4", "description": a.bio,
        }

    def org(self, a: Account) -> dict[str, Any]:
        return self.simple_org(a) | {
            "name": a.name, "company": None, "blog": a.blog, "location": a.location, "email": a.email,
            "twitter_username": None, "is_verified": False, "has_organization_projects": True,
            "has_repository_projects": True, "public_repos": len(self.world.repos_by_owner.get(a.login, ())),
            "public_gists": 0, "followers": a.followers, "following": 0, "html_url": f"{self.base}/{a.login}",
            "created_at": _ts(a.created_at), "updated_at": _ts(self._updated(a)), "archived_at": None,
            "type": "Organization",
        }

    def repo(self, r: Repo, full: bool = False) -> dict[str, Any]:
        api, html = f"{self.base}/repos/{r.full_name}", f"{self.base}/{r.full_name}"
        owner = self.world.accounts[r.owner]
        size = sum(c.count for c in r.contributors) * 3 + r.id % 500
        license_ = r.license and {"key": r.license, "name": _LICENSES[r.license], "spdx_id": r.license.upper(),
                                  "url": f"{self.base}/licenses/{r.license}", "node_id": _node_id("License", r.license)}
        data: dict[str, Any] = {
            "id": r.id, "node_id": _node_id("Repository", r.id), "name": r.name, "full_name": r.full_name,
            "private": False, "owner": self.simple_user(owner), "html_url": html, "description": r.description,
            "fork": r.fork, "url": api, "forks_url": f"{api}/forks", "contributors_url": f"{api}/contributors",
            "commits_url": f"{api}/commits{{/sha}}", "languages_url": f"{api}/languages",
            "events_url": f"{api}/events", "issues_url": f"{api}/issues{{/number}}",
            "pulls_url": f"{api}/pulls{{/number}}", "stargazers_url": f"{api}/stargazers",
            "tags_url": f"{api}/tags", "git_url": f"{html.replace('http', 'git', 1)}.git",
            "ssh_url": f"git@{self.base.split('://')[1]}:{r.full_name}.git", "clone_url": f"{html}.git",
            "homepage": None, "size": size, "stargazers_count": r.stars, "watchers_count": r.stars,
            "language": r.language, "has_issues": True, "has_projects": True, "has_downloads": True,
            "has_wiki": True, "has_pages": False, "has_discussions": False, "forks_count": r.forks,
            "mirror_url": None, "archived": r.archived, "disabled": False, "open_issues_count": r.open_issues,
            "license": license_, "allow_forking": True, "is_template": False,
            "web_commit_signoff_required": False, "topics": r.topics, "visibility": "public",
            "forks": r.forks, "open_issues": r.open_issues, "watchers": r.stars,
            "default_branch": r.default_branch, "created_at": _ts(r.created_at),
            "updated_at": _ts(r.updated_at), "pushed_at": _ts(r.pushed_at),
        }
        if full:
            data |= {"network_count": r.forks, "subscribers_count": max(1, r.stars // 20)}
            if owner.type == "Organization":
                data["organization"] = self.simple_user(owner)
            if r.parent:
                data["parent"] = data["source"] = self.repo(self.world.repos[r.parent])
        return data

    def commit(self, r: Repo, c: Commit) -> dict[str, Any]:
        api, html = f"{self.base}/repos/{r.full_name}", f"{self.base}/{r.full_name}"
        account = self.world.accounts.get(c.login) if c.login else None
        person = {"name": c.name, "email": c.email, "date": _ts(c.date)}
        tree = hashlib.sha1(c.sha.encode()).hexdigest()
        parents = [{"sha": c.parent, "url": f"{api}/commits/{c.parent}", "html_url": f"{html}/commit/{c.parent}"}]
        return {
            "sha": c.sha, "node_id": _node_id("Commit", c.sha[:12]),
            "commit": {"author": person, "committer": person, "message": c.message,
                       "tree": {"sha": tree, "url": f"{api}/git/trees/{tree}"}, "url": f"{api}/git/commits/{c.sha}",
                       "comment_count": 0, "verification": {"verified": False, "reason": "unsigned",
                                                            "signature": None, "payload": None, "verified_at": None}},
            "url": f"{api}/commits/{c.sha}", "html_url": f"{html}/commit/{c.sha}",
            "comments_url": f"{api}/commits/{c.sha}/comments",
            "author": self.simple_user(account) if account else None,
            "committer": self.simple_user(account) if account else None,
            "parents": parents if c.parent else [],
        }

    def event(self, e: Event) -> dict[str, Any]:
        actor = self.world.accounts[e.actor]
        repo = self.world.repos[e.repo]
        owner = self.world.accounts[repo.owner]
        compact = {"id": actor.id, "login": actor.login, "display_login": actor.login, "gravatar_id": "",
                   "url": f"{self.base}/users/{actor.login}", "avatar_url": f"{self.base}/avatars/u/{actor.id}?"}
        data = {"id": e.id, "type": e.type, "actor": compact,
                "repo": {"id": repo.id, "name": repo.full_name, "url": f"{self.base}/repos/{repo.full_name}"},
                "payload": e.payload, "public": True, "created_at": _ts(e.created_at)}
        if owner.type == "Organization":
            data["org"] = {"id": owner.id, "login": owner.login, "gravatar_id": "",
                           "url": f"{self.base}/orgs/{owner.login}", "avatar_url": f"{self.base}/avatars/u/{owner.id}?"}
        return data


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sandbox: SandboxServer

    def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
        self.sandbox._serve(self)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: no request log
        return


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hanging up are not errors
            super().handle_error(request, client_address)


class SandboxServer:
    """The sandbox API on a background thread; `url` is the API root to give PyGithub as base_url."""

    def __init__(self, world: World, host: str = "127.0.0.1", port: int = 0, latency_ms: float = 0,
                 error_rate: float = 0.0, core_limit: int = 5000, search_limit: int = 30,
                 token: str | None = None) -> None:
        self.world, self.latency_ms, self.error_rate, self.token = world, latency_ms, error_rate, token
        self.searcher = Searcher(world)
        self._lock = threading.Lock()
        self._rng = random.Random(world.seed)
        self._faults: list[_Fault] = []
        self._stats = ServerStats()
        now = time.time()
        self._buckets = {"core": _Bucket(core_limit, 3600.0, core_limit, now + 3600.0),
                         "search": _Bucket(search_limit, 60.0, search_limit, now + 60.0)}
        self._httpd = _HTTPServer((host, port), type("Handler", (_Handler,), {"sandbox": self}))
        self._thread: threading.Thread | None = None
        self._routes: list[tuple[re.Pattern[str], Callable[..., Reply]]] = [
            (re.compile(p), h) for p, h in (
                (r"/search/(repositories|users)", self._search),
                (r"/repos/([^/]+)/([^/]+)", self._repo),
                (r"/repos/([^/]+)/([^/]+)/contributors", self._contributors),
                (r"/repos/([^/]+)/([^/]+)/commits", self._commits),
                (r"/repos/([^/]+)/([^/]+)/topics", self._topics),
                (r"/repos/([^/]+)/([^/]+)/languages", self._languages),
                (r"/users/([^/]+)", self._user),
                (r"/user/(\d+)", self._user_by_id),
                (r"/users/([^/]+)/orgs", self._user_orgs),
                (r"/users/([^/]+)/repos", self._user_repos),
                (r"/users/([^/]+)/events/public", self._events),
                (r"/orgs/([^/]+)", self._org),
            )]

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SandboxServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="cmo-sandbox", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- test controls ------------------------------------------------------------------------------
    @property
    def stats(self) -> ServerStats:
        """A snapshot of the counters."""
        with self._lock:
            return copy.deepcopy(self._stats)

    def reset_stats(self) -> None:
        with self._lock:
            self._stats = ServerStats()

    def set_rate_limit(self, resource: str, *, limit: int | None = None, remaining: int | None = None,
                       reset_in: float | None = None) -> None:
        """Change a running server's limit for "core" or "search" (e.g. remaining=3, reset_in=2.0)."""
        with self._lock:
            bucket = self._buckets[resource]
            bucket.roll(time.time())
            bucket.limit = bucket.limit if limit is None else limit
            bucket.remaining = min(bucket.limit, bucket.remaining) if remaining is None else remaining
            bucket.reset = bucket.reset if reset_in is None else time.time() + reset_in

    def inject_fault(self, path_prefix: str, status: int, times: int = 1, headers: dict[str, str] | None = None,
                     body: dict[str, Any] | None = None) -> None:
        """Answer the next `times` requests whose path starts with `path_prefix` with `status`."""
        body = body if body is not None else {"message": HTTPStatus(status).phrase, "documentation_url": DOCS}
        with self._lock:
            self._faults.append(_Fault(path_prefix, status, times, dict(headers or {}), body))

    # ---- request handling ---------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        path = unquote(parts.path).rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        base = f"http://{handler.headers.get('Host') or self.url.split('://')[1]}"
        with self._lock:
            self._stats.total += 1
            self._stats.by_path[path] += 1
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        resource = "search" if path.startswith("/search/") else "core"
        reply = self._unauthorized(handler) or self._fault(path)
        if reply is None:
            reply = self._answer(path, query, base, parts.path, resource, handler.headers.get("If-None-Match"))
        with self._lock:  # every response carries the rate-limit headers, as on GitHub
            reply.headers = self._rate_headers(resource) | reply.headers
        self._send(handler, reply)

    def _unauthorized(self, handler: BaseHTTPRequestHandler) -> Reply | None:
        header = handler.headers.get("Authorization")
        if header is None or self.token is None:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("token", "bearer") and value.strip() == self.token:
            return None
        return _error(401, "Bad credentials")

    def _fault(self, path: str) -> Reply | None:
        with self._lock:
            fault = next((f for f in self._faults if path.startswith(f.prefix)), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
            elif not path.startswith("/_sandbox") and self.error_rate and self._rng.random() < self.error_rate:
                fault = _Fault(path, 502, 1, {}, {"message": "Server Error"})
            if fault is None:
                return None
            self._stats.faults += 1
            return Reply(fault.status, fault.body, dict(fault.headers))

    def _answer(self, path: str, query: dict[str, str], base: str, raw_path: str, resource: str,
                if_none_match: str | None) -> Reply:
        if path == "/rate_limit":
            return self._rate_limit()
        if path.startswith("/_sandbox/truth/"):
            return self._truth(path.removeprefix("/_sandbox/truth/"))
        with self._lock:  # reserve one request now; a 304 gives it back
            bucket = self._buckets[resource]
            bucket.roll(time.time())
            if bucket.remaining <= 0:
                message = "API rate limit exceeded for 127.0.0.1. (Wait for the reset before retrying.)"
                return Reply(403, {"message": message, "documentation_url": DOCS})
            bucket.remaining -= 1
        reply = self._route(path, query, _Renderer(self.world, base), base + raw_path)
        tag = None
        if reply.status == 200:  # hashed without the host, so a restarted sandbox keeps its ETags
            host = base.split("://", 1)[1].encode()
            digest = hashlib.sha256(self._encode(reply.body).replace(host, b"")).hexdigest()
            tag = reply.headers["ETag"] = f'W/"{digest[:40]}"'
        with self._lock:
            if tag is not None and if_none_match and tag.removeprefix("W/") in (
                    t.strip().removeprefix("W/") for t in if_none_match.split(",")):
                bucket.remaining += 1
                self._stats.not_modified += 1
                reply = Reply(304, None, {"ETag": tag})
            else:
                self._stats.counted += 1
        return reply

    def _rate_headers(self, resource: str) -> dict[str, str]:
        bucket = self._buckets[resource]
        return {"X-RateLimit-Limit": str(bucket.limit), "X-RateLimit-Remaining": str(max(bucket.remaining, 0)),
                "X-RateLimit-Used": str(bucket.limit - max(bucket.remaining, 0)),
                "X-RateLimit-Reset": str(math.ceil(bucket.reset)), "X-RateLimit-Resource": resource}

    @staticmethod
    def _encode(body: Any) -> bytes:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    def _send(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        payload = b"" if reply.body is None or reply.status in (204, 304) else self._encode(reply.body)
        handler.send_response(reply.status)
        headers = {"X-GitHub-Media-Type": "github.v3; format=json", "X-GitHub-Api-Version-Selected": "2022-11-28",
                   "Cache-Control": "private, max-age=60, s-maxage=60", "Vary": "Accept, Authorization"} | reply.headers
        if reply.status not in (204, 304):
            headers |= {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(payload))}
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if payload:
            handler.wfile.write(payload)

    def _route(self, path: str, query: dict[str, str], render: _Renderer, url: str) -> Reply:
        for pattern, endpoint in self._routes:
            match = pattern.fullmatch(path)
            if match:
                return endpoint(render, query, url, *match.groups())
        return _not_found()

    # ---- pagination -----------------------------------------------------------------------------------
    @staticmethod
    def _paging(query: dict[str, str]) -> tuple[int, int]:
        """(per_page, page) as GitHub reads them: default 30, at most 100; junk means the default."""
        numbers = []
        for key, default in (("per_page", 30), ("page", 1)):
            try:
                numbers.append(int(query.get(key, default)))
            except ValueError:
                numbers.append(default)
        return min(max(numbers[0], 1), 100), max(numbers[1], 1)

    def _page(self, items: list[Any] | tuple[Any, ...], query: dict[str, str], url: str,
              cap: int | None = None) -> tuple[list[Any], dict[str, str]]:
        """One page plus GitHub's Link header (next/last/prev/first, absolute URLs)."""
        per_page, page = self._paging(query)
        reachable = len(items) if cap is None else min(len(items), cap)
        last = max(1, math.ceil(reachable / per_page))
        window = list(items[(page - 1) * per_page: min(page * per_page, reachable)])
        rels = ([("next", page + 1), ("last", last)] if page < last else []) + \
               ([("prev", min(page - 1, last)), ("first", 1)] if page > 1 else [])
        links = ", ".join(f'<{url}?{urlencode({**query, "page": n})}>; rel="{rel}"' for rel, n in rels)
        return window, {"Link": links} if links else {}

    # ---- endpoints ------------------------------------------------------------------------------------
    def _rate_limit(self) -> Reply:
        with self._lock:
            now = time.time()
            resources = {}
            for name, bucket in self._buckets.items():
                bucket.roll(now)
                resources[name] = {"limit": bucket.limit, "remaining": bucket.remaining, "resource": name,
                                   "used": bucket.limit - bucket.remaining, "reset": math.ceil(bucket.reset)}
        resources["graphql"] = {"limit": 5000, "remaining": 5000, "reset": math.ceil(now + 3600), "used": 0,
                                "resource": "graphql"}
        return Reply(200, {"resources": resources, "rate": resources["core"]})

    def _truth(self, name: str) -> Reply:
        goal = BUILTIN_GOALS.get(name)
        if goal is None:
            return _error(404, f"Unknown goal {name!r}; known: {', '.join(BUILTIN_GOALS)}")
        logins = truth(self.world, goal.audience, datetime.now(UTC))
        return Reply(200, {"goal": goal.goal, "name": goal.name, "audience": goal.audience.model_dump(),
                           "logins": sorted(logins), "groups": [sorted(g) for g in identity_groups(self.world)]})

    def _search(self, render: _Renderer, query: dict[str, str], url: str, kind: str) -> Reply:
        q = query.get("q")
        if not q:
            return _error(422, "Validation Failed", errors=[{"resource": "Search", "field": "q", "code": "missing"}])
        try:
            found = self.searcher.search(kind, q, query.get("sort", ""), query.get("order", "desc"))
        except SearchError as exc:
            return _error(422, "Validation Failed",
                          errors=[{"message": str(exc), "resource": "Search", "field": "q", "code": "invalid"}])
        per_page, page = self._paging(query)
        if (page - 1) * per_page >= SEARCH_CAP:
            return _error(422, "Only the first 1000 search results are available")
        window, headers = self._page(found, query, url, cap=SEARCH_CAP)
        draw = render.repo if kind == "repositories" else render.simple_user
        items = [draw(item) | {"score": 1.0} for item in window]
        return Reply(200, {"total_count": len(found), "incomplete_results": False, "items": items}, headers)

    def _find_repo(self, owner: str, name: str) -> Repo | None:
        return self.world.repo(f"{owner}/{name}")

    def _repo(self, render: _Renderer, query: dict[str, str], url: str, owner: str, name: str) -> Reply:
        repo = self._find_repo(owner, name)
        return Reply(200, render.repo(repo, full=True)) if repo else _not_found()

    def _contributors(self, render: _Renderer, query: dict[str, str], url: str, owner: str, name: str) -> Reply:
        repo = self._find_repo(owner, name)
        if repo is None:
            return _not_found()
        if not repo.contributors:
            return Reply(204)
        anon = query.get("anon", "").lower() in ("1", "true")
        rows = []
        for c in repo.contributors:
            if c.login:
                rows.append(render.simple_user(self.world.accounts[c.login]) | {"contributions": c.count})
            elif anon:
                rows.append({"email": c.email, "name": c.name, "type": "Anonymous", "contributions": c.count})
        window, headers = self._page(rows, query, url)
        return Reply(200, window, headers)

    def _commits(self, render: _Renderer, query: dict[str, str], url: str, owner: str, name: str) -> Reply:
        repo = self._find_repo(owner, name)
        if repo is None:
            return _not_found()
        if not repo.contributors:
            return _error(409, "Git Repository is empty.")
        try:
            since, until = _since(query.get("since")), _since(query.get("until"))
        except ValueError:
            return _error(422, "Invalid time: since/until must be ISO 8601")
        author = query.get("author", "").lower()
        rows = [c for c in self.world.commits(repo)
                if (not author or author in ((c.login or "").lower(), c.email.lower()))
                and (since is None or c.date >= since) and (until is None or c.date <= until)]
        window, headers = self._page(rows, query, url)
        return Reply(200, [render.commit(repo, c) for c in window], headers)

    def _topics(self, render: _Renderer, query: dict[str, str], url: str, owner: str, name: str) -> Reply:
        repo = self._find_repo(owner, name)
        return Reply(200, {"names": repo.topics}) if repo else _not_found()

    def _languages(self, render: _Renderer, query: dict[str, str], url: str, owner: str, name: str) -> Reply:
        repo = self._find_repo(owner, name)
        if repo is None:
            return _not_found()
        if not repo.language or not repo.contributors:
            return Reply(200, {})
        rng = random.Random(repo.id)
        extras = rng.sample(("Shell", "Dockerfile", "Makefile", "HTML", "CSS"), rng.randint(0, 2))
        sizes = {repo.language: rng.randint(20_000, 2_000_000)} | {x: rng.randint(100, 15_000) for x in extras}
        return Reply(200, sizes)

    def _user(self, render: _Renderer, query: dict[str, str], url: str, login: str) -> Reply:
        account = self.world.account(login)
        if account is None:
            return _not_found()
        return Reply(200, render.org(account) if account.type == "Organization" else render.user(account))

    def _user_by_id(self, render: _Renderer, query: dict[str, str], url: str, ident: str) -> Reply:
        account = self.world.by_id.get(int(ident))
        return self._user(render, query, url, account.login) if account else _not_found()

    def _user_orgs(self, render: _Renderer, query: dict[str, str], url: str, login: str) -> Reply:
        account = self.world.account(login)
        if account is None:
            return _not_found()
        window, headers = self._page([self.world.accounts[o] for o in account.orgs], query, url)
        return Reply(200, [render.simple_org(o) for o in window], headers)

    def _user_repos(self, render: _Renderer, query: dict[str, str], url: str, login: str) -> Reply:
        account = self.world.account(login)
        if account is None:
            return _not_found()
        repos = [] if query.get("type") == "member" else list(self.world.repos_by_owner.get(account.login, ()))
        sort = query.get("sort", "full_name")
        keys: dict[str, Callable[[Repo], Any]] = {"created": lambda r: r.created_at, "updated": lambda r: r.updated_at,
                                                  "pushed": lambda r: r.pushed_at}
        direction = query.get("direction", "asc" if sort not in keys else "desc")
        repos.sort(key=keys.get(sort, lambda r: r.full_name.lower()), reverse=direction == "desc")
        window, headers = self._page(repos, query, url)
        return Reply(200, [render.repo(r) for r in window], headers)

    def _events(self, render: _Renderer, query: dict[str, str], url: str, login: str) -> Reply:
        account = self.world.account(login)
        if account is None:
            return _not_found()
        window, headers = self._page(self.world.events(account.login), query, url)
        return Reply(200, [render.event(e) for e in window], headers | {"X-Poll-Interval": "60"})

    def _org(self, render: _Renderer, query: dict[str, str], url: str, login: str) -> Reply:
        account = self.world.account(login)
        if account is None or account.type != "Organization":
            return _not_found()
        return Reply(200, render.org(account))
