"""The base of the destination contract stubs: a threaded local HTTP server that records every
request, answers the routes a vendor stub declares, paginates, and simulates rate limits.

Each vendor stub (tests/support/<platform>_stub.py) subclasses `ContractStub`, cites the vendor's
API reference it follows in its docstring, and declares routes:

    class AcmeStub(ContractStub):
        @route("GET", r"/v1/persons/(?P<person_id>\\d+)")
        def get_person(self, request: StubRequest, person_id: str) -> Reply:
            return 200, {"data": self.persons[int(person_id)]}

    with AcmeStub(token="t") as stub:
        stub.fail_next(1, status=429, headers={"Retry-After": "1"})   # the next request is refused
        ...; stub.requests  # what the connector sent, in order

Requests whose credentials differ from `expected_auth()` are answered 401 before any route runs.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.served import ServedStub

Reply = tuple[int, Any] | tuple[int, Any, dict[str, str]]


@dataclass
class StubRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # parsed JSON, a dict of form fields, or the raw text
    raw: bytes = b""


@dataclass
class _Failure:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., Reply]


def route(method: str, pattern: str) -> Callable[[Callable[..., Reply]], Callable[..., Reply]]:
    """Declare a handler for `method` and a full-match path regex (named groups become arguments)."""

    def mark(handler: Callable[..., Reply]) -> Callable[..., Reply]:
        handler._stub_route = (method, pattern)  # type: ignore[attr-defined]
        return handler

    return mark


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None
    total: int = 0


def paginate(items: Sequence[Any], cursor: str | None, limit: int) -> Page:
    """Offset pagination behind an opaque cursor (the offset as text), as most vendors shape it."""
    start = int(cursor) if cursor and cursor.isdigit() else 0
    chunk = list(items[start : start + limit])
    following = start + limit
    return Page(chunk, str(following) if following < len(items) else None, len(items))


class ContractStub(ServedStub):
    """The server. `requests` lists what was received; `fail_next()` queues refusals."""

    def __init__(self, token: str = "test-token", *, tls: ssl.SSLContext | None = None) -> None:
        self.token = token
        self.tls = tls
        self.page_cap: int | None = None  # a page size below the vendor's maximum, so tests see several pages
        self.requests: list[StubRequest] = []
        self._failures: deque[_Failure] = deque()
        self._lock = threading.RLock()
        self._routes = [
            _Route(method, re.compile(pattern), getattr(self, name))
            for name in dir(type(self))
            if (spec := getattr(getattr(type(self), name), "_stub_route", None))
            for method, pattern in [spec]
        ]
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # one write per response: headers and body in separate packets meet the
            disable_nagle_algorithm = True  # client's delayed ACK (40 ms a request on keep-alive connections)

            def _serve(self) -> None:
                stub._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read `requests`."""

        server = self._listen(Handler)
        if tls:  # for clients that only speak https (simple-salesforce); trust the cert with tests.support.smtp.self_signed
            server.socket = tls.wrap_socket(server.socket, server_side=True)
            self.scheme = "https"

    # --- what vendor stubs override -----------------------------------------------------------
    def expected_auth(self) -> dict[str, str]:
        """Headers every request must carry (default: a bearer token)."""
        return {"authorization": f"Bearer {self.token}"}

    def auth_failure(self) -> Reply:
        return 401, {"message": "Authentication credentials not found"}

    def not_found(self, request: StubRequest) -> Reply:
        return 404, {"message": f"no route for {request.method} {request.path}"}

    # --- controls -------------------------------------------------------------------------------
    def fail_next(self, count: int = 1, *, status: int = 429, headers: dict[str, str] | None = None, body: Any = None) -> None:
        """The next `count` requests (authenticated or not) are answered `status` without reaching a route."""
        with self._lock:
            for _ in range(count):
                self._failures.append(_Failure(status, headers if headers is not None else {"Retry-After": "1"}, body))

    def page_size(self, requested: int, vendor_max: int) -> int:
        """What the vendor would answer per page, lowered to `page_cap` when a test set one."""
        return min(requested, vendor_max, self.page_cap or vendor_max)

    def calls(self, method: str, path_regex: str) -> list[StubRequest]:
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    # --- the dispatch -------------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        parts = urlsplit(handler.path)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        request = StubRequest(
            method=handler.command,
            path=parts.path,
            query={k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
            headers=headers,
            body=_parse_body(raw, headers.get("content-type", "")),
            raw=raw,
        )
        with self._lock:
            self.requests.append(request)
            failure = self._failures.popleft() if self._failures else None
            if failure:
                reply: Reply = (failure.status, failure.body or {"message": "rate limit exceeded"}, failure.headers)
            elif any(headers.get(k) != v for k, v in self.expected_auth().items()):
                reply = self.auth_failure()
            else:
                reply = self._dispatch(request)
        _write(handler, reply)

    def _dispatch(self, request: StubRequest) -> Reply:
        for candidate in self._routes:
            match = candidate.pattern.fullmatch(request.path)
            if candidate.method == request.method and match:
                return candidate.handler(request, **match.groupdict())
        return self.not_found(request)


def _parse_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type or text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return text
    if "x-www-form-urlencoded" in content_type:
        return {k: v[-1] for k, v in parse_qs(text).items()}
    return text


def _write(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    status, body = reply[0], reply[1]
    extra: dict[str, str] = reply[2] if len(reply) == 3 else {}  # type: ignore[misc]
    data = b"" if status == 204 or body is None else json.dumps(body).encode()
    handler.send_response(status)
    if data:
        handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in extra.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


__all__ = ["ContractStub", "Page", "Reply", "StubRequest", "paginate", "route"]
