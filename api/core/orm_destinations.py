"""Tables of the destinations (issue 16): a tenant's configured CRMs, marketing and analytics tools,
and which of them received which person.

`destinations.config` is the whole `DestinationConfig` (the API token included) sealed with the
tenant's data key, like the tenant's other secrets (`tenants.webhook_secret`, migration 0009).
`destination_deliveries` is the record GDPR Art. 17(2) and 19 need: every person a destination
holds, so an erasure reaches each of them; a row leaves when its destination confirms the deletion.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.core.orm import Base
from storage.encrypted_types import EncryptedJSON
from storage.tables import utcnow


class DestinationRow(Base):
    __tablename__ = "destinations"
    __table_args__ = (Index("uq_destinations_tenant_name", "tenant_id", "name", unique=True),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    platform: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # crm | marketing | analytics (the connector's)
    config: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON())  # DestinationConfig, token included
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    pulled_at: Mapped[datetime | None] = mapped_column()  # the last pull of changes reached this far


class DestinationDelivery(Base):
    """One person a destination holds (pushed by a sync of `job_id`)."""

    __tablename__ = "destination_deliveries"
    __table_args__ = (Index("ix_destination_deliveries_tenant_prospect", "tenant_id", "prospect_id"),)

    destination_id: Mapped[str] = mapped_column(ForeignKey("destinations.id", ondelete="CASCADE"), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    job_id: Mapped[str] = mapped_column(String(32))
    remote_id: Mapped[str] = mapped_column(String(255))
    delivered_at: Mapped[datetime] = mapped_column(default=utcnow)
