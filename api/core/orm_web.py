"""Tables of the web app (`api/web`): browser sessions and people's review decisions on drafts.

`web_sessions` holds what a signed-in browser's httpOnly cookie stands for. The cookie carries a
random token; only its SHA-256 is stored (`id`), so a database dump cannot be replayed as a cookie.
A session lives no longer than its API key: revoking the key ends every session opened with it.

`lead_reviews` is the latest decision a person made on one job's draft (approve or reject, with a
reason); every decision is also an audit record. The draft itself (edited or not) and the verdict
stay in `prospects`, which is what downloads and analytics read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.core.orm import Base
from storage.encrypted_types import EncryptedText
from storage.tables import one_of, utcnow

ReviewDecision = Literal["approved", "rejected"]
REVIEW_DECISIONS: tuple[str, ...] = get_args(ReviewDecision)


class WebSession(Base):
    """One signed-in browser: the hash of its cookie token, the key it was opened with, its CSRF token."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_key", "key_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie's token
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class LeadReview(Base):
    """A person's latest decision on one prospect's draft in one job."""

    __tablename__ = "lead_reviews"
    __table_args__ = (
        ForeignKeyConstraint(["job_id", "prospect_id"], ["prospects.job_id", "prospects.prospect_id"], ondelete="CASCADE"),
        CheckConstraint(one_of("decision", REVIEW_DECISIONS), name="ck_lead_reviews_decision"),
        Index("ix_lead_reviews_tenant", "tenant_id"),
    )

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(EncryptedText())  # free text: may name the person
    decided_by: Mapped[str] = mapped_column(String(32))  # the API key id (keys are never deleted, only revoked)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited: Mapped[bool] = mapped_column(default=False)  # the person changed the subject or body first
