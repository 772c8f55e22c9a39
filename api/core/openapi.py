"""The OpenAPI document as clients should read it: every error answer is `application/problem+json`
with the `ProblemDetails` schema (RFC 9457), which is what the service sends.

FastAPI files a `responses={status: {"model": ...}}` schema under `application/json` and documents
request validation as its own `HTTPValidationError`; generated clients then expect bodies the
service never sends. `use_problem_json` rewrites the generated document once, when it is first built.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api.core.errors import PROBLEM_JSON

PROBLEM_SCHEMA = {"$ref": "#/components/schemas/ProblemDetails"}
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def _rewrite(doc: dict[str, Any]) -> dict[str, Any]:
    for operation in (op for path in doc.get("paths", {}).values() for op in path.values() if isinstance(op, dict)):
        for status, response in operation.get("responses", {}).items():
            if str(status)[0] not in "45" or "content" not in response:
                continue
            response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}
    schemas = doc.get("components", {}).get("schemas", {})
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    return doc


def use_problem_json(app: FastAPI) -> None:
    """Make `app.openapi()` return the rewritten document (built once, then cached as FastAPI does)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _rewrite(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
