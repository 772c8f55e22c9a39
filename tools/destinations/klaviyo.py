"""Klaviyo through its maintained SDK, `klaviyo-api` (`KlaviyoAPI(test_host=...)` is the base-URL
override). The SDK's own retry is turned off (`max_retries=1`) so the project's policy applies:
`with_retries` paces calls at `rate_limit_per_second` (Klaviyo's profile endpoints: 75/s burst,
700/min steady; deletion jobs 3/s) and retries 429/5xx after `Retry-After` or with backoff.

- push: profiles looked up with `GET /api/profiles?filter=any(email,[...])`, then
  `any(external_id,[...])` for the rest (the GitHub URL is the profile's `external_id`, Klaviyo's
  field for an id in another system, unless `options.github_url_field` names something else, in
  which case only email identifies a profile); one `POST /api/profile-import` per changed profile
  (create or update; custom fields go in `properties`);
- list: `GET /api/lists?filter=equals(name,...)`, created with `POST /api/lists`, members added
  with `POST /api/lists/{id}/relationships/profiles` (1,000 a call);
- pull: profiles `greater-than(updated, since)` with `additional-fields[profile]=subscriptions`,
  cursor-paged (`links.next`): email marketing consent UNSUBSCRIBED -> unsubscribed, a HARD_BOUNCE
  suppression -> bounced;
- forget: `POST /api/data-privacy-deletion-jobs` per profile id: Klaviyo's GDPR deletion, which runs
  asynchronously (outcome `gdpr_delete_requested`).

Reference: https://developers.klaviyo.com/en/reference/api_overview (revision 2026-10-15).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from klaviyo_api import KlaviyoAPI
from openapi_client.exceptions import ApiException

from tools.destinations.base import DestinationContact, DestinationKind, RemoteChange
from tools.destinations.config import DestinationConfig
from tools.destinations.contact_sync import ContactConnector, ErasureOutcome, each, usable_emails
from tools.destinations.crm import BatchOutcome, RemoteRecord, Write
from tools.destinations.http import Pacer, VendorHTTPError, batched, classify_sdk_error, with_retries
from tools.destinations.mapping import FieldMapping

DEFAULT_MAPPING = FieldMapping(
    fields={
        "email": "email",
        "external_id": "github_url",
        "first_name": "first_name",
        "last_name": "last_name",
        "organization": "company",
    },
    custom={"cmo_score": "score", "cmo_signals": "signals", "cmo_evidence": "evidence_summary", "cmo_source": "source"},
)
STANDARD = frozenset({"email", "phone_number", "external_id", "first_name", "last_name", "organization", "title", "locale"})
PAGE_SIZE = 100  # Klaviyo: filter `any` and page[size] take at most 100
LIST_BATCH = 1000


def _classify(exc: Exception) -> None:
    """The shared reading of SDK errors (429/5xx, lost connections: retried); any other
    ApiException becomes a VendorHTTPError with Klaviyo's words."""
    classify_sdk_error(exc)
    if isinstance(exc, ApiException):
        raise VendorHTTPError(int(exc.status or 0), _detail(exc)) from exc


