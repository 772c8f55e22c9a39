"""Pure ASGI middleware (no `BaseHTTPMiddleware`: it would run the app in another task and lose
the structlog contextvars that the auth dependency binds).

- `RequestContextMiddleware`: request id in and out (`X-Request-ID`), one access log line per
  request with tenant and job id, request count and latency metrics.
- `BodyGuardMiddleware`: 415 for a body that is not JSON, 413 for a body over the limit, whether
  the size is announced by Content-Length or only discovered while streaming. It also refuses a NUL
  character in the path (404: no resource has one) or the query (422): Postgres can neither store
  nor compare one, so it would otherwise surface as a 500 from the first query using the value.
- `SecurityHeadersMiddleware`: headers a browser needs on every answer now that one signs in
  (api/routers/session.py): no MIME sniffing, no referrer, no framing (clickjacking), and no caching
  of `/api/` answers, which are a tenant's data. A response that sets one of them keeps its own.
  There is no Content-Security-Policy here: the web app's pages set theirs, Swagger UI needs another.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.core.errors import SECURITY_HEADERS, Problem, problem_response
from api.core.metrics import LATENCY, REQUESTS

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_FORM_PATHS = ("/unsubscribe/",)  # RFC 8058 one-click opt-outs post form data, not JSON
_CSV_PATHS = frozenset({"/api/suppressions/import"})  # uploads of `kind,value` CSV files
_SNS_PATHS = ("/api/inbound/ses/",)  # Amazon SNS posts its JSON as text/plain
# A JSON string escape for U+0000 that is not itself escaped ("\\u0000" is a backslash and text).
_JSON_NUL = re.compile(rb"(?:^|[^\\])(?:\\\\)*\\u0000")
_NUL_DETAIL = "text in the request body cannot contain NUL (U+0000) characters"
log = structlog.get_logger("api.access")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            log.info("request", method=scope["method"], route=route, status=status, duration_ms=round(elapsed * 1000, 2))
            structlog.contextvars.clear_contextvars()


class BodyGuardMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"]:
            await self._refuse(scope, receive, send, 404, f"no resource at {scope['path']!r}")
            return
        if b"%00" in scope["query_string"]:
            detail = "query parameters cannot contain NUL (U+0000) characters"
            errors = [{"loc": "query", "msg": detail, "type": "nul_character"}]
            await self._refuse(scope, receive, send, 422, detail, slug="validation-error", errors=errors)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        has_body = "transfer-encoding" in headers or (length is not None and length != "0")
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        problem: tuple[int, str] | None = None
        is_json = content_type == "application/json" or content_type.endswith("+json")
        is_csv_upload = content_type == "text/csv" and scope["path"] in _CSV_PATHS
        is_sns = content_type == "text/plain" and scope["path"].startswith(_SNS_PATHS)
        if has_body and not (is_json or is_csv_upload or is_sns) and not scope["path"].startswith(_FORM_PATHS):
            problem = (415, f"the request body must be application/json, not {content_type or 'untyped'}")
        elif length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            problem = (413, self._too_large())
        if problem is not None:
            await self._refuse(scope, receive, send, *problem)
            return

        received = 0
        tail = b""

        async def receive_with_limit() -> Message:
            nonlocal received, tail
            message = await receive()
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_body_bytes:
                raise Problem(413, self._too_large())
            if is_json and _JSON_NUL.search(tail + chunk):
                # Postgres stores no NUL in text or JSONB (it answered 500/422 where SQLite stored it):
                # refused here, the same way on every storage and for every route.
                raise Problem(
                    422,
                    _NUL_DETAIL,
                    slug="validation-error",
                    errors=[{"loc": "body", "msg": _NUL_DETAIL, "type": "nul_character"}],
                )
            tail = chunk[-16:]
            return message

        await self.app(scope, receive_with_limit, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str, **extensions: Any) -> None:
        request_id = scope.get("state", {}).get("request_id")
        await problem_response(status, detail, instance=scope["path"], request_id=request_id, **extensions)(scope, receive, send)

    def _too_large(self) -> str:
        return f"the request body is larger than the limit of {self.max_body_bytes} bytes"


class SecurityHeadersMiddleware:
    """Adds the browser security headers to the start of every response (streams pass untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = scope["path"].startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
                if is_api:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
