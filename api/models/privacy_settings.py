"""Body of `GET`/`PUT /api/privacy/settings`: the tenant's masking rules and retention."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from privacy.masking import MaskingRules


class TenantPrivacySettings(BaseModel):
    """What a tenant decided about personal data it downloads and keeps. A `PUT` replaces the
    whole document: a field left out goes back to its default."""

    model_config = ConfigDict(extra="forbid")

    masking: MaskingRules = Field(
        default_factory=MaskingRules,
        description="Mode per field of the leads artifacts: none | partial | full | hash | detect.",
    )
    retention_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Days the tenant's jobs, prospects and artifacts are kept; null uses the deployment's CMO_RETENTION_DAYS.",
    )
