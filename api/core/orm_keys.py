"""Tables of the keys feature (see cmo/privacy/keys.py); registered on `orm.Base`.

`data_keys` holds every tenant's data keys WRAPPED by the key-encryption key (KEK), never in the
clear: a copy of the database alone decrypts nothing. The primary key (tenant, purpose, version) is
what keeps two processes that meet a new tenant at the same moment from both creating its first key
(the loser's insert fails and it reads the winner's). No foreign key to `tenants`: CLI runs encrypt
under the `local` tenant, which has no row there.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from api.core.orm import Base, _one_of, utcnow

KEY_PURPOSES: tuple[str, ...] = ("data", "index")


class DataKey(Base):
    """One version of a tenant's data key (`purpose='data'`) or its blind-index key (`'index'`)."""

    __tablename__ = "data_keys"
    __table_args__ = (CheckConstraint(_one_of("purpose", KEY_PURPOSES), name="ck_data_keys_purpose"),)

    tenant_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(8), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    kek_id: Mapped[str] = mapped_column(String(2048))  # which KEK wrapped it: rotation re-wraps the others
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