def _detail(exc: ApiException) -> str:
    """Klaviyo's JSON:API error title and detail, bounded."""
    try:
        error = json.loads(exc.body or "{}").get("errors", [{}])[0]
    except (ValueError, AttributeError, IndexError):
        return str(exc.reason)[:200]
    return f"{error.get('title', exc.reason)}: {error.get('detail', '')}"[:200]


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Klaviyo(ContactConnector):
    kind: DestinationKind = "marketing"

    def __init__(self, config: DestinationConfig) -> None:
        self.name = config.label
        self.github_field = config.options.get("github_url_field", "external_id")
        self.batch_size = config.batch_size
        self.max_batch = PAGE_SIZE
        self.pacer = Pacer(config.rate_limit_per_second)
        sdk = KlaviyoAPI(
            config.resolved_token(),
            max_retries=1,
            test_host=(config.base_url or "").rstrip("/"),
            options={"USE_DICTIONARY_FOR_RESPONSE_DATA": True},
        )
        self.profiles, self.lists, self.privacy, self.accounts = sdk.Profiles, sdk.Lists, sdk.Data_Privacy, sdk.Accounts

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return with_retries(lambda: method(*args, **kwargs), _classify, pacer=self.pacer)

    def _profiles(self, filter_: str, **extra: Any) -> list[dict[str, Any]]:
        """Every profile matching the filter, following `links.next`."""
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = self._call(self.profiles.get_profiles, filter=filter_, page_size=PAGE_SIZE, page_cursor=cursor, **extra)
            found.extend(page.get("data", []))
            following = (page.get("links") or {}).get("next")
            if not following:
                return found
            cursor = parse_qs(urlsplit(following).query).get("page[cursor]", [""])[0]  # the SDK parses https:// links only

    def _any(self, field: str, values: Sequence[str]) -> list[dict[str, Any]]:
        return self._profiles(f"any({field},[{','.join(_quoted(v) for v in values)}])") if values else []

    @staticmethod
    def _record(profile: dict[str, Any]) -> RemoteRecord:
        attributes = profile.get("attributes", {})
        values = {**{k: v for k, v in attributes.items() if k in STANDARD}, **(attributes.get("properties") or {})}
        return RemoteRecord(
            id=str(profile["id"]), email=attributes.get("email"), github_url=attributes.get("external_id"), values=values
        )

    def find(self, contacts: Sequence[DestinationContact]) -> list[RemoteRecord]:
        profiles = self._any("email", usable_emails(contacts))
        if self.github_field == "external_id":
            profiles += self._any("external_id", [c.github_url for c in contacts])
        return [self._record(p) for p in profiles]

    def _import(self, write: Write) -> str:
        """`POST /api/profile-import`: standard attributes at the top, custom ones in `properties`."""
        attributes: dict[str, Any] = {k: v for k, v in write.values.items() if k in STANDARD}
        properties = {k: v for k, v in write.values.items() if k not in STANDARD}
        if properties:
            attributes["properties"] = properties
        data: dict[str, Any] = {"type": "profile", "attributes": attributes}
        if write.remote_id:
            data["id"] = write.remote_id
        return str(self._call(self.profiles.create_or_update_profile, {"data": data})["data"]["id"])

    def create(self, writes: Sequence[Write]) -> BatchOutcome:
        return each(writes, self._import)

    update = create

    def add_to_list(self, list_name: str, remote_ids: Sequence[str]) -> str:
        existing = self._call(self.lists.get_lists, filter=f"equals(name,{_quoted(list_name)})").get("data", [])
        if existing:
            list_id = str(existing[0]["id"])
        else:
            list_id = str(
                self._call(self.lists.create_list, {"data": {"type": "list", "attributes": {"name": list_name}}})["data"]["id"]
            )
        for chunk in batched(list(remote_ids), LIST_BATCH):
            self._call(self.lists.add_profiles_to_list, list_id, {"data": [{"type": "profile", "id": rid} for rid in chunk]})
        return list_id

    def pull_changes(self, since: datetime) -> list[RemoteChange]:
        stamp = since.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        changes = []
        for profile in self._profiles(f"greater-than(updated,{stamp})", additional_fields_profile=["subscriptions"]):
            changes.extend(self._changes(profile))
        return changes

    def _changes(self, profile: dict[str, Any]) -> list[RemoteChange]:
        attributes = profile.get("attributes", {})
        marketing = ((attributes.get("subscriptions") or {}).get("email") or {}).get("marketing") or {}
        common = {"email": attributes.get("email"), "github_url": attributes.get("external_id"), "remote_id": str(profile["id"])}
        updated = str(attributes.get("updated"))
        changes = []
        if marketing.get("consent") == "UNSUBSCRIBED":
            when = _when(marketing.get("consent_timestamp") or updated)
            changes.append(RemoteChange(kind="unsubscribed", occurred_at=when, **common))
        for suppression in marketing.get("suppression") or []:
            if suppression.get("reason") == "HARD_BOUNCE":
                changes.append(RemoteChange(kind="bounced", occurred_at=_when(suppression.get("timestamp") or updated), **common))
        return changes

    def find_all(self, email: str | None, github_url: str | None) -> list[str]:
        profiles = self._any("email", [email] if email else [])
        if github_url and self.github_field == "external_id":
            profiles += self._any("external_id", [github_url])
        return sorted({str(p["id"]) for p in profiles})

    def erase(self, remote_ids: list[str]) -> tuple[ErasureOutcome, str]:
        for remote_id in remote_ids:
            job = {
                "type": "data-privacy-deletion-job",
                "attributes": {"profile": {"data": {"type": "profile", "id": remote_id, "attributes": {}}}},
            }
            self._call(self.privacy.request_profile_deletion, {"data": job})
        return "gdpr_delete_requested", "Klaviyo deletes the profiles asynchronously (data privacy deletion jobs)"

    def probe(self) -> str:
        accounts = self._call(self.accounts.get_accounts).get("data", [])
        organisation = accounts[0]["attributes"].get("contact_information", {}).get("organization_name") if accounts else None
        return f"Klaviyo answered for account {organisation!r}"


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def create(config: DestinationConfig) -> Klaviyo:
    return Klaviyo(config)
