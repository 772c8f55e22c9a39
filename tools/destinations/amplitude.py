"""Amplitude through its maintained SDK (`amplitude-analytics`), erasure through the User Privacy API.

The SDK's event classes build the HTTP V2 bodies (`BaseEvent`, and `Identify`/`IdentifyEvent` for
profile traits, which Amplitude takes as `$identify` events with `$set`), and its `Response` reads
Amplitude's answers (which events were invalid, silenced, throttled). The SDK's client itself sends
from background threads, re-queues throttled events for 30 s, and reports through callbacks after
`flush()` returns, so the requests go out through the shared HTTP policy instead and every record
gets its result before `track` returns.

Config: `token` is the project API key; `base_url` defaults to https://api2.amplitude.com (EU:
https://api.eu.amplitude.com); `options.deletion_token` is the project's secret key (the User
Privacy API authenticates with API key:secret key) and `options.deletion_base_url` defaults to
https://amplitude.com (EU: https://analytics.eu.amplitude.com).

Amplitude's documented retry rules are followed: up to 2000 events a request; `insert_id` on every
event (deduplicated for 7 days, so retries and re-syncs are safe); 429 and 5xx retried with backoff;
a 400 that lists rejected events ingested none, so those are reported failed and the rest re-sent;
a 413 halves the batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from amplitude import BaseEvent, Identify, IdentifyEvent
from amplitude.constants import SDK_LIBRARY, SDK_VERSION
from amplitude.http_client import HttpStatus, Response

from tools.destinations.analytics import ANALYTICS_MAPPING, AnalyticsDestination, contact_traits, epoch_millis, result
from tools.destinations.base import AnalyticsEvent, ConnectionStatus, DestinationContact, RecordOutcome, RecordResult
from tools.destinations.config import DestinationConfig
from tools.destinations.http import VendorHTTPError

DEFAULT_MAPPING = ANALYTICS_MAPPING
LIBRARY = f"{SDK_LIBRARY}/{SDK_VERSION}"
INVALID_KEY = "Invalid API key"  # how Amplitude words a refused key (the SDK's ResponseProcessor tests the same prefix)


@dataclass(frozen=True)
class _Outgoing:
    """One event body and whose it is, for the per-record result."""

    prospect_id: str
    remote_id: str
    label: str
    body: dict[str, object]


class AmplitudeDestination(AnalyticsDestination):
    platform = "amplitude"
    event_batch_limit = 2000
    profile_batch_limit = 2000
    default_base_url = "https://api2.amplitude.com"
    default_deletion_base_url = "https://amplitude.com"

    def __init__(self, config: DestinationConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(config, sleep=sleep)
        self.api = self.http(self.base_url)

    def test_connection(self) -> ConnectionStatus:
        """An upload without events: Amplitude names a refused key before it complains of no events."""
        try:
            answer = self._upload([])
        except VendorHTTPError as exc:
            return ConnectionStatus(ok=False, detail=f"Amplitude HTTP V2 API: {exc}")
        if answer.error.startswith(INVALID_KEY):
            return ConnectionStatus(ok=False, detail=f"Amplitude: {answer.error[:200]}")
        return ConnectionStatus(ok=True, detail="Amplitude accepts the API key")

    def _send_events(self, events: list[AnalyticsEvent]) -> list[RecordResult]:
        outgoing = [
            _Outgoing(
                e.user_id,
                self.event_id(e),
                e.name,
                _body(
                    BaseEvent(
                        event_type=e.name,
                        user_id=self.user_id(e.user_id),
                        time=epoch_millis(e.occurred_at),
                        insert_id=self.event_id(e),
                        event_properties={k: v for k, v in e.properties.items() if v is not None},
                    )
                ),
            )
            for e in events
        ]
        return self._deliver(outgoing, "created")

    def _send_profiles(self, contacts: list[DestinationContact]) -> list[RecordResult]:
        outgoing = []
        for contact in contacts:
            identify = Identify()
            for trait, value in contact_traits(contact).items():
                identify.set(trait, value)
            event = IdentifyEvent(
                user_id=self.user_id(contact.prospect_id),
                user_properties=identify.user_properties,
                insert_id=self.profile_id(contact),
            )
            outgoing.append(_Outgoing(contact.prospect_id, self.user_id(contact.prospect_id), "$identify", _body(event)))
        return self._deliver(outgoing, "updated")

    def _deliver(self, outgoing: list[_Outgoing], success: RecordOutcome) -> list[RecordResult]:
        answer = self._upload([item.body for item in outgoing])
        if answer.status == HttpStatus.SUCCESS:
            return [result(item.prospect_id, success, item.remote_id, item.label) for item in outgoing]
        if answer.status == HttpStatus.PAYLOAD_TOO_LARGE and len(outgoing) > 1:
            half = len(outgoing) // 2
            return self._deliver(outgoing[:half], success) + self._deliver(outgoing[half:], success)
        rejected = answer.invalid_or_silenced_index() if answer.status == HttpStatus.INVALID_REQUEST else set()
        if rejected and not answer.missing_field and len(rejected) < len(outgoing):
            resent = iter(self._deliver([item for i, item in enumerate(outgoing) if i not in rejected], success))
            return [
                result(item.prospect_id, "failed", item.remote_id, f"{item.label}: {answer.error}")
                if i in rejected
                else next(resent)
                for i, item in enumerate(outgoing)
            ]
        detail = answer.error or f"HTTP {answer.code}"
        return [result(item.prospect_id, "failed", item.remote_id, f"{item.label}: {detail}") for item in outgoing]

    def _upload(self, bodies: list[dict[str, object]]) -> Response:
        """POST /2/httpapi; 400 and 413 come back for `_deliver` to read, 429/5xx are retried."""
        response = self.api.request(
            "POST", "/2/httpapi", json={"api_key": self.token, "events": bodies}, ok=frozenset({400, 413})
        )
        answer = Response()
        try:
            answer.body = response.json() or {}
        except ValueError:
            answer.body = {"error": response.text[:200]}
        answer.code = response.status_code
        answer.status = Response.get_status(response.status_code)
        return answer

    def _request_deletion(self, user_id: str) -> tuple[list[str], str]:
        body = {"user_ids": [user_id], "requester": "cmo-agent erasure", "ignore_invalid_id": "True"}
        answer = self.deletion_call("/api/2/deletions/users", body, auth=(self.token, self.deletion_token))
        return [user_id], f"Amplitude deletion job for {answer.get('day', '?')}, status {answer.get('status', '?')}"


def _body(event: BaseEvent) -> dict[str, object]:
    """The event as the SDK serialises it, with the library tag its context plugin would add."""
    event.library = LIBRARY
    return dict(event.get_event_body())


def create(config: DestinationConfig) -> AmplitudeDestination:
    return AmplitudeDestination(config)
