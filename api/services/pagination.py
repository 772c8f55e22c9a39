"""Opaque keyset cursors for newest-first listings.

A cursor is the (created_at, id) of the last row of a page: the next page starts strictly after it,
so rows inserted meanwhile neither shift nor duplicate entries the way OFFSET pages would.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from api.services.errors import InvalidInput


def encode_cursor(created_at: datetime, row_id: str) -> str:
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor names; a cursor not made by `encode_cursor` is the client's error."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, row_id = raw.split("|", 1)
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None or not row_id:
            raise ValueError("incomplete cursor")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("query.cursor: not a cursor returned by this API (pass next_cursor from the previous page)") from exc
    return created_at, row_id
