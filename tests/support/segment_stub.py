"""Contract stub of Segment's HTTP Tracking API (batch) and Public API (workspace, regulations).

Shapes from Segment's references:
- HTTP Tracking API: https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/
  (`POST /v1/batch`, Basic auth with the write key as username, body `{batch[], sentAt}` of
  `track`/`identify` messages with `userId`, `messageId`, `timestamp`; at most 500 KB a request and
  32 KB a message, else 400; deduplication on `messageId`; 200 for every accepted request);
- Public API: https://docs.segmentapis.com/tag/Workspaces (`GET /` answers
  `{data: {workspace: {id, name, slug}}}`) and https://docs.segmentapis.com/tag/Deletion-and-Suppression
  (`POST /regulations`, bearer token, body `{regulationType, subjectType, subjectIds}`, answered
  `{data: {regulateId}}`).
"""

from __future__ import annotations

import json
import uuid

from tests.support.analytics_stub import AnalyticsStub
from tests.support.destination_stubs import Reply, StubRequest, route

MAX_BATCH_BYTES = 500 * 1024
MAX_MESSAGE_BYTES = 32 * 1024
REGULATION_TYPES = {"SUPPRESS_ONLY", "UNSUPPRESS", "SUPPRESS_WITH_DELETE", "DELETE_ONLY", "DELETE_INTERNAL"}


class SegmentStub(AnalyticsStub):
    @route("POST", r"/v1/batch")
    def batch(self, request: StubRequest) -> Reply:
        if self.basic(request) is None:
            return 401, {"code": "unauthorized", "message": "missing write key"}
        if len(request.raw) > MAX_BATCH_BYTES:
            return 400, {"code": "invalid_request", "message": "batch exceeds 500KB"}
        messages = request.body.get("batch", []) if isinstance(request.body, dict) else []
        for message in messages:
            if len(json.dumps(message).encode()) > MAX_MESSAGE_BYTES or not message.get("messageId"):
                return 400, {"code": "invalid_request", "message": "message too large or without messageId"}
        if self.basic(request) != (self.token, ""):
            return 200, {"success": True}  # Segment accepts unknown write keys; nothing reaches the source
        for message in messages:
            if message.get("type") == "identify":
                self.profiles[message["userId"]].update(message.get("traits", {}))
            else:
                self.ingest(message["messageId"], message)
        return 200, {"success": True}

    @route("GET", r"/")
    def workspace(self, request: StubRequest) -> Reply:
        if not self.bearer(request):
            return 401, {"errors": [{"type": "unauthorized", "message": "Unauthorized"}]}
        return 200, {"data": {"workspace": {"id": "ws_test", "name": "Test", "slug": "test-workspace"}}}

    @route("POST", r"/regulations")
    def regulate(self, request: StubRequest) -> Reply:
        if not self.bearer(request):
            return 401, {"errors": [{"type": "unauthorized", "message": "Unauthorized"}]}
        body = request.body if isinstance(request.body, dict) else {}
        if (
            body.get("regulationType") not in REGULATION_TYPES
            or body.get("subjectType") not in {"USER_ID", "OBJECT_ID"}
            or not body.get("subjectIds")
        ):
            return 422, {"errors": [{"type": "validation", "message": "Validation failure"}]}
        regulate_id = uuid.uuid4().hex[:24]
        self.deletions.append({**body, "regulateId": regulate_id})
        return 200, {"data": {"regulateId": regulate_id}}

    def names(self) -> list[str]:
        return [m["event"] for m in self.ingested]
