"""RFC 9457 problem details for every error the service answers.

Routes raise `Problem`; services raise the domain errors of `api.services.errors` (they know no
HTTP), answered here with the problem a route would have raised (`service_problem`); framework errors
(unknown route, wrong method, validation, malformed JSON) are translated here too, and a catch-all
turns a real bug into a bare 500 whose body names the request id but no internals. `Problem` is an
`HTTPException`, so FastAPI lets it through unchanged even when it is raised while the request body
is being read (the size limit does that).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from api.services.errors import Conflict, InvalidInput, NotFound, ServiceError
from privacy.pii import redact_secrets

PROBLEM_JSON = "application/problem+json"
_MAX_LISTED_ERRORS = 5
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)  # on every response (SecurityHeadersMiddleware), the catch-all 500 included

log = structlog.get_logger("api")


class Problem(HTTPException):
    """An error for the client: status, a useful `detail`, and optional extension members."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.slug = slug
        self.extensions = extensions


def service_problem(exc: ServiceError) -> Problem:
    """The problem a service's refusal is answered with: 404, 409 (with `Retry-After` when the
    refusal says when to retry, `reasons` when it names its findings) or 422 (listing the refused
    field or file lines in `errors`)."""
    match exc:
        case NotFound():
            return Problem(404, exc.message)
        case Conflict():
            retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
            reasons: dict[str, Any] = {"reasons": list(exc.reasons)} if exc.reasons else {}
            return Problem(409, exc.message, slug=exc.slug, headers=retry, **reasons)
        case InvalidInput():
            slug = exc.slug or "validation-error"
            field = [{"loc": exc.field, "msg": exc.message, "type": slug.replace("-", "_")}] if exc.field else []
            errors = field + [{"line": bad.line, "msg": bad.message} for bad in exc.lines]
            listed: dict[str, Any] = {"errors": errors} if errors else {}
            return Problem(422, exc.message, slug=slug, **listed)
    raise TypeError(f"{type(exc).__name__} is not a kind of refusal the API answers; raise NotFound, Conflict or InvalidInput")


def status_of(exc: BaseException) -> int:
    """The HTTP status the handlers below answer `exc` with (what the audit trail records)."""
    if isinstance(exc, ServiceError):
        return service_problem(exc).status_code
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, RequestValidationError) or (isinstance(exc, DataError) and _is_nul_in_text(exc)):
        return 422
    return 500


def problem_response(
    status: int,
    detail: str,
    *,
    instance: str,
    request_id: str | None = None,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """The one place a problem body is built (handlers and middleware both answer through it).
    A secret the client sent (in the path, a field name, a rejected value) is never echoed back."""
    title = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": f"urn:cmo:problem:{slug or title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": redact_secrets(detail),
        "instance": redact_secrets(instance),
    }
    if request_id:
        body["request_id"] = request_id
    body.update(extensions)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _respond(request: Request, status: int, detail: str, **kwargs: Any) -> JSONResponse:
    return problem_response(
        status, detail, instance=request.url.path, request_id=getattr(request.state, "request_id", None), **kwargs
    )


async def _problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return _respond(request, exc.status_code, str(exc.detail), slug=exc.slug, headers=exc.headers, **exc.extensions)


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return await _problem(request, service_problem(exc))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Errors Starlette raises itself: no route (404), wrong method (405), and friends."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != HTTPStatus(status).phrase else ""
    if status == 404 and not detail:
        detail = f"no resource at {request.url.path}"
    elif status == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        detail = f"{request.method} is not allowed on {request.url.path}" + (f"; allowed: {allowed}" if allowed else "")
    return _respond(request, status, detail or HTTPStatus(status).description, headers=exc.headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 naming every failing field path; a body that is not JSON at all is a 400."""
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    broken = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if broken is not None:
        reason = (broken.get("ctx") or {}).get("error", "invalid syntax")
        where = broken["loc"][-1] if len(broken.get("loc", ())) > 1 else "?"
        return _respond(request, 400, f"request body is not valid JSON: {reason} (at character {where})", slug="malformed-json")
    fields = [
        {"loc": redact_secrets(_location(e.get("loc", ()))), "msg": redact_secrets(e.get("msg", "")), "type": e.get("type", "")}
        for e in errors
    ]
    listed = "; ".join(f"{f['loc']}: {f['msg']}" for f in fields[:_MAX_LISTED_ERRORS])
    more = len(fields) - _MAX_LISTED_ERRORS
    detail = listed + (f" (and {more} more)" if more > 0 else "")
    return _respond(request, 422, detail, slug="validation-error", errors=fields)


NUL_DETAIL = "text cannot contain NUL (U+0000) characters"


def _is_nul_in_text(exc: DataError) -> bool:
    """Postgres stores no NUL in text or jsonb (psycopg refuses it in a parameter, the server in JSON);
    SQLite does, so this is the one input a validated body can still carry to a Postgres failure."""
    message = str(exc.orig)
    return "NUL (0x00)" in message or "\\u0000 cannot be converted" in message


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    """A NUL character the client sent inside a JSON string is a 422 like any other invalid value;
    any other DataError is a bug (500)."""
    assert isinstance(exc, DataError)
    if not _is_nul_in_text(exc):
        return await _unexpected(request, exc)
    return _respond(
        request, 422, NUL_DETAIL, slug="validation-error", errors=[{"loc": "body", "msg": NUL_DETAIL, "type": "nul_character"}]
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug: log it with its traceback, answer without internals. Starlette sends this answer from
    outside the middleware stack, so the security headers the middleware adds everywhere else are
    added here."""
    log.exception("unhandled error", path=request.url.path, error_type=type(exc).__name__)
    request_id = getattr(request.state, "request_id", None)
    headers = {**dict(SECURITY_HEADERS), "Cache-Control": "no-store"} | ({"X-Request-ID": request_id} if request_id else {})
    return _respond(
        request, 500, "the server failed to handle this request; report the request id if it persists", headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected)
