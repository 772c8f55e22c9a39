"""Bodies of the webhook routes: the delivery log and the tenant's default URL and secret."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.models.jobs import WebhookUrl


class WebhookDelivery(BaseModel):
    """One attempt; the attempts of one event share `delivery_id` (the `X-CMO-Delivery` header)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    delivery_id: str
    job_id: str
    event: str = Field(examples=["job.created"])
    url: str
    attempt: int = Field(description="1 for the first try, then one more per retry.")
    status_code: int | None = Field(description="The receiver's HTTP status; null when no response came.")
    error: str | None = Field(description="Why the attempt failed (HTTP status, connection error, refused URL).")
    duration_ms: int
    delivered: bool
    created_at: datetime


class WebhookDeliveryPage(BaseModel):
    items: list[WebhookDelivery]


class WebhookSettings(BaseModel):
    """Where jobs without their own `webhook_url` report, and the secret every delivery is signed with."""

    url: str | None
    secret: str = Field(description="HMAC-SHA256 key of `X-CMO-Signature`; keep it server-side.")


class WebhookSettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl | None = Field(description="The tenant's default webhook URL; null removes it.")
    rotate_secret: bool = Field(default=False, description="Replace the signing secret (the old one stops working).")
