"""Tables of the privacy feature (see privacy/, storage/ and api/services); registered on `orm.Base`.

`suppressions` is the tenant's do-not-contact list. It never holds an identifier in plaintext: rows
are found by `value_index`, the tenant's keyed blind index of the normalised value, and the original
is kept only encrypted (`value_enc`) so the list can be shown and exported. An erasure tombstone
keeps no original at all (`value_enc` NULL): the person is not re-collected, and nothing about them
can be read back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.core.orm import Base
from storage.tables import one_of, utcnow
from tools.suppression import KINDS, SuppressionKind

# `bounce` and `complaint` come from the mail providers' feedback (api/services/mail_feedback.py).
SuppressionReason = Literal["manual", "import", "bounce", "unsubscribe", "complaint", "objection", "erasure"]
SUPPRESSION_REASONS: tuple[str, ...] = get_args(SuppressionReason)


class Suppression(Base):
    """One suppressed identifier of one tenant: unique per (tenant, kind, blind index)."""

    __tablename__ = "suppressions"
    __table_args__ = (
        CheckConstraint(one_of("kind", KINDS), name="ck_suppressions_kind"),
        CheckConstraint(one_of("reason", SUPPRESSION_REASONS), name="ck_suppressions_reason"),
        Index("uq_suppressions_tenant_kind_value", "tenant_id", "kind", "value_index", unique=True),
        Index("ix_suppressions_tenant_created", "tenant_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[SuppressionKind] = mapped_column(String(16))  # the check constraint keeps it one of KINDS
    value_index: Mapped[str] = mapped_column(String(128))
    value_enc: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
