"""ActiveCampaign (API v3) with httpx: ActiveCampaign publishes no maintained Python SDK.

`base_url` is the account's API URL (https://<account>.api-us1.com); requests carry `Api-Token`.
ActiveCampaign allows 5 requests a second per account and answers 429 beyond it.

- custom fields are named in the mapping by their personalisation tag (`GITHUB_URL`), title or id,
  resolved once with `GET /api/3/fields` (paged by `limit`/`offset`);
- push: `GET /api/3/contacts?email=` per contact, else the GitHub URL field's value
  (`GET /api/3/fieldValues?filters[fieldid]=&filters[val]=`); a found contact's values come from
  `GET /api/3/contacts/{id}/fieldValues`; new contacts `POST /api/3/contact/sync`, found ones
  `PUT /api/3/contacts/{id}` (so one found by its GitHub URL keeps its id);
- list: `GET /api/3/lists?filters[name]=`, created with `POST /api/3/lists`; members by
  `POST /api/3/contactLists` (status 1, active);
- pull: contacts `status=2` (unsubscribed) and `status=3` (bounced) with `filters[updated_after]`;
- forget: `DELETE /api/3/contacts/{id}`.

Reference: https://developers.activecampaign.com/reference/overview
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tools.destinations.base import DestinationContact, FieldValue, RemoteChange
from tools.destinations.config import DestinationConfig, DestinationConfigError
from tools.destinations.contact_sync import ContactSync, ErasureOutcome, Planned, Remote, Written, usable_email, write_each
from tools.destinations.http import DestinationHTTP
from tools.destinations.mapping import FieldMapping

DEFAULT_MAPPING = FieldMapping(
    fields={"email": "email", "firstName": "first_name", "lastName": "last_name"},
    custom={"COMPANY": "company", "CMO_SCORE": "score", "CMO_SIGNALS": "signals", "CMO_EVIDENCE": "evidence_summary"},
)
STANDARD = frozenset({"email", "firstName", "lastName", "phone"})
PAGE_SIZE = 100
PULLED = {"2": "unsubscribed", "3": "bounced"}


class ActiveCampaign(ContactSync):
    kind = "marketing"

    def __init__(self, config: DestinationConfig) -> None:
        if not config.base_url:
            raise DestinationConfigError(f"{config.label}: ActiveCampaign needs base_url (https://<account>.api-us1.com)")
        self.name = config.label
        self.github_field = config.options.get("github_url_field", "GITHUB_URL")
        self.sender_url = config.options.get("sender_url", "https://example.invalid")
        self.batch_size = min(config.batch_size, PAGE_SIZE)
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

    def _remote(self, contact: dict[str, Any], matched_by: str) -> Remote:
        """The contact's standard fields and custom values, under every name its fields answer to."""
        names: dict[str, list[str]] = {}
        for name, field_id in self.field_ids().items():
            names.setdefault(field_id, []).append(name)
        values: dict[str, FieldValue] = {k: contact.get(k) for k in STANDARD}
        for row in self.http.request("GET", f"/contacts/{contact['id']}/fieldValues").json().get("fieldValues", []):
            values.update(dict.fromkeys(names.get(str(row.get("field")), []), row.get("value")))
        return Remote(str(contact["id"]), values, matched_by)

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

    def find(self, contacts: Sequence[DestinationContact]) -> dict[str, Remote]:
        found = {}
        for contact in contacts:
            email = usable_email(contact.email)
            if email and (hits := self._by_email(email)):
                found[contact.prospect_id] = self._remote(hits[0], "email")
            elif hits := self._by_github(contact.github_url):
                found[contact.prospect_id] = self._remote(hits[0], "GitHub URL")
        return found

    def _body(self, write: dict[str, FieldValue]) -> dict[str, Any]:
        ids = self.field_ids()
        missing = sorted(k for k in write if k not in STANDARD and k not in ids)
        if missing:
            raise LookupError(f"no ActiveCampaign custom field for: {', '.join(missing)}")
        body: dict[str, Any] = {k: v for k, v in write.items() if k in STANDARD}
        body["fieldValues"] = [{"field": ids[k], "value": v} for k, v in write.items() if k not in STANDARD]
        return {"contact": body}

    def write(self, items: Sequence[Planned]) -> dict[str, Written]:
        return write_each(items, self._write_one)

    def _write_one(self, item: Planned) -> Written:
        try:
            body = self._body(item.write)
        except LookupError as exc:
            return Written(error=str(exc))
        if item.remote is None:
            body["contact"]["email"] = usable_email(item.contact.email)
            response = self.http.request("POST", "/contact/sync", json=body)
            return Written(str(response.json()["contact"]["id"]), created=response.status_code == 201)
        self.http.request("PUT", f"/contacts/{item.remote.remote_id}", json=body)
        return Written(item.remote.remote_id, created=False)

    def ensure_list(self, name: str) -> str:
        for existing in self.http.request("GET", "/lists", params={"filters[name]": name}).json().get("lists", []):
            if existing.get("name") == name:
                return str(existing["id"])
        stringid = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "cmo-list"
        body = {
            "list": {
                "name": name,
                "stringid": stringid,
                "sender_url": self.sender_url,
                "sender_reminder": "You are on this list because of your public GitHub activity.",
            }
        }
        return str(self.http.request("POST", "/lists", json=body).json()["list"]["id"])

    def add_to_list(self, list_id: str, members: Sequence[tuple[DestinationContact, str]]) -> None:
        for _, remote_id in members:
            self.http.request("POST", "/contactLists", json={"contactList": {"list": list_id, "contact": remote_id, "status": 1}})

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

    def erase(self, remote_ids: list[str], email: str | None) -> tuple[ErasureOutcome, str]:
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
