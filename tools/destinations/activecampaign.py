"""ActiveCampaign (API v3) with httpx: ActiveCampaign publishes no maintained Python SDK.

`base_url` is the account's API URL (https://<account>.api-us1.com); requests carry `Api-Token`.
ActiveCampaign allows 5 requests a second per account and answers 429 beyond it.

- custom fields are named in the mapping by their personalisation tag (`GITHUB_URL`), title or id,
  resolved once with `GET /api/3/fields` (paged by `limit`/`offset`);
- push: `GET /api/3/contacts?email=` per contact, else the GitHub URL field's value
  (`GET /api/3/fieldValues?filters[fieldid]=&filters[val]=`); a found contact's values come from
  `GET /api/3/contacts/{id}/fieldValues`; new contacts `POST /api/3/contact/sync`, found ones
  `PUT /api/3/contacts/{id}` (so one found by its GitHub URL keeps its id);
- list: `GET /api/3/lists?filters[name]=`, created with `POST /api/3/lists`; contacts not on it yet
  (`GET /api/3/contacts?listid=`) added by `POST /api/3/contactLists` (status 1), so one who
  unsubscribed from the list is never re-subscribed;
- pull: contacts `status=2` (unsubscribed) and `status=3` (bounced) with `filters[updated_after]`;
- forget: `DELETE /api/3/contacts/{id}`.

Reference: https://developers.activecampaign.com/reference/overview
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tools.destinations.base import DestinationContact, DestinationKind, FieldValue, RemoteChange
from tools.destinations.config import DestinationConfig, DestinationConfigError
from tools.destinations.contact_sync import ContactConnector, ErasureOutcome, each, usable_email
from tools.destinations.crm import BatchOutcome, RemoteRecord, Write
from tools.destinations.http import DestinationHTTP, VendorHTTPError
from tools.destinations.mapping import FieldMapping

DEFAULT_MAPPING = FieldMapping(
    fields={"email": "email", "firstName": "first_name", "lastName": "last_name"},
    custom={
        "GITHUB_URL": "github_url",
        "COMPANY": "company",
        "CMO_SCORE": "score",
        "CMO_SIGNALS": "signals",
        "CMO_EVIDENCE": "evidence_summary",
    },
)
STANDARD = frozenset({"email", "firstName", "lastName", "phone"})
PAGE_SIZE = 100
PULLED = {"2": "unsubscribed", "3": "bounced"}


class ActiveCampaign(ContactConnector):
    kind: DestinationKind = "marketing"

    def __init__(self, config: DestinationConfig) -> None:
        if not config.base_url:
            raise DestinationConfigError(f"{config.label}: ActiveCampaign needs base_url (https://<account>.api-us1.com)")
        self.name = config.label
        self.github_field = config.options.get("github_url_field", "GITHUB_URL")
        self.sender_url = config.options.get("sender_url")  # the sender's website: ActiveCampaign requires one per list
        self.batch_size = config.batch_size
        self.max_batch = PAGE_SIZE
        self.http = DestinationHTTP(
            config.base_url.rstrip("/") + "/api/3",
            headers={"Api-Token": config.resolved_token()},
            rate_limit_per_second=config.rate_limit_per_second,
        )
        self._fields: dict[str, str] | None = None

    def _paged(self, path: str, key: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every item of a list endpoint (`limit`/`offset`, until `meta.total`)."""
        items: list[dict[str, Any]] = []
        while True:
            body = self.http.request("GET", path, params={**params, "limit": str(PAGE_SIZE), "offset": str(len(items))}).json()
            page = body.get(key, [])
            items.extend(page)
            if not page or len(items) >= int((body.get("meta") or {}).get("total", 0)):
                return items

    def field_ids(self) -> dict[str, str]:
        """Our custom-field names (tag, title or id) -> ActiveCampaign field id."""
        if self._fields is None:
            self._fields = {}
            for field in self._paged("/fields", "fields", {}):
                for name in (field.get("perstag"), field.get("title"), field.get("id")):
                    if name:
                        self._fields[str(name)] = str(field["id"])
        return self._fields

    def _record(self, contact: dict[str, Any]) -> RemoteRecord:
        """The contact's standard fields and custom values, under every name its fields answer to."""
        names: dict[str, list[str]] = {}
        for name, field_id in self.field_ids().items():
            names.setdefault(field_id, []).append(name)
        values: dict[str, FieldValue] = {k: contact.get(k) for k in STANDARD}
        for row in self.http.request("GET", f"/contacts/{contact['id']}/fieldValues").json().get("fieldValues", []):
            values.update(dict.fromkeys(names.get(str(row.get("field")), []), row.get("value")))
        github = values.get(self.github_field)
        return RemoteRecord(
            id=str(contact["id"]), email=contact.get("email"), github_url=str(github) if github else None, values=values
        )

    def _by_email(self, email: str) -> list[dict[str, Any]]:
        return list(self.http.request("GET", "/contacts", params={"email": email}).json().get("contacts", []))

    def _by_github(self, github_url: str) -> list[dict[str, Any]]:
        field_id = self.field_ids().get(self.github_field)
        if field_id is None:
            return []
        rows = (
            self.http.request("GET", "/fieldValues", params={"filters[fieldid]": field_id, "filters[val]": github_url})
            .json()
            .get("fieldValues", [])
        )
        return [self.http.request("GET", f"/contacts/{row['contact']}").json()["contact"] for row in rows]

    def find(self, contacts: Sequence[DestinationContact]) -> list[RemoteRecord]:
        found = {}
        for contact in contacts:
            email = usable_email(contact.email)
            for hit in (self._by_email(email) if email else []) or self._by_github(contact.github_url):
                found[str(hit["id"])] = hit
        return [self._record(hit) for hit in found.values()]

    def _body(self, write: dict[str, FieldValue]) -> dict[str, Any]:
        ids = self.field_ids()
        missing = sorted(k for k in write if k not in STANDARD and k not in ids)
        if missing:
            raise VendorHTTPError(
                0, f"no ActiveCampaign custom field for: {', '.join(missing)} (create it, or change the mapping)"
            )
        body: dict[str, Any] = {k: v for k, v in write.items() if k in STANDARD}
        body["fieldValues"] = [{"field": ids[k], "value": v} for k, v in write.items() if k not in STANDARD]
        return {"contact": body}

    def _sync(self, write: Write) -> str:
        """`POST /contact/sync`: by email, so a contact another writer just added is updated."""
        body = self._body(write.values)
        body["contact"]["email"] = usable_email(write.contact.email)
        return str(self.http.request("POST", "/contact/sync", json=body).json()["contact"]["id"])

    def _update(self, write: Write) -> str:
        """`PUT /contacts/{id}`: a contact found by its GitHub URL keeps its id and its email."""
        self.http.request("PUT", f"/contacts/{write.remote_id}", json=self._body(write.values))
        return str(write.remote_id)

    def create(self, writes: Sequence[Write]) -> BatchOutcome:
        return each(writes, self._sync)

    def update(self, writes: Sequence[Write]) -> BatchOutcome:
        return each(writes, self._update)

    def _list_id(self, name: str) -> str:
        for existing in self.http.request("GET", "/lists", params={"filters[name]": name}).json().get("lists", []):
            if existing.get("name") == name:
                return str(existing["id"])
        if not self.sender_url:  # a placeholder would be shown to subscribers as the sender's site
            raise DestinationConfigError(
                f"{self.name}: creating the list {name!r} needs options.sender_url (your website); set it, or create the list in ActiveCampaign"
            )
        stringid = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "cmo-list"
        reminder = "You are on this list because of your public GitHub activity."
        body = {"list": {"name": name, "stringid": stringid, "sender_url": self.sender_url, "sender_reminder": reminder}}
        return str(self.http.request("POST", "/lists", json=body).json()["list"]["id"])

    def add_to_list(self, list_name: str, remote_ids: Sequence[str]) -> str:
        """Only contacts not on the list yet: `contactLists` with status 1 would re-subscribe one who
        unsubscribed from it."""
        list_id = self._list_id(list_name)
        on_list = {str(c["id"]) for c in self._paged("/contacts", "contacts", {"listid": list_id})}
        for remote_id in [r for r in remote_ids if r not in on_list]:
            body = {"contactList": {"list": list_id, "contact": remote_id, "status": 1}}
            self.http.request("POST", "/contactLists", json=body)
        return list_id

    def pull_changes(self, since: datetime) -> list[RemoteChange]:
        after = since.astimezone(UTC).isoformat(timespec="seconds")
        changes = []
        for status, kind in PULLED.items():
            for contact in self._paged("/contacts", "contacts", {"status": status, "filters[updated_after]": after}):
                changes.append(
                    RemoteChange(
                        email=contact.get("email"),
                        remote_id=str(contact["id"]),
                        kind=kind,
                        occurred_at=datetime.fromisoformat(str(contact.get("udate") or after)),
                    )
                )
        return changes

    def find_all(self, email: str | None, github_url: str | None) -> list[str]:
        contacts = (self._by_email(email) if email else []) + (self._by_github(github_url) if github_url else [])
        return sorted({str(c["id"]) for c in contacts})

    def erase(self, remote_ids: list[str]) -> tuple[ErasureOutcome, str]:
        for remote_id in remote_ids:
            self.http.request("DELETE", f"/contacts/{remote_id}")
        return "deleted", "contacts deleted"

    def probe(self) -> str:
        user = self.http.request("GET", "/users/me").json().get("user", {})
        missing = (
            ""
            if self.github_field in self.field_ids()
            else f"; custom field {self.github_field} is missing (duplicates by GitHub URL go unseen)"
        )
        return f"ActiveCampaign answered for user {user.get('username')!r}{missing}"


def create(config: DestinationConfig) -> ActiveCampaign:
    return ActiveCampaign(config)
