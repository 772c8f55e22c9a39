"""What the analytics connectors (GA4, Mixpanel, Amplitude, Segment) share.

Analytics platforms receive engagement events (demo_booked, trial_started, contact_made, replied...)
and, where the platform has a profile call, the traits the mapping names. Rules that hold for all:

- the person is a pseudonym: the prospect id is `gh_<login>`, which names the person, so what leaves
  is `cmo_` + HMAC-SHA256(`options.pseudonym_key`, prospect id) (GDPR Art. 4(5): the key stays with
  us; the same key across destinations lets their data be joined, erasure recomputes it). No email,
  no login, unless the mapping names them as traits (the default mapping below names neither);
- every event carries an insert id derived from (pseudonym, event, time), so a re-send after a
  timeout or a re-sync is the same event to vendors that deduplicate on it (Mixpanel `$insert_id`,
  Amplitude `insert_id`, Segment `messageId`); GA4's Measurement Protocol has no such id;
- erasure asks the vendor's GDPR deletion API to delete the pseudonym, with a second credential and
  host in `options` (`deletion_token`, `deletion_base_url`): at every one of these vendors deletion
  is a separate API with its own key.

Subclasses say how to send one batch and how to request one deletion; batching to the vendor's cap,
per-record results and failures that never abort the rest live here.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import httpx

from tools.destinations.base import (
    AnalyticsEvent,
    ConflictPolicy,
    DestinationContact,
    DestinationKind,
    FieldValue,
    ForgetResult,
    PushReport,
    RecordOutcome,
    RecordResult,
    RemoteChange,
)
from tools.destinations.config import DestinationConfig, DestinationConfigError
from tools.destinations.http import DestinationHTTP, VendorHTTPError, batched
from tools.destinations.mapping import FieldMapping

T = TypeVar("T")

# Traits an analytics profile gets by default: enough to segment engagement by company, place and
# fit, nothing that names the person (GDPR Art. 5(1)(c)); a mapping may add more, email included.
ANALYTICS_MAPPING = FieldMapping(
    custom={
        "company": "company",
        "country": "country",
        "cmo_score": "score",
        "cmo_signals": "signals",
        "cmo_source": "source",
        "cmo_lawful_basis": "lawful_basis",
    }
)
_INSERT_ID_NAMESPACE = uuid.UUID("8f4d0c52-6d0e-4f43-9a55-0f7d2a1c9e31")
SendFailure = (VendorHTTPError, httpx.HTTPError, ValueError)  # refused, unreachable, or an unreadable answer


def contact_traits(contact: DestinationContact) -> dict[str, FieldValue]:
    """Only what the mapping rendered: `contact.email` itself is never read here."""
    return {**contact.fields, **contact.custom}


def utc(moment: datetime) -> datetime:
    """Naive times are UTC (the project stores UTC), never the host's local zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def epoch_millis(moment: datetime) -> int:
    return int(utc(moment).timestamp() * 1000)


def option(config: DestinationConfig, key: str, default: str = "") -> str:
    """An `options` value; `env:NAME` reads the environment like the main token does."""
    value = config.options.get(key, default)
    if not value.startswith("env:"):
        return value
    variable = value.removeprefix("env:")
    resolved = os.environ.get(variable, "")
    if not resolved:
        raise DestinationConfigError(f"{config.label}: options.{key} is env:{variable} but {variable} is not set")
    return resolved


def result(prospect_id: str, outcome: RecordOutcome, remote_id: str | None = None, detail: str = "") -> RecordResult:
    return RecordResult(prospect_id=prospect_id, outcome=outcome, remote_id=remote_id, detail=detail[:300])


