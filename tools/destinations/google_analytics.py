"""Google Analytics 4 over the Measurement Protocol (httpx: Google publishes no server-side Python SDK
for it), erasure through the Google Analytics User Deletion API.

Config: `token` is the stream's Measurement Protocol API secret; `options.measurement_id` (G-XXXX)
is required; `options.property_id` (the numeric GA4 property) and `options.deletion_token` (an OAuth
access token with the `analytics.user.deletion` scope) are needed for erasure. `base_url` defaults
to https://www.google-analytics.com (EU collection: https://region1.google-analytics.com);
`options.deletion_base_url` to https://www.googleapis.com.

What GA4 cannot do, said plainly:
- `/mp/collect` answers 2xx whatever it receives and drops malformed events silently, so events are
  checked here against the documented limits first (name, parameter count and lengths, the 72-hour
  backdating window) and reported failed/skipped instead of vanishing; `test_connection` uses the
  validation server `/debug/mp/collect` (which, by Google's own note, does not check the secret);
- there is no event id to deduplicate on: a re-send is counted twice, so callers send once;
- there is no profile call: user properties only ride along events, so `push` skips;
- the Measurement Protocol has no delete. The User Deletion API (`userDeletionRequests:upsert`)
  deletes by USER_ID and by CLIENT_ID; both are the pseudonym here, so both are requested.
  Its quota is 500 requests a day per Cloud project.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from tools.destinations.analytics import (
    ANALYTICS_MAPPING,
    AnalyticsDestination,
    SendFailure,
    epoch_millis,
    option,
    result,
    utc,
)
from tools.destinations.base import AnalyticsEvent, ConnectionStatus, RecordOutcome, RecordResult
from tools.destinations.config import DestinationConfig, DestinationConfigError
from tools.destinations.http import VendorHTTPError, batched

DEFAULT_MAPPING = ANALYTICS_MAPPING

# https://developers.google.com/analytics/devguides/collection/protocol/ga4/sending-events#limitations
MAX_EVENTS_PER_REQUEST = 25
MAX_PARAMS = 25
MAX_PARAM_NAME = 40
MAX_PARAM_VALUE = 100
BACKDATING_WINDOW = timedelta(hours=72)
_EVENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
_RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")


class GoogleAnalytics(AnalyticsDestination):
    platform = "google_analytics"
    event_batch_limit = 1000  # events taken at a time; they leave per user, MAX_EVENTS_PER_REQUEST a request
    no_profile_reason = "GA4 has no profile call: the Measurement Protocol sets user properties only alongside events"
    dedupes_resends = False
    default_base_url = "https://www.google-analytics.com"
    default_deletion_base_url = "https://www.googleapis.com"
    deletion_id_types: ClassVar[tuple[str, ...]] = ("USER_ID", "CLIENT_ID")

    def __init__(self, config: DestinationConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(config, sleep=sleep)
        self.measurement_id = option(config, "measurement_id")
        if not self.measurement_id:
            raise DestinationConfigError(f"{config.label}: options.measurement_id (G-XXXXXXX) is required for GA4")
        self.property_id = option(config, "property_id")
        self.collect = self.http(self.base_url)
        self.params = {"measurement_id": self.measurement_id, "api_secret": self.token}

    def test_connection(self) -> ConnectionStatus:
        body = {"client_id": "cmo-connection-test", "events": [{"name": "cmo_connection_test", "params": {}}]}
        try:
            answer = self.collect.request("POST", "/debug/mp/collect", params=self.params, json=body).json()
        except (VendorHTTPError, ValueError) as exc:
            return ConnectionStatus(ok=False, detail=f"GA4 validation server: {exc}")
        messages = answer.get("validationMessages", []) if isinstance(answer, dict) else ["unreadable answer"]
        if messages:
            return ConnectionStatus(ok=False, detail=f"GA4 validation server: {messages[0]}")
        return ConnectionStatus(ok=True, detail="GA4 validation server accepts the payload (it does not check the API secret)")

    def _send_events(self, events: list[AnalyticsEvent]) -> list[RecordResult]:
        """Requests per user (a request carries one client_id) of at most 25 events; invalid events
        reported, not sent; a refused request fails its own events only. Results in input order."""
        results: dict[int, RecordResult] = {}
        by_user: dict[str, list[int]] = defaultdict(list)
        now = datetime.now(UTC)
        for index, event in enumerate(events):
            problem = _problem(event, now)
            if problem:
                outcome: RecordOutcome = "skipped" if problem.startswith("older") else "failed"
                results[index] = result(event.user_id, outcome, self.event_id(event), f"{event.name}: {problem}")
            else:
                by_user[event.user_id].append(index)
        for prospect_id, indexes in by_user.items():
            pseudonym = self.user_id(prospect_id)
            for chunk in batched(indexes, MAX_EVENTS_PER_REQUEST):
                body = {"client_id": pseudonym, "user_id": pseudonym, "events": [_ga_event(events[i]) for i in chunk]}
                try:
                    self.collect.request("POST", "/mp/collect", params=self.params, json=body)
                    outcome, detail = "created", ""
                except SendFailure as exc:
                    outcome, detail = "failed", f"{self.platform}: {exc}"
                for i in chunk:
                    results[i] = result(prospect_id, outcome, self.event_id(events[i]), detail or events[i].name)
        return [results[i] for i in range(len(events))]

    def _request_deletion(self, user_id: str) -> tuple[list[str], str]:
        if not self.property_id:
            raise VendorHTTPError(0, "options.property_id (the numeric GA4 property id) is not set")
        received = []
        for id_type in self.deletion_id_types:
            body = {
                "kind": "analytics#userDeletionRequest",
                "id": {"type": id_type, "userId": user_id},
                "propertyId": self.property_id,
            }
            answer = self.deletion_call("/analytics/v3/userDeletion/userDeletionRequests:upsert", body)
            received.append(f"{id_type} at {answer.get('deletionRequestTime', '?')}")
        return [user_id], f"GA4 property {self.property_id}: deletion requested for " + ", ".join(received)


def _problem(event: AnalyticsEvent, now: datetime) -> str:
    """Why GA4 would silently drop this event, or ''."""
    if not _EVENT_NAME.fullmatch(event.name) or event.name.startswith(_RESERVED_PREFIXES):
        return "GA4 event names are up to 40 letters, digits or underscores, starting with a letter, no reserved prefix"
    if len(event.properties) > MAX_PARAMS:
        return f"more than {MAX_PARAMS} parameters"
    for name, value in event.properties.items():
        if len(name) > MAX_PARAM_NAME or (isinstance(value, str) and len(value) > MAX_PARAM_VALUE):
            return f"parameter {name[:40]!r}: names are up to {MAX_PARAM_NAME} and values up to {MAX_PARAM_VALUE} characters"
    if now - utc(event.occurred_at) > BACKDATING_WINDOW:
        return "older than GA4's 72-hour backdating window"
    return ""


def _ga_event(event: AnalyticsEvent) -> dict[str, object]:
    params = {name: value for name, value in event.properties.items() if value is not None}
    return {"name": event.name, "params": params, "timestamp_micros": epoch_millis(event.occurred_at) * 1000}


def create(config: DestinationConfig) -> GoogleAnalytics:
    return GoogleAnalytics(config)
