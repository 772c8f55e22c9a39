"""The RFC 9457 problem document, for the OpenAPI description of error answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from api.core.errors import PROBLEM_JSON


class ProblemDetails(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | None = None


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting the problem+json answers of a route or router."""
    return {status: {"model": ProblemDetails, "content": {PROBLEM_JSON: {}}} for status in statuses}