class AnalyticsDestination:
    """The `Destination` protocol for analytics platforms. Subclasses set the class variables and
    implement `_send_events`, `_send_profiles` (when the platform has a profile call),
    `_request_deletion` and `test_connection`."""

    kind: DestinationKind = "analytics"
    platform: ClassVar[str]
    event_batch_limit: ClassVar[int]  # the vendor's documented cap on events per request
    profile_batch_limit: ClassVar[int] = 0  # 0: the platform has no profile call
    no_profile_reason: ClassVar[str] = ""
    dedupes_resends: ClassVar[bool] = True
    default_base_url: ClassVar[str]
    default_deletion_base_url: ClassVar[str]

    def __init__(self, config: DestinationConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.name = config.label
        self.token = config.resolved_token()
        self.base_url = (config.base_url or self.default_base_url).rstrip("/")
        self.deletion_base_url = option(config, "deletion_base_url", self.default_deletion_base_url).rstrip("/")
        self.deletion_token = option(config, "deletion_token")
        key = option(config, "pseudonym_key")
        if not key:
            raise DestinationConfigError(
                f"{config.label}: options.pseudonym_key is required (a secret; env:NAME reads it): "
                "analytics destinations receive HMAC pseudonyms, never the gh_<login> prospect id"
            )
        self._pseudonym_key = key.encode()
        self.sleep = sleep

    def user_id(self, prospect_id: str) -> str:
        """The pseudonym the vendor knows this prospect by (32 hex digits: 128 bits). Lowercased
        first: GitHub logins compare case-insensitively, and erasure must find what was sent."""
        digest = hmac.new(self._pseudonym_key, prospect_id.lower().encode(), hashlib.sha256).hexdigest()
        return "cmo_" + digest[:32]

    def event_id(self, event: AnalyticsEvent) -> str:
        """The same (person, event, time) always yields the same 36-character id (Mixpanel's cap)."""
        seed = f"{self.user_id(event.user_id)}\x1f{event.name}\x1f{utc(event.occurred_at).isoformat()}"
        return str(uuid.uuid5(_INSERT_ID_NAMESPACE, seed))

    def profile_id(self, contact: DestinationContact) -> str:
        """An identify message's id: the same traits re-sent are the same message."""
        seed = f"{self.user_id(contact.prospect_id)}\x1f{sorted(contact_traits(contact).items())!r}"
        return str(uuid.uuid5(_INSERT_ID_NAMESPACE, seed))

    def http(self, base_url: str, headers: dict[str, str] | None = None) -> DestinationHTTP:
        """A client with the shared policy: pacing to the config's rate, Retry-After, backoff."""
        return DestinationHTTP(
            base_url, headers=headers or {}, rate_limit_per_second=self.config.rate_limit_per_second, sleep=self.sleep
        )

    def deletion_call(
        self, path: str, body: dict[str, Any], *, params: dict[str, str] | None = None, auth: tuple[str, str] | None = None
    ) -> dict[str, Any]:
        """POST to the vendor's deletion API (bearer `deletion_token`, or Basic `auth`); its JSON answer."""
        headers = {} if auth else {"Authorization": f"Bearer {self.deletion_token}"}
        api = self.http(self.deletion_base_url, headers)
        try:
            answer = api.request("POST", path, params=params, json=body, auth=auth).json()
        finally:
            api.close()
        return answer if isinstance(answer, dict) else {"items": answer}

    # --- the protocol ---------------------------------------------------------------------------
    def push(self, contacts: Sequence[DestinationContact], *, list_name: str | None, policy: ConflictPolicy) -> PushReport:
        """Profile traits for the mapped fields (analytics has no lists, no conflicts: the
        latest traits are the profile). Platforms without a profile call skip every contact."""
        report = PushReport(destination=self.name)
        if not self.profile_batch_limit:
            report.results = [result(c.prospect_id, "skipped", detail=self.no_profile_reason) for c in contacts]
            return report
        bare = [c for c in contacts if not contact_traits(c)]
        report.results = [result(c.prospect_id, "skipped", detail="the mapping rendered no traits") for c in bare]
        with_traits = [c for c in contacts if contact_traits(c)]
        report.results += self._in_batches(with_traits, self.profile_batch_limit, self._send_profiles, lambda c: c.prospect_id)
        position = {c.prospect_id: i for i, c in enumerate(contacts)}
        report.results.sort(key=lambda r: position.get(r.prospect_id, len(position)))  # the input's order
        return report

    def pull_changes(self, since: datetime) -> list[RemoteChange]:
        """Analytics platforms are where engagement goes, not where it comes from."""
        return []

    def track(self, events: Sequence[AnalyticsEvent]) -> list[RecordResult]:
        return self._in_batches(list(events), self.event_batch_limit, self._send_events, lambda e: e.user_id)

    def forget(self, *, email: str | None, github_url: str | None, prospect_id: str) -> ForgetResult:
        """Delete the pseudonym: the only identifier these destinations ever received (an email a
        mapping sent as a trait lives on that same profile, so it goes with it)."""
        if not self.deletion_token:
            return ForgetResult(
                destination=self.name, outcome="failed", detail=f"{self.platform}: options.deletion_token is not set"
            )
        try:
            remote_ids, detail = self._request_deletion(self.user_id(prospect_id))
        except SendFailure as exc:
            return ForgetResult(destination=self.name, outcome="failed", detail=f"{self.platform}: {exc}"[:300])
        return ForgetResult(destination=self.name, remote_ids=remote_ids, outcome="gdpr_delete_requested", detail=detail)

    # --- what subclasses implement ----------------------------------------------------------------
    def _send_events(self, events: list[AnalyticsEvent]) -> list[RecordResult]:
        raise NotImplementedError

    def _send_profiles(self, contacts: list[DestinationContact]) -> list[RecordResult]:
        raise NotImplementedError

    def _request_deletion(self, user_id: str) -> tuple[list[str], str]:
        """Ask for the pseudonym's deletion: (the vendor's ids for the request, a line for the record)."""
        raise NotImplementedError

    # --- shared mechanics ---------------------------------------------------------------------------
    def _in_batches(
        self, items: list[T], limit: int, send: Callable[[list[T]], list[RecordResult]], key: Callable[[T], str]
    ) -> list[RecordResult]:
        """Batches no larger than the vendor's cap or the config's `batch_size`; a batch that fails
        after the retries marks its own records failed and the next batch still goes."""
        results: list[RecordResult] = []
        for batch in batched(items, min(limit, self.config.batch_size)):
            try:
                results += send(batch)
            except SendFailure as exc:
                results += [result(key(item), "failed", detail=f"{self.platform}: {exc}") for item in batch]
        return results
