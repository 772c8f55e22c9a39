"""Mixpanel through its maintained SDK (`mixpanel`), erasure through Mixpanel's GDPR API v3.

The SDK builds the messages (token, `distinct_id`, time, `$insert_id`, library properties) and hands
them to a consumer, its documented extension point. Ours keeps them, and they leave through the
shared HTTP policy: the SDK's own consumers retry 5xx only, ignore Retry-After, and raise on a
partial failure without saying which events failed, where `/import?strict=1` names every one.

Config: `token` is the project token (the payload's `token`, and the Basic-auth username `/import`
accepts); `base_url` defaults to https://api.mixpanel.com (EU: https://api-eu.mixpanel.com);
`options.deletion_token` is a GDPR API OAuth token (one year, from Profile & Preferences > Data &
Privacy) and `options.deletion_base_url` defaults to https://mixpanel.com (EU: https://eu.mixpanel.com).

- events go to `/import` (any age, up to 2000 a request, deduplicated on `$insert_id`);
- profiles to `/engage` with `$set`, 50 a request (the SDK's BufferedConsumer cap);
- erasure: `POST /api/app/data-deletions/v3.0/?token=...` deletes the distinct_id's events and
  profile; the task id is recorded. Mixpanel processes deletions within weeks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from mixpanel import Mixpanel

from tools.destinations.analytics import ANALYTICS_MAPPING, AnalyticsDestination, contact_traits, epoch_millis, result
from tools.destinations.base import AnalyticsEvent, ConnectionStatus, DestinationContact, RecordResult
from tools.destinations.config import DestinationConfig
from tools.destinations.http import VendorHTTPError

DEFAULT_MAPPING = ANALYTICS_MAPPING
JSON = {"Content-Type": "application/json"}
SDK_PROPERTIES = frozenset({"token", "distinct_id", "time", "$insert_id"})  # the SDK sets them; a property must not override


class _Kept:
    """A Mixpanel consumer that keeps the SDK's messages instead of sending them. One per batch, so
    concurrent calls (a sync and forwarded events) never share a buffer."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def send(self, endpoint: str, json_message: str, api_key: object = None, api_secret: object = None) -> None:
        self.messages.append(json_message)

    def array(self) -> str:
        """The kept messages as one JSON array (how the SDK's BufferedConsumer joins them)."""
        return "[" + ",".join(self.messages) + "]"


class MixpanelDestination(AnalyticsDestination):
    platform = "mixpanel"
    event_batch_limit = 2000
    profile_batch_limit = 50
    default_base_url = "https://api.mixpanel.com"
    default_deletion_base_url = "https://mixpanel.com"

    def __init__(self, config: DestinationConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(config, sleep=sleep)
        self.api = self.http(self.base_url)

    def test_connection(self) -> ConnectionStatus:
        """An empty `/import` batch: Mixpanel authenticates the project token and records nothing."""
        try:
            self._import("[]")
        except VendorHTTPError as exc:
            return ConnectionStatus(ok=False, detail=f"Mixpanel /import: {exc}")
        return ConnectionStatus(ok=True, detail="Mixpanel accepts the project token")

    def _send_events(self, events: list[AnalyticsEvent]) -> list[RecordResult]:
        kept = _Kept()
        sdk = Mixpanel(self.token, consumer=kept)
        for event in events:
            properties = {k: v for k, v in event.properties.items() if k not in SDK_PROPERTIES and v is not None}
            properties["$insert_id"] = self.event_id(event)
            sdk.import_data(None, self.user_id(event.user_id), event.name, epoch_millis(event.occurred_at), properties)
        answer = self._import(kept.array())
        if answer.get("code", 200) == 200:
            return [result(e.user_id, "created", self.event_id(e), e.name) for e in events]
        failed = {record.get("index"): record for record in answer.get("failed_records") or []}
        if not failed:  # the whole batch was refused
            return [result(e.user_id, "failed", self.event_id(e), str(answer.get("error", ""))) for e in events]
        return [
            result(e.user_id, "failed", self.event_id(e), f"{failed[i].get('field', '')}: {failed[i].get('message', '')}")
            if i in failed
            else result(e.user_id, "created", self.event_id(e), e.name)
            for i, e in enumerate(events)
        ]

    def _import(self, body: str) -> dict[str, Any]:
        """`/import?strict=1`: a 400 is a partial success whose body names the failed records."""
        response = self.api.request(
            "POST", "/import", params={"strict": "1"}, content=body, headers=JSON, auth=(self.token, ""), ok=frozenset({400})
        )
        answer = response.json()
        return answer if isinstance(answer, dict) else {}

    def _send_profiles(self, contacts: list[DestinationContact]) -> list[RecordResult]:
        kept = _Kept()
        sdk = Mixpanel(self.token, consumer=kept)
        for contact in contacts:
            sdk.people_set(self.user_id(contact.prospect_id), contact_traits(contact))
        answer = self.api.request("POST", "/engage", data={"data": kept.array(), "verbose": "1"}).json()
        if answer.get("status") == 1:
            return [result(c.prospect_id, "updated", self.user_id(c.prospect_id)) for c in contacts]
        return [result(c.prospect_id, "failed", detail=f"Mixpanel /engage: {answer.get('error')}") for c in contacts]

    def _request_deletion(self, user_id: str) -> tuple[list[str], str]:
        body = {"distinct_ids": [user_id], "compliance_type": "GDPR"}
        answer = self.deletion_call("/api/app/data-deletions/v3.0/", body, params={"token": self.token})
        task_id = str((answer.get("results") or {}).get("task_id", ""))
        return [task_id] if task_id else [], f"Mixpanel GDPR deletion task {task_id or '(no id returned)'}"


def create(config: DestinationConfig) -> MixpanelDestination:
    return MixpanelDestination(config)
