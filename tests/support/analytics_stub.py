"""What the four analytics contract stubs (GA4, Mixpanel, Amplitude, Segment) keep alike: the events
a vendor ingested (after its own deduplication), the profiles it holds, the deletion requests it
received, and event names to refuse (to exercise per-record failures).

Each route checks its own credential, because ingestion and deletion use different ones at every
one of these vendors (`expected_auth()` is empty).
"""

from __future__ import annotations

import base64
from collections import defaultdict
from typing import Any

from tests.support.destination_stubs import ContractStub, StubRequest


class AnalyticsStub(ContractStub):
    dedupes = True  # the vendor drops an event whose id it has seen

    def __init__(self, token: str = "test-token", deletion_token: str = "deletion-token") -> None:
        super().__init__(token)
        self.deletion_token = deletion_token
        self.ingested: list[dict[str, Any]] = []
        self.seen_ids: set[str] = set()
        self.profiles: dict[str, dict[str, Any]] = defaultdict(dict)
        self.deletions: list[dict[str, Any]] = []
        self.reject_names: set[str] = set()

    def expected_auth(self) -> dict[str, str]:
        return {}

    def ingest(self, event_id: str, event: dict[str, Any]) -> None:
        if self.dedupes and event_id in self.seen_ids:
            return
        self.seen_ids.add(event_id)
        self.ingested.append(event)

    def bearer(self, request: StubRequest) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.deletion_token}"

    @staticmethod
    def basic(request: StubRequest) -> tuple[str, str] | None:
        value = request.headers.get("authorization", "")
        if not value.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(value.removeprefix("Basic ")).decode().partition(":")
        return user, password

    def names(self) -> list[str]:
        """The ingested events' names, in order (each stub stores the vendor's own event shape)."""
        raise NotImplementedError
