"""A fresh tenant and its key for a test: tests share the Postgres schema, so each makes its own."""

from __future__ import annotations

import uuid

from api.core.database import run_with_database
from api.services.tenants import issue_api_key
from foundation.settings import Settings


def new_tenant(settings: Settings, role: str = "member") -> tuple[str, dict[str, str]]:
    """The new tenant's id and the `Authorization` header of a key of it."""
    issued = run_with_database(settings, lambda db: issue_api_key(db, f"tenant-{uuid.uuid4().hex[:12]}", role))
    return issued.tenant_id, {"Authorization": f"Bearer {issued.key}"}


def auth(settings: Settings) -> dict[str, str]:
    """Headers with a fresh key of a fresh tenant (unique, so tests sharing a schema never mix)."""
    return new_tenant(settings)[1]
