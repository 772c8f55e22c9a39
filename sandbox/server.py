"""A GitHub REST v3 look-alike over a `World`, on the stdlib's ThreadingHTTPServer.

Real PyGithub talks to it over real HTTP, so the pipeline's pagination, conditional requests,
rate-limit waits and retries run exactly as against api.github.com: Link headers, the 1,000-result
search cap, per-resource limits with GitHub's headers, 304s that cost nothing, 204 on empty repos,
faults a test can schedule, and optionally a GitHub App's `/app` endpoints. GraphQL is served at
`POST /graphql` (and `/api/graphql`, GitHub Enterprise Server's path) over the same world, priced
in points from its own bucket, with GraphQL's stricter rule that anonymous requests are refused.
This module is the plumbing and the routes; payload shapes and paging live in `render.py`,
rate-limit buckets and faults in `limits.py`, the App (its JWTs and installation tokens) in
`apps.py`, GraphQL in `graphql_api.py`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sandbox.apps import AppError, SandboxApp
from sandbox.generator import generate_world
from sandbox.goals import BUILTIN_GOALS
from sandbox.graphql_api import RateState
from sandbox.graphql_api import answer as graphql_answer
from sandbox.limits import Bucket, Fault, rate_limit_body, take_fault
from sandbox.readme import readme_body
from sandbox.render import WEB, Renderer, paginate, paging
from sandbox.search import Searcher, SearchError
from sandbox.truth import identity_groups, truth
from sandbox.world import Repo, World

DOCS = "https://docs.github.com/rest"
SEARCH_CAP = 1000
GRAPHQL_PATHS = ("/graphql", "/api/graphql")
GRAPHQL_AUTH_DOCS = "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"


@dataclass
class ServerStats:
    """Request counters; `counted` are the REST requests that consumed rate limit, `graphql_queries`
    the GraphQL requests that spent `graphql_points`. `by_path` keys GraphQL as "POST /graphql"."""

    total: int = 0
    counted: int = 0
    not_modified: int = 0
    faults: int = 0
    graphql_queries: int = 0
    graphql_points: int = 0
    by_path: Counter[str] = field(default_factory=Counter)


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


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sandbox: SandboxServer

    def do_GET(self) -> None:
        self.sandbox._serve(self)

    def do_POST(self) -> None:  # GraphQL, and the GitHub App's token endpoint (sandbox/apps.py)
        self.sandbox._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hanging up are not errors
            super().handle_error(request, client_address)


class SandboxServer:
    """The sandbox API on a background thread; `url` is the API root to give PyGithub as base_url."""

    def __init__(
        self,
        world: World,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
        error_rate: float = 0.0,
        core_limit: int = 5000,
        search_limit: int = 30,
        token: str | None = None,
        app: SandboxApp | None = None,
        graphql_limit: int = 5000,
        graphql: bool = True,
    ) -> None:
        """`token`: the only token accepted (None: any, or none; GraphQL always wants one). `app`: a
        GitHub App whose `/app` endpoints this server answers; then every other request needs one of
        its live tokens. `graphql_limit`: points per hour. `graphql=False`: no GraphQL endpoint (404),
        like a server that has none."""
        self.world, self.latency_ms, self.error_rate, self.token, self.app = world, latency_ms, error_rate, token, app
        self.graphql = graphql
        self.searcher = Searcher(world)
        self._lock = threading.Lock()
        self._rng = random.Random(world.seed)
        self._faults: list[Fault] = []
        self._stats = ServerStats()
        now = time.time()
        self._buckets = {
            "core": Bucket(core_limit, 3600.0, core_limit, now + 3600.0),
            "search": Bucket(search_limit, 60.0, search_limit, now + 60.0),
            "graphql": Bucket(graphql_limit, 3600.0, graphql_limit, now + 3600.0),
        }
        self._httpd = _HTTPServer((host, port), type("Handler", (_Handler,), {"sandbox": self}))
        self._thread: threading.Thread | None = None
        self._routes: list[tuple[re.Pattern[str], Callable[..., Reply]]] = [
            (re.compile(p), h)
            for p, h in (
                (r"/search/(repositories|users)", self._search),
                (r"/repos/([^/]+)/([^/]+)", self._repo),
                (r"/repos/([^/]+)/([^/]+)/contributors", self._contributors),
                (r"/repos/([^/]+)/([^/]+)/commits", self._commits),
                (r"/repos/([^/]+)/([^/]+)/topics", self._topics),
                (r"/repos/([^/]+)/([^/]+)/languages", self._languages),
                (r"/repos/([^/]+)/([^/]+)/readme", self._readme),
                (r"/users/([^/]+)", self._user),
                (r"/user/(\d+)", self._user_by_id),
                (r"/users/([^/]+)/orgs", self._user_orgs),
                (r"/users/([^/]+)/repos", self._user_repos),
                (r"/users/([^/]+)/events/public", self._events),
                (r"/orgs/([^/]+)", self._org),
            )
        ]

    @property
    def url(self) -> str:
        host, port = self._httpd.socket.getsockname()[:2]  # what server_address holds, typed as str not bytes
        return f"http://{host}:{port}"

    def start(self) -> SandboxServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="cmo-sandbox", daemon=True
            )
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

    def set_rate_limit(
        self, resource: str, *, limit: int | None = None, remaining: int | None = None, reset_in: float | None = None
    ) -> None:
        """Change a running server's limit for "core", "search" or "graphql" (e.g. remaining=3, reset_in=2.0)."""
        with self._lock:
            bucket = self._buckets[resource]
            bucket.roll(time.time())
            bucket.limit = bucket.limit if limit is None else limit
            bucket.remaining = min(bucket.limit, bucket.remaining) if remaining is None else remaining
            bucket.reset = bucket.reset if reset_in is None else time.time() + reset_in

    def inject_fault(
        self,
        path_prefix: str,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next `times` requests whose path starts with `path_prefix` with `status`."""
        body = body if body is not None else {"message": HTTPStatus(status).phrase, "documentation_url": DOCS}
        with self._lock:
            self._faults.append(Fault(path_prefix, status, times, dict(headers or {}), body))

    # ---- request handling ---------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        path = unquote(parts.path).rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        base = f"http://{handler.headers.get('Host') or self.url.split('://')[1]}"
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))  # read even when unused
        graphql = handler.command == "POST" and path in GRAPHQL_PATHS
        with self._lock:
            self._stats.total += 1
            self._stats.by_path[f"POST {path}" if graphql else path] += 1
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        if graphql:
            self._send(handler, self._graphql(handler, path, body))
            return
        if path == "/app" or path.startswith("/app/"):  # the App's own endpoints: a JWT, no REST rate limit
            self._send(handler, self._fault(path) or self._app_answer(handler, path, base))
            return
        if handler.command != "GET":
            self._send(handler, _not_found())
            return
        resource = "search" if path.startswith("/search/") else "core"
        reply = self._unauthorized(handler) or self._fault(path)
        if reply is None:
            reply = self._answer(path, query, base, parts.path, resource, handler.headers.get("If-None-Match"))
        with self._lock:  # every response carries the rate-limit headers, as on GitHub
            reply.headers = self._buckets[resource].headers(resource) | reply.headers
        self._send(handler, reply)

    def _app_answer(self, handler: BaseHTTPRequestHandler, path: str, base: str) -> Reply:
        app = self.app
        if app is None:
            return _not_found()
        try:
            app.verify_jwt(handler.headers.get("Authorization"))
            route = (handler.command, *path.strip("/").split("/"))
            match route:
                case ("GET", "app"):
                    return Reply(200, app.app())
                case ("GET", "app", "installations"):
                    return Reply(200, app.list_installations(base))
                case ("POST", "app", "installations", ident, "access_tokens") if ident.isdigit():
                    return Reply(201, app.create_token(int(ident)))
            return _not_found()
        except AppError as exc:
            return _error(exc.status, exc.message)

    def _graphql(self, handler: BaseHTTPRequestHandler, path: str, body: bytes) -> Reply:
        if not self.graphql:
            return _not_found()
        if handler.headers.get("Authorization") is None:  # unlike REST, GraphQL has no anonymous access
            reply: Reply | None = Reply(
                401, {"message": "This endpoint requires you to be authenticated.", "documentation_url": GRAPHQL_AUTH_DOCS}
            )
        else:
            reply = self._unauthorized(handler) or self._fault(path)
        if reply is None:
            outcome = graphql_answer(self.world, body, self._charge_graphql)
            reply = Reply(outcome.status, outcome.body)
        with self._lock:
            reply.headers = self._buckets["graphql"].headers("graphql") | reply.headers
        return reply

    def _charge_graphql(self, points: int) -> RateState | None:
        """Spend a query's points from the graphql bucket; None (nothing spent) when it cannot pay."""
        with self._lock:
            bucket = self._buckets["graphql"]
            if not bucket.take(time.time(), points):
                return None
            self._stats.graphql_queries += 1
            self._stats.graphql_points += points
            return RateState(bucket.limit, bucket.remaining, bucket.reset)

    def _unauthorized(self, handler: BaseHTTPRequestHandler) -> Reply | None:
        header = handler.headers.get("Authorization")
        if self.app is not None:  # stricter than GitHub (anonymous reads): every request shows its token
            return None if self.app.accepts(header) else _error(401, "Bad credentials")
        if header is None or self.token is None:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("token", "bearer") and value.strip() == self.token:
            return None
        return _error(401, "Bad credentials")

    def _fault(self, path: str) -> Reply | None:
        with self._lock:
            fault = take_fault(self._faults, path)
            flaky = fault is None and not path.startswith("/_sandbox") and self.error_rate
            if flaky and self._rng.random() < self.error_rate:
                fault = Fault(path, 502, 1, {}, {"message": "Server Error"})
            if fault is None:
                return None
            self._stats.faults += 1
            return Reply(fault.status, fault.body, dict(fault.headers))

    def _answer(
        self, path: str, query: dict[str, str], base: str, raw_path: str, resource: str, if_none_match: str | None
    ) -> Reply:
        if path == "/rate_limit":
            return self._rate_limit()
        if path.startswith("/_sandbox/truth/"):
            return self._truth(path.removeprefix("/_sandbox/truth/"))
        with self._lock:  # reserve one request now; a 304 gives it back
            bucket = self._buckets[resource]
            if not bucket.take(time.time()):
                message = "API rate limit exceeded for 127.0.0.1. (Wait for the reset before retrying.)"
                return Reply(403, {"message": message, "documentation_url": DOCS})
        reply = self._route(path, query, Renderer(self.world, base), base + raw_path)
        tag = None
        if reply.status == 200:  # hashed without the host, so a restarted sandbox keeps its ETags
            host = base.split("://", 1)[1].encode()
            digest = hashlib.sha256(self._encode(reply.body).replace(host, b"")).hexdigest()
            tag = reply.headers["ETag"] = f'W/"{digest[:40]}"'
        with self._lock:
            if (
                tag is not None
                and if_none_match
                and tag.removeprefix("W/") in (t.strip().removeprefix("W/") for t in if_none_match.split(","))
            ):
                bucket.remaining += 1
                self._stats.not_modified += 1
                reply = Reply(304, None, {"ETag": tag})
            else:
                self._stats.counted += 1
        return reply

    @staticmethod
    def _encode(body: Any) -> bytes:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    def _send(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        payload = b"" if reply.body is None or reply.status in (204, 304) else self._encode(reply.body)
        handler.send_response(reply.status)
        headers = {
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "Cache-Control": "private, max-age=60, s-maxage=60",
            "Vary": "Accept, Authorization",
        } | reply.headers
        if reply.status not in (204, 304):
            headers |= {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(payload))}
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if payload:
            handler.wfile.write(payload)

    def _route(self, path: str, query: dict[str, str], render: Renderer, url: str) -> Reply:
        for pattern, endpoint in self._routes:
            match = pattern.fullmatch(path)
            if match:
                return endpoint(render, query, url, *match.groups())
        return _not_found()

    # ---- endpoints ------------------------------------------------------------------------------------
    def _rate_limit(self) -> Reply:
        with self._lock:
            return Reply(200, rate_limit_body(self._buckets, time.time()))

    def _truth(self, name: str) -> Reply:
        goal = BUILTIN_GOALS.get(name)
        if goal is None:
            return _error(404, f"Unknown goal {name!r}; known: {', '.join(BUILTIN_GOALS)}")
        logins = truth(self.world, goal.audience, datetime.now(UTC))
        return Reply(
            200,
            {
                "goal": goal.goal,
                "name": goal.name,
                "audience": goal.audience.model_dump(),
                "logins": sorted(logins),
                "groups": [sorted(g) for g in identity_groups(self.world)],
            },
        )

    def _search(self, render: Renderer, query: dict[str, str], url: str, kind: str) -> Reply:
        q = query.get("q")
        if not q:
            return _error(422, "Validation Failed", errors=[{"resource": "Search", "field": "q", "code": "missing"}])
        try:
            found = self.searcher.search(kind, q, query.get("sort", ""), query.get("order", "desc"))
        except SearchError as exc:
            return _error(
                422, "Validation Failed", errors=[{"message": str(exc), "resource": "Search", "field": "q", "code": "invalid"}]
            )
        per_page, page = paging(query)
        if (page - 1) * per_page >= SEARCH_CAP:
            return _error(422, "Only the first 1000 search results are available")
        window, headers = paginate(found, query, url, cap=SEARCH_CAP)
        draw = render.repo if kind == "repositories" else render.simple_user
        items = [draw(item) | {"score": 1.0} for item in window]
        return Reply(200, {"total_count": len(found), "incomplete_results": False, "items": items}, headers)

    def _find_repo(self, owner: str, name: str) -> Repo | None:
        return self.world.repo(f"{owner}/{name}")

    def _repo(self, render: Renderer, query: dict[str, str], url: str, owner: str, name: str) -> Reply:
        repo = self._find_repo(owner, name)
        return Reply(200, render.repo(repo, full=True)) if repo else _not_found()

    def _contributors(self, render: Renderer, query: dict[str, str], url: str, owner: str, name: str) -> Reply:
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
        window, headers = paginate(rows, query, url)
        return Reply(200, window, headers)

    def _commits(self, render: Renderer, query: dict[str, str], url: str, owner: str, name: str) -> Reply:
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
        rows = [
            c
            for c in self.world.commits(repo)
            if (not author or author in ((c.login or "").lower(), c.email.lower()))
            and (since is None or c.date >= since)
            and (until is None or c.date <= until)
        ]
        window, headers = paginate(rows, query, url)
        return Reply(200, [render.commit(repo, c) for c in window], headers)

    def _topics(self, render: Renderer, query: dict[str, str], url: str, owner: str, name: str) -> Reply:
        repo = self._find_repo(owner, name)
        return Reply(200, {"names": repo.topics}) if repo else _not_found()

    def _languages(self, render: Renderer, query: dict[str, str], url: str, owner: str, name: str) -> Reply:
        repo = self._find_repo(owner, name)
        if repo is None:
            return _not_found()
        if not repo.language or not repo.contributors:
            return Reply(200, {})
        rng = random.Random(repo.id)
        extras = rng.sample(("Shell", "Dockerfile", "Makefile", "HTML", "CSS"), rng.randint(0, 2))
        sizes = {repo.language: rng.randint(20_000, 2_000_000)} | {x: rng.randint(100, 15_000) for x in extras}
        return Reply(200, sizes)

    def _readme(self, render: Renderer, query: dict[str, str], url: str, owner: str, name: str) -> Reply:
        repo = self._find_repo(owner, name)
        if repo is None or not repo.contributors:  # an empty repository has no README
            return _not_found()
        return Reply(200, readme_body(repo, f"{render.base}/repos/{repo.full_name}", f"{WEB}/{repo.full_name}"))

    def _user(self, render: Renderer, query: dict[str, str], url: str, login: str) -> Reply:
        account = self.world.account(login)
        if account is None:
            return _not_found()
        return Reply(200, render.org(account) if account.type == "Organization" else render.user(account))

    def _user_by_id(self, render: Renderer, query: dict[str, str], url: str, ident: str) -> Reply:
        account = self.world.by_id.get(int(ident))
        return self._user(render, query, url, account.login) if account else _not_found()

    def _user_orgs(self, render: Renderer, query: dict[str, str], url: str, login: str) -> Reply:
        account = self.world.account(login)
        if account is None:
            return _not_found()
        window, headers = paginate([self.world.accounts[o] for o in account.orgs], query, url)
        return Reply(200, [render.simple_org(o) for o in window], headers)

    def _user_repos(self, render: Renderer, query: dict[str, str], url: str, login: str) -> Reply:
        account = self.world.account(login)
        if account is None:
            return _not_found()
        repos = [] if query.get("type") == "member" else list(self.world.repos_by_owner.get(account.login, ()))
        sort = query.get("sort", "full_name")
        keys: dict[str, Callable[[Repo], Any]] = {
            "created": lambda r: r.created_at,
            "updated": lambda r: r.updated_at,
            "pushed": lambda r: r.pushed_at,
        }
        direction = query.get("direction", "asc" if sort not in keys else "desc")
        repos.sort(key=keys.get(sort, lambda r: r.full_name.lower()), reverse=direction == "desc")
        window, headers = paginate(repos, query, url)
        return Reply(200, [render.repo(r) for r in window], headers)

    def _events(self, render: Renderer, query: dict[str, str], url: str, login: str) -> Reply:
        account = self.world.account(login)
        if account is None:
            return _not_found()
        window, headers = paginate(self.world.events(account.login), query, url)
        return Reply(200, [render.event(e) for e in window], headers | {"X-Poll-Interval": "60"})

    def _org(self, render: Renderer, query: dict[str, str], url: str, login: str) -> Reply:
        account = self.world.account(login)
        if account is None or account.type != "Organization":
            return _not_found()
        return Reply(200, render.org(account))


@contextmanager
def open_sandbox(seed: int, users: int, anchor: date, latency_ms: int = 0) -> Iterator[str]:
    """A sandbox over the world of (seed, users, anchor) for one run, stopped at the end; yields its
    URL. This is the `SandboxOpener` that the interfaces hand to `graph.runner` when asked to."""
    server = SandboxServer(generate_world(seed=seed, users=users, anchor=anchor), latency_ms=latency_ms).start()
    try:
        yield server.url
    finally:
        server.stop()
