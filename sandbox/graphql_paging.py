"""Relay connections and argument parsing shared by the sandbox's GraphQL object types.

A connection here is a page over a list the caller has already filtered and ordered; cursors are
opaque offsets (GitHub's are opaque too). `first`/`last` bounds are enforced before execution by
`graphql_cost.py`, so this module only slices.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError

from sandbox.render import timestamp


class NotFound(GraphQLError):
    """GitHub's answer for a missing object: the field is null, the error carries `type: NOT_FOUND`."""

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"type": "NOT_FOUND"})


def parse_time(value: str | None, argument: str) -> datetime | None:
    """A DateTime/GitTimestamp argument (ISO 8601); naive means UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"Argument '{argument}' has an invalid value ({value!r}): not an ISO 8601 time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return timestamp(moment) or ""


# ---- connections --------------------------------------------------------------------------------------
def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _offset(cursor: str, argument: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        prefix, _, number = text.rpartition(":")
        if prefix == "cursor:v2" and number.isdigit():
            return int(number)
    except (ValueError, UnicodeError):
        pass
    raise GraphQLError(f"`{argument}` does not appear to be a valid cursor.")


@dataclass
class Connection:
    """A Relay connection over an already filtered and ordered list (`first`/`last` checked by graphql_cost)."""

    totalCount: int
    nodes: list[Any]
    edges: list[dict[str, Any]]
    pageInfo: dict[str, Any]


def connection(
    items: Sequence[Any],
    wrap: Callable[[Any], Any] = lambda item: item,
    *,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
    **_: Any,
) -> Connection:
    start = _offset(after, "after") + 1 if after else 0
    end = min(_offset(before, "before"), len(items)) if before else len(items)
    indexes = list(range(start, max(start, end)))
    if first is not None:
        indexes = indexes[:first]
    if last is not None:
        indexes = indexes[-last:] if last else []
    nodes = [wrap(items[i]) for i in indexes]
    edges = [{"cursor": _cursor(i), "node": n} for i, n in zip(indexes, nodes, strict=True)]
    page_info = {
        "hasNextPage": bool(indexes) and indexes[-1] < len(items) - 1,
        "hasPreviousPage": bool(indexes) and indexes[0] > 0,
        "startCursor": edges[0]["cursor"] if edges else None,
        "endCursor": edges[-1]["cursor"] if edges else None,
    }
    return Connection(len(items), nodes, edges, page_info)


def counted(total: int) -> Connection:
    """A connection the sandbox knows only the size of (followers): `totalCount`, no nodes."""
    return Connection(total, [], [], {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None})
