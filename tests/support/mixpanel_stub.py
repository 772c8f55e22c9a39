"""Contract stub of Mixpanel's ingestion API and GDPR API v3.

Shapes from Mixpanel's references:
- Import Events: https://developer.mixpanel.com/reference/import-events and
  https://docs.mixpanel.com/troubleshooting/errors/400-bad-request (`POST /import?strict=1`, a JSON
  array of up to 2000 `{event, properties{token, distinct_id, time, $insert_id}}`; project token as
  the Basic-auth username; 200 `{code, num_records_imported, status}`; a 400 is a partial success
  whose `failed_records[]` carry `index`, `insert_id`, `field`, `message`; deduplication on
  `$insert_id`). An empty array (the connection test) is answered like any batch with nothing
  imported: the reference does not say what Mixpanel answers, and the connector takes a 400 alike;
- Profile Set: https://developer.mixpanel.com/reference/profile-set (`POST /engage`, form field
  `data` holding a JSON array of `{$token, $distinct_id, $set}`; `verbose=1` answers `{status, error}`);
- GDPR API v3: https://developer.mixpanel.com/reference/gdpr-api (`POST
  /api/app/data-deletions/v3.0/?token=`, body `{distinct_ids, compliance_type}`, OAuth bearer token;
  answered `{"status": "ok", "results": {"task_id": ...}}`).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.support.analytics_stub import AnalyticsStub
from tests.support.destination_stubs import Reply, StubRequest, route

MAX_IMPORT = 2000


class MixpanelStub(AnalyticsStub):
    @route("POST", r"/import")
    def import_events(self, request: StubRequest) -> Reply:
        if self.basic(request) != (self.token, ""):
            return 401, {"code": 401, "error": "Invalid credentials", "status": "Unauthorized"}
        events = request.body if isinstance(request.body, list) else []
        if len(events) > MAX_IMPORT:
            return 413, {"code": 413, "error": "request exceeds 2000 events", "status": "Payload Too Large"}
        failed = []
        for index, event in enumerate(events):
            properties = event.get("properties", {})
            problem = self._problem(event, properties)
            if problem:
                field, message = problem
                failed.append({"index": index, "insert_id": properties.get("$insert_id"), "field": field, "message": message})
            else:
                self.ingest(properties["$insert_id"], event)
        imported = len(events) - len(failed)
        if failed and request.query.get("strict") == "1":
            return 400, {
                "code": 400,
                "error": "some data points in the request failed validation",
                "failed_records": failed,
                "num_records_imported": imported,
                "status": "Bad Request",
            }
        return 200, {"code": 200, "num_records_imported": imported, "status": "OK"}

    def _problem(self, event: dict[str, Any], properties: dict[str, Any]) -> tuple[str, str] | None:
        if properties.get("token") != self.token:
            return "properties.token", "'properties.token' does not match the project"
        if not isinstance(properties.get("time"), int | float):
            return "properties.time", "'properties.time' is invalid: must be specified as seconds since epoch"
        if not properties.get("$insert_id") or len(str(properties["$insert_id"])) > 36:
            return "properties.$insert_id", "'properties.$insert_id' is required, at most 36 characters"
        if event.get("event") in self.reject_names:
            return "event", f"event name {event.get('event')!r} is blocked by the project's data governance"
        return None

    @route("POST", r"/engage")
    def engage(self, request: StubRequest) -> Reply:
        form = request.body if isinstance(request.body, dict) else {}
        try:
            updates = json.loads(form.get("data", "[]"))
        except ValueError:
            return 200, {"status": 0, "error": "data, missing or empty"}
        for update in updates:
            if update.get("$token") != self.token:
                return 200, {"status": 0, "error": "$token, invalid token"}
        for update in updates:
            self.profiles[update["$distinct_id"]].update(update.get("$set", {}))
        return 200, {"status": 1, "error": None}

    @route("POST", r"/api/app/data-deletions/v3\.0/")
    def create_deletion(self, request: StubRequest) -> Reply:
        if not self.bearer(request):
            return 401, {"status": "error", "error": "Unauthorized"}
        body = request.body if isinstance(request.body, dict) else {}
        if request.query.get("token") != self.token or not body.get("distinct_ids"):
            return 400, {"status": "error", "error": "token and distinct_ids are required"}
        task_id = str(uuid.uuid4())
        self.deletions.append({**body, "task_id": task_id})
        return 200, {"status": "ok", "results": {"task_id": task_id}}

    def names(self) -> list[str]:
        return [e["event"] for e in self.ingested]
