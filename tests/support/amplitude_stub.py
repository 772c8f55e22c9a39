"""Contract stub of Amplitude's HTTP V2 API and User Privacy API (v1).

Shapes from Amplitude's references:
- HTTP V2 API: https://amplitude.com/docs/apis/analytics/http-v2 and
  https://amplitude.com/docs/apis/analytics/http-api-batching-retries (`POST /2/httpapi`, body
  `{api_key, events[]}`; up to 2000 events, else 413; 200 `{code, events_ingested,
  payload_size_bytes, server_upload_time}`; a 400 names rejected events by index in
  `events_with_invalid_fields` / `events_with_missing_fields` / `events_with_invalid_id_lengths`
  and ingests none of the request; `missing_field` for a request-level omission; an unknown key
  is a 400 "Invalid API key: ..."; `insert_id` deduplicated for 7 days; `$identify` events carry
  `user_properties` operations such as `$set`);
- User Privacy API: https://amplitude.com/docs/apis/analytics/user-privacy (`POST
  /api/2/deletions/users`, Basic auth API key:secret key, body `{user_ids, requester,
  ignore_invalid_id}`, answered with the deletion job `{day, status, user_ids...}`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.support.analytics_stub import AnalyticsStub
from tests.support.destination_stubs import Reply, StubRequest, route

MAX_EVENTS = 2000
MIN_ID_LENGTH = 5


class AmplitudeStub(AnalyticsStub):
    @route("POST", r"/2/httpapi")
    def http_api(self, request: StubRequest) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        if body.get("api_key") != self.token:
            return 400, {"code": 400, "error": f"Invalid API key: {str(body.get('api_key'))[:8]}"}
        events = body.get("events") or []
        if not events:
            return 400, {"code": 400, "error": "Request missing required field", "missing_field": "events"}
        if len(events) > MAX_EVENTS:
            return 413, {"code": 413, "error": "Payload too large"}
        invalid = [i for i, e in enumerate(events) if not e.get("event_type") or e.get("event_type") in self.reject_names]
        short = [i for i, e in enumerate(events) if len(str(e.get("user_id", ""))) < MIN_ID_LENGTH]
        if invalid or short:
            return 400, {
                "code": 400,
                "error": "Request contains invalid fields",
                "events_with_invalid_fields": {"event_type": invalid} if invalid else {},
                "events_with_invalid_id_lengths": {"user_id": short} if short else {},
            }
        for event in events:
            if event["event_type"] == "$identify":
                self.profiles[event["user_id"]].update(event.get("user_properties", {}).get("$set", {}))
            else:
                self.ingest(event["insert_id"], event)
        size = len(request.raw)
        return 200, {"code": 200, "events_ingested": len(events), "payload_size_bytes": size, "server_upload_time": 0}

    @route("POST", r"/api/2/deletions/users")
    def delete_users(self, request: StubRequest) -> Reply:
        if self.basic(request) != (self.token, self.deletion_token):
            return 401, {"error": "Invalid API key or secret key"}
        body = request.body if isinstance(request.body, dict) else {}
        if not body.get("user_ids") and not body.get("amplitude_ids"):
            return 400, {"error": "amplitude_ids or user_ids is required"}
        self.deletions.append(body)
        day = (date.today() + timedelta(days=30)).isoformat()
        job: dict[str, Any] = {"day": day, "status": "staging", "user_ids": body.get("user_ids", [])}
        job["requested_on_day"] = datetime.now(UTC).date().isoformat()
        return 200, job

    def names(self) -> list[str]:
        return [e["event_type"] for e in self.ingested]
