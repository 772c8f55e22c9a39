"""Zoho CRM (Leads module) over its REST API with httpx: Zoho publishes no maintained Python SDK
that takes a plain base URL (its `zohocrmsdk` needs its own token store and DC objects).

- push: a search by email and by the GitHub URL field (`GET /Leads/search`, 204 when nothing
  matches); new leads `POST /Leads/upsert` with `duplicate_check_fields` [Email, GitHub URL field],
  found ones `PUT /Leads` by id; 100 records a call (Zoho's cap);
- list: a tag on the leads (`POST /Leads/actions/add_tags`), created by its first use;
- pull: `GET /Leads` with `If-Modified-Since`, paged by `page`/`per_page` (200) until
  `info.more_records` is false: `Lead_Status` -> lifecycle_stage, `Email_Opt_Out` -> unsubscribed;
- forget: `DELETE /Leads?ids=` (the records go to Zoho's recycle bin, purged by Zoho after 60 days);
- auth: `Authorization: Zoho-oauthtoken <access token>`; with `options.refresh_token`, `client_id`
  and `client_secret` an expired token (401 INVALID_TOKEN) is refreshed once at
  `{accounts_url}/oauth/v2/token` (grant_type=refresh_token) and the request repeated.

Options: `module` (Leads), `github_url_field` (GitHub_URL, a unique custom field), `accounts_url`,
`refresh_token`, `client_id`, `client_secret`. Reference: https://www.zoho.com/crm/developer/docs/api/v6/
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from tools.destinations.base import DestinationContact, DestinationKind, RemoteChange
from tools.destinations.config import DestinationConfig
from tools.destinations.contact_sync import ContactConnector, ErasureOutcome, usable_email
from tools.destinations.crm import BatchOutcome, RemoteRecord, Write
from tools.destinations.http import DestinationHTTP, VendorHTTPError, batched
from tools.destinations.mapping import FieldMapping

DEFAULT_BASE_URL = "https://www.zohoapis.com/crm/v6"
DEFAULT_MAPPING = FieldMapping(
    fields={
        "First_Name": "first_name",
        "Last_Name": "last_name",
        "Email": "email",
        "Company": "company",
        "City": "location",
        "Lead_Source": "source",
    },
    custom={"GitHub_URL": "github_url", "CMO_Score": "score", "CMO_Signals": "signals", "CMO_Evidence": "evidence_summary"},
)
MAX_BATCH = 100  # Zoho: at most 100 records per insert/update/upsert call
PAGE_SIZE = 200


class ZohoCRM(ContactConnector):
    kind: DestinationKind = "crm"
    needs_email = False  # a lead is keyed by its GitHub URL too

    def __init__(self, config: DestinationConfig) -> None:
        self.name = config.label
        self.options = config.options
        self.module = config.options.get("module", "Leads")
        self.github_field = config.options.get("github_url_field", "GitHub_URL")
        self.batch_size = config.batch_size
        self.max_batch = MAX_BATCH
        self.http = DestinationHTTP(
            config.base_url or DEFAULT_BASE_URL,
            headers={"Authorization": f"Zoho-oauthtoken {config.resolved_token()}"},
            rate_limit_per_second=config.rate_limit_per_second,
        )

    # --- auth -----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; an expired access token is refreshed once when a refresh token is configured."""
        try:
            return self.http.request(method, path, **kwargs)
        except VendorHTTPError as exc:
            if exc.status != 401 or not self.options.get("refresh_token"):
                raise
        self._refresh()
        return self.http.request(method, path, **kwargs)

    def _refresh(self) -> None:
        accounts = self.options.get("accounts_url", "https://accounts.zoho.com").rstrip("/")
        params = {
            "refresh_token": self.options["refresh_token"],
            "client_id": self.options.get("client_id", ""),
            "client_secret": self.options.get("client_secret", ""),
            "grant_type": "refresh_token",
        }
        response = httpx.post(f"{accounts}/oauth/v2/token", params=params, timeout=15.0)
        token = response.json().get("access_token") if response.is_success else None
        if not token:
            raise VendorHTTPError(401, "Zoho refused the refresh token")
        self.http.client.headers["Authorization"] = f"Zoho-oauthtoken {token}"

    # --- lookups --------------------------------------------------------------------------------
    def _search(self, **params: str) -> list[dict[str, Any]]:
        response = self._call("GET", f"/{self.module}/search", params=params)
        return [] if response.status_code == 204 else list(response.json().get("data", []))

    def _criteria(self, value: str) -> str:
        escaped = value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").replace(",", "\\,")
        return f"({self.github_field}:equals:{escaped})"

    def _lookup(self, email: str | None, github_url: str | None) -> list[RemoteRecord]:
        records = self._search(email=email) if email else []
        if github_url and not records:
            records = self._search(criteria=self._criteria(github_url))
        return [
            RemoteRecord(id=str(r["id"]), email=r.get("Email"), github_url=r.get(self.github_field), values=r) for r in records
        ]

    def find(self, contacts: Sequence[DestinationContact]) -> list[RemoteRecord]:
        return [record for c in contacts for record in self._lookup(usable_email(c.email), c.github_url)]

    # --- writes ---------------------------------------------------------------------------------
    def create(self, writes: Sequence[Write]) -> BatchOutcome:
        """Upsert, not insert: should another writer have created the lead meanwhile, Zoho's own
        duplicate check on Email and the (unique) GitHub URL field updates it instead."""
        body = {"data": [w.values for w in writes], "duplicate_check_fields": ["Email", self.github_field]}
        return self._outcome(writes, self._call("POST", f"/{self.module}/upsert", json=body, ok=frozenset({400})).json())

    def update(self, writes: Sequence[Write]) -> BatchOutcome:
        body = {"data": [{**w.values, "id": w.remote_id} for w in writes]}
        return self._outcome(writes, self._call("PUT", f"/{self.module}", json=body, ok=frozenset({400})).json())

    def _outcome(self, writes: Sequence[Write], answer: dict[str, Any]) -> BatchOutcome:
        """Zoho answers per record, in order: `status` success with `details.id`, or a `code`."""
        if not isinstance(answer.get("data"), list):
            raise VendorHTTPError(400, str(answer.get("message", "Zoho refused the upsert")))
        outcome = BatchOutcome()
        for write, row in zip(writes, answer["data"], strict=False):
            if row.get("status") == "success":
                outcome.ids[write.contact.prospect_id] = str(row["details"]["id"])
            else:
                outcome.errors[write.contact.prospect_id] = f"{row.get('code')}: {row.get('message')}"
        return outcome

    def add_to_list(self, list_name: str, remote_ids: Sequence[str]) -> str:
        """A Zoho tag, created by its first use."""
        for chunk in batched(list(remote_ids), MAX_BATCH):
            self._call("POST", f"/{self.module}/actions/add_tags", json={"tags": [{"name": list_name}], "ids": chunk})
        return list_name

    # --- the rest of the interface --------------------------------------------------------------
    def pull_changes(self, since: datetime) -> list[RemoteChange]:
        fields = ",".join(["Email", self.github_field, "Lead_Status", "Email_Opt_Out", "Modified_Time"])
        headers = {"If-Modified-Since": since.astimezone(UTC).isoformat(timespec="seconds")}
        changes: list[RemoteChange] = []
        page = 1
        while True:
            params = {"fields": fields, "page": str(page), "per_page": str(PAGE_SIZE), "sort_by": "Modified_Time"}
            response = self._call("GET", f"/{self.module}", params=params, headers=headers, ok=frozenset({304}))
            if response.status_code in (204, 304):
                return changes
            body = response.json()
            for record in body.get("data", []):
                changes.extend(self._changes(record))
            if not body.get("info", {}).get("more_records"):
                return changes
            page += 1

    def _changes(self, record: dict[str, Any]) -> list[RemoteChange]:
        when = datetime.fromisoformat(str(record.get("Modified_Time")))
        common = {
            "email": record.get("Email"),
            "github_url": record.get(self.github_field),
            "remote_id": str(record["id"]),
            "occurred_at": when,
        }
        out = []
        if record.get("Lead_Status"):
            out.append(RemoteChange(kind="lifecycle_stage", value=str(record["Lead_Status"]), **common))
        if record.get("Email_Opt_Out") is True:
            out.append(RemoteChange(kind="unsubscribed", **common))
        return out

    def find_all(self, email: str | None, github_url: str | None) -> list[str]:
        return sorted({r.id for r in self._lookup(email, None) + self._lookup(None, github_url)})

    def erase(self, remote_ids: list[str]) -> tuple[ErasureOutcome, str]:
        for chunk in batched(remote_ids, MAX_BATCH):
            self._call("DELETE", f"/{self.module}", params={"ids": ",".join(chunk)})
        return "deleted", "in Zoho's recycle bin until Zoho purges it (60 days)"

    def probe(self) -> str:
        self._call("GET", "/users", params={"type": "CurrentUser"})
        return f"Zoho CRM answered; module {self.module}"


def create(config: DestinationConfig) -> ZohoCRM:
    return ZohoCRM(config)
