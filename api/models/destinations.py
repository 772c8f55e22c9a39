"""API models of `/api/destinations` and `POST /api/jobs/{id}/sync`.

A destination is created with the whole `DestinationConfig` (token included); it is answered without
the token (`has_token` says whether one is stored). `token` on an update may be left out to keep the
stored one.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tools.destinations.base import DestinationKind
from tools.destinations.config import DestinationConfig


class DestinationCreate(DestinationConfig):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")


class DestinationUpdate(DestinationCreate):
    token: str = Field(default="", description="leave out (or empty) to keep the stored token")


class Destination(BaseModel):
    """A configured destination, never with its token."""

    id: str
    name: str
    platform: str
    kind: DestinationKind
    has_token: bool
    config: DestinationConfig = Field(description="the configuration, its `token` blanked")
    created_at: datetime
    updated_at: datetime
    pulled_at: datetime | None = None


class DestinationList(BaseModel):
    items: list[Destination]


class DestinationTest(BaseModel):
    ok: bool
    detail: str


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    destination_id: str
    all: bool = Field(default=False, description="every lead with a verdict, not only the approved ones")
    dry_run: bool = Field(default=False, description="report what would be sent; contact no one")


class SyncAccepted(BaseModel):
    job_id: str
    destination_id: str
    status: str = Field(default="started", description="the outcome arrives as a sync.completed or sync.failed job event")
