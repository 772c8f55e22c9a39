"""Response bodies of `GET /api/audit`: the tenant's audit records, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEntry(BaseModel):
    """One read or change of personal data: ids only, never emails or names."""

    model_config = ConfigDict(from_attributes=True)

    seq: int = Field(description="Position in the installation-wide hash chain.")
    id: str = Field(examples=["aud_3f9a1c0e5b7d2a4c6e8f"])
    at: datetime
    actor: str = Field(description="'key:<key id>', 'cli:<os user>', 'public' or 'system'.", examples=["key:key_0123abcd"])
    action: str = Field(examples=["artifact.download"])
    job_id: str | None
    prospect_ids: list[str] | None
    artifact_id: str | None
    detail: dict[str, Any] | None
    ip: str | None
    user_agent: str | None
    outcome: int | None = Field(description="The HTTP status of the request (null outside HTTP).")
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    """One page, newest first; pass `next_cursor` back as `?cursor=` for the next (null at the end)."""

    items: list[AuditEntry]
    next_cursor: str | None
