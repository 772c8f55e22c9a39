"""What a service refuses to do, in words for a person, whoever asked (a route, a CLI command, a worker).

Services raise these and know nothing of how a refusal is delivered: the API answers each with its
RFC 9457 problem (`api.core.errors`: 404, 409, 422), the CLI prints the message as its one red line.
The message is the whole explanation: it names the id or value and, where there is one, the way out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ServiceError(Exception):
    """A refusal with a human message (the base of the kinds below; raise one of those)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    """Nothing of the caller's tenant has this id (or matches this person)."""


class Conflict(ServiceError):
    """A valid request the resource's current state refuses: for now, or for good. `slug` names the
    reason for clients that branch on it; `retry_after` (seconds) says when trying again may succeed;
    `reasons` lists the findings that refuse it (a lead's compliance reasons), for clients to show."""

    def __init__(
        self, message: str, *, slug: str | None = None, retry_after: int | None = None, reasons: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.slug = slug
        self.retry_after = retry_after
        self.reasons = tuple(reasons)


@dataclass(frozen=True)
class BadLine:
    """One refused line (1-based) of an uploaded file, and why."""

    line: int
    message: str


class InvalidInput(ServiceError):
    """A value the caller gave cannot be used. `field` locates it the way request validation does
    ('body.webhook_url'); `lines` lists the refused lines of an uploaded file; `slug` names the kind
    of problem (None: an ordinary validation error)."""

    def __init__(self, message: str, *, slug: str | None = None, field: str | None = None, lines: Sequence[BadLine] = ()) -> None:
        super().__init__(message)
        self.slug = slug
        self.field = field
        self.lines = tuple(lines)
