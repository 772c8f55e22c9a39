"""Contract stub of the GA4 Measurement Protocol and of the Google Analytics User Deletion API.

Shapes from Google's references:
- Send events: https://developers.google.com/analytics/devguides/collection/protocol/ga4/sending-events
  (`POST /mp/collect?measurement_id=&api_secret=`, body `client_id`, `user_id`, `events[]` of
  `name`/`params`/`timestamp_micros`; at most 25 events a request; the endpoint answers 2xx
  whatever it receives and drops what is invalid);
- Validate events: https://developers.google.com/analytics/devguides/collection/protocol/ga4/validating-events
  (`POST /debug/mp/collect` answers `{"validationMessages": [{fieldPath, description, validationCode}]}`);
- User Deletion API: https://developers.google.com/analytics/devguides/config/userdeletion/v3/reference/userDeletion/userDeletionRequest
  (`POST /analytics/v3/userDeletion/userDeletionRequests:upsert`, resource `kind`, `id{type,userId}`,
  `propertyId`, answered with `deletionRequestTime`; OAuth bearer token).
GA4 has no event id to deduplicate on: every accepted event is counted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tests.support.analytics_stub import AnalyticsStub
from tests.support.destination_stubs import Reply, StubRequest, route

MAX_EVENTS = 25
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")


class GA4Stub(AnalyticsStub):
    dedupes = False

    def __init__(self, token: str = "mp-secret", measurement_id: str = "G-TEST123", **kwargs: Any) -> None:
        super().__init__(token, **kwargs)
        self.measurement_id = measurement_id
        self.dropped = 0  # events GA4 silently discarded

    def _messages(self, body: Any) -> list[dict[str, str]]:
        if not isinstance(body, dict) or not body.get("client_id"):
            return [{"fieldPath": "client_id", "description": "client_id is required", "validationCode": "VALUE_REQUIRED"}]
        events = body.get("events") or []
        if len(events) > MAX_EVENTS:
            return [{"fieldPath": "events", "description": "too many events", "validationCode": "EXCEEDED_MAX_ENTITIES"}]
        return [
            {
                "fieldPath": "events",
                "description": f"Event at index: [{i}] has invalid name [{e.get('name')}].",
                "validationCode": "NAME_INVALID",
            }
            for i, e in enumerate(events)
            if not _NAME.fullmatch(str(e.get("name", ""))) or e.get("name") in self.reject_names
        ]

    @route("POST", r"/mp/collect")
    def collect(self, request: StubRequest) -> Reply:
        authentic = request.query.get("api_secret") == self.token and request.query.get("measurement_id") == self.measurement_id
        events = request.body.get("events", []) if isinstance(request.body, dict) else []
        if not authentic or self._messages(request.body):
            self.dropped += len(events)
            return 204, None
        for event in events:
            self.ingest("", {**event, "client_id": request.body["client_id"], "user_id": request.body.get("user_id")})
        return 204, None

    @route("POST", r"/debug/mp/collect")
    def validate(self, request: StubRequest) -> Reply:
        return 200, {"validationMessages": self._messages(request.body)}

    @route("POST", r"/analytics/v3/userDeletion/userDeletionRequests:upsert")
    def delete_user(self, request: StubRequest) -> Reply:
        if not self.bearer(request):
            return 401, {
                "error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}
            }
        body = request.body if isinstance(request.body, dict) else {}
        subject = body.get("id") or {}
        if (
            subject.get("type") not in {"APP_INSTANCE_ID", "CLIENT_ID", "USER_ID"}
            or not subject.get("userId")
            or not body.get("propertyId")
        ):
            return 400, {"error": {"code": 400, "message": "Invalid value", "status": "INVALID_ARGUMENT"}}
        self.deletions.append(body)
        return 200, {**body, "deletionRequestTime": datetime.now(UTC).isoformat()}

    def names(self) -> list[str]:
        return [e["name"] for e in self.ingested]
