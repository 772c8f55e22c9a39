"""Who is calling: the tenant an API key names. Its own module because both the authentication
dependency (`api.core.auth`) and the key cache (`api.core.key_cache`) hold principals."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant every query of the request is scoped to."""

    tenant_id: str
    tenant_name: str
    key_id: str
    role: str = "member"  # 'admin' keys may also read the tenant's audit trail
