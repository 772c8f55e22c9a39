"""Job list cursors: opaque, exact round trip, and a forged cursor is the client's 422."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.core.errors import service_problem
from api.services.errors import InvalidInput
from api.services.pagination import decode_cursor, encode_cursor


def test_cursor_round_trip_keeps_microseconds_and_zone() -> None:
    stamp = datetime(2025, 1, 15, 10, 30, 0, 123456, tzinfo=UTC)
    cursor = encode_cursor(stamp, "cmo_abc")
    assert "=" not in cursor and "|" not in cursor
    assert decode_cursor(cursor) == (stamp, "cmo_abc")


@pytest.mark.parametrize("cursor", ["garbage!", "", "bm90LWEtY3Vyc29y", encode_cursor(datetime(2025, 1, 1), "cmo_x")])
def test_foreign_cursors_are_422(cursor: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        decode_cursor(cursor)
    problem = service_problem(raised.value)
    assert problem.status_code == 422 and problem.slug == "validation-error" and "query.cursor" in str(problem.detail)
