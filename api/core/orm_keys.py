"""Tables of the keys feature (see cmo/privacy and api/services); registered on `orm.Base`."""

from __future__ import annotations

from api.core.orm import Base  # noqa: F401
