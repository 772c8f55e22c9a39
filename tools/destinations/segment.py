"""Segment through its maintained SDK (`segment-analytics-python`), erasure through the Segment Public
API's regulations (SUPPRESS_WITH_DELETE).

The SDK builds and checks every message (`track`, `identify`: `messageId`, ISO timestamp, library
context, its 32 KB per-message cap) with sending off, and its `post()` uploads them to the host we
name. The retries around `post()` are the shared policy (pacing, Retry-After, backoff) instead of
the SDK's consumer thread, so every record has its result before `track` returns.

Config: `token` is the source's write key; `base_url` defaults to https://api.segment.io (EU:
https://events.eu1.segmentapis.com); `options.deletion_token` is a Public API token with
`Workspace Owner` rights and `options.deletion_base_url` defaults to https://api.segmentapis.com
(EU: https://eu1.api.segmentapis.com).

- `/v1/batch` takes at most 500 KB a request (the SDK keeps under 475,000 bytes, so do we) and is
  all-or-nothing: a 400 fails its whole batch;
- Segment deduplicates on `messageId`, which is the stable event id here;
- the Tracking API answers 200 to an unknown write key, so `test_connection` can only prove the host
  answers; it also checks the Public API token when one is configured;
- erasure: `POST /regulations` (workspace scope) with SUPPRESS_WITH_DELETE for the pseudonymous
  userId deletes it in Segment and forwards the deletion to destinations that support it, and
  suppresses new data for it; the regulation id is recorded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests
from segment.analytics.client import Client
from segment.analytics.consumer import BATCH_SIZE_LIMIT
from segment.analytics.request import APIError, DatetimeSerializer, post

from tools.destinations.analytics import ANALYTICS_MAPPING, AnalyticsDestination, contact_traits, result, utc
from tools.destinations.base import AnalyticsEvent, ConnectionStatus, DestinationContact, RecordOutcome, RecordResult
from tools.destinations.config import DestinationConfig
from tools.destinations.http import RETRYABLE_STATUSES, Pacer, RetryLater, VendorHTTPError, retry_after_seconds, with_retries

DEFAULT_MAPPING = ANALYTICS_MAPPING
Message = tuple[int, str, str, str, dict[str, Any]]  # input index, prospect id, remote id, label, the SDK's message


def _classify(exc: Exception) -> None:
    if isinstance(exc, APIError) and exc.status in RETRYABLE_STATUSES:
        headers = exc.response.headers if exc.response is not None else {}
        raise RetryLater(retry_after_seconds(headers.get("Retry-After")))
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        raise RetryLater(None)


class SegmentDestination(AnalyticsDestination):
    platform = "segment"
    event_batch_limit = 1000
    profile_batch_limit = 1000
    default_base_url = "https://api.segment.io"
    default_deletion_base_url = "https://api.segmentapis.com"

    def __init__(self, config: DestinationConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(config, sleep=sleep)
        self.sdk = Client(self.token, host=self.base_url, send=False, sync_mode=True)
        self.pacer = Pacer(config.rate_limit_per_second, sleep)

    def test_connection(self) -> ConnectionStatus:
        try:
            self._post([])
            if self.deletion_token:
                api = self.http(self.deletion_base_url, {"Authorization": f"Bearer {self.deletion_token}"})
                try:
                    workspace = api.request("GET", "/").json().get("data", {}).get("workspace", {})
                finally:
                    api.close()
                return ConnectionStatus(ok=True, detail=f"Segment answers; Public API workspace {workspace.get('slug', '?')}")
        except VendorHTTPError as exc:
            return ConnectionStatus(ok=False, detail=f"Segment: {exc}")
        return ConnectionStatus(ok=True, detail="Segment answers (its Tracking API accepts any write key: check the debugger)")

    def _send_events(self, events: list[AnalyticsEvent]) -> list[RecordResult]:
        def build(event: AnalyticsEvent) -> dict[str, Any]:
            _, message = self.sdk.track(
                user_id=self.user_id(event.user_id),
                event=event.name,
                properties={k: v for k, v in event.properties.items() if v is not None},
                timestamp=utc(event.occurred_at),
                message_id=self.event_id(event),
            )
            return message

        return self._deliver([(e.user_id, self.event_id(e), e.name, e) for e in events], build, "created")

    def _send_profiles(self, contacts: list[DestinationContact]) -> list[RecordResult]:
        def build(contact: DestinationContact) -> dict[str, Any]:
            _, message = self.sdk.identify(
                user_id=self.user_id(contact.prospect_id), traits=contact_traits(contact), message_id=self.profile_id(contact)
            )
            return message

        items = [(c.prospect_id, self.user_id(c.prospect_id), "identify", c) for c in contacts]
        return self._deliver(items, build, "updated")

    def _deliver(
        self, items: list[tuple[str, str, str, Any]], build: Callable[[Any], dict[str, Any]], success: RecordOutcome
    ) -> list[RecordResult]:
        """Messages the SDK refuses (too large) fail alone; the rest go in batches under 500 KB.
        Results in input order."""
        results: dict[int, RecordResult] = {}
        messages: list[Message] = []
        for index, (prospect_id, remote_id, label, item) in enumerate(items):
            try:
                messages.append((index, prospect_id, remote_id, label, build(item)))
            except (RuntimeError, AssertionError) as exc:  # the SDK's size and type checks
                results[index] = result(prospect_id, "failed", remote_id, f"{label}: {exc}")
        for batch in _by_size(messages):
            try:
                self._post([message for *_, message in batch])
                outcome, failure = success, ""
            except VendorHTTPError as exc:
                outcome, failure = "failed", f": {exc}"
            for index, prospect_id, remote_id, label, _ in batch:
                results[index] = result(prospect_id, outcome, remote_id, label + failure)
        return [results[i] for i in range(len(items))]

    def _post(self, batch: list[dict[str, Any]]) -> None:
        try:
            with_retries(lambda: post(self.token, self.base_url, batch=batch), _classify, pacer=self.pacer, sleep=self.sleep)
        except APIError as exc:
            raise VendorHTTPError(int(exc.status), str(exc.message)[:200]) from None
        except requests.RequestException as exc:
            raise VendorHTTPError(0, str(exc)[:200]) from None

    def _request_deletion(self, user_id: str) -> tuple[list[str], str]:
        body = {"regulationType": "SUPPRESS_WITH_DELETE", "subjectType": "USER_ID", "subjectIds": [user_id]}
        regulate_id = str(self.deletion_call("/regulations", body).get("data", {}).get("regulateId", ""))
        return [
            regulate_id
        ] if regulate_id else [], f"Segment regulation {regulate_id or '(no id returned)'} (SUPPRESS_WITH_DELETE)"


def _by_size(messages: list[Message]) -> Iterator[list[Message]]:
    """Consecutive messages whose JSON stays under the SDK's batch limit."""
    batch: list[Message] = []
    size = 0
    for message in messages:
        length = len(json.dumps(message[4], cls=DatetimeSerializer).encode())
        if batch and size + length >= BATCH_SIZE_LIMIT:
            yield batch
            batch, size = [], 0
        batch.append(message)
        size += length
    if batch:
        yield batch


def create(config: DestinationConfig) -> SegmentDestination:
    return SegmentDestination(config)
