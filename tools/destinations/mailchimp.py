"""Mailchimp (Marketing API 3.0) with httpx, not the `mailchimp-marketing` SDK: the SDK (3.0.80) has
no base-URL setting (its host is hard-coded as https://server.api.mailchimp.com/3.0, with `server`
string-replaced by the data centre), calls `requests` without a session, and raises errors without
the response headers, so neither an EU/test host nor `Retry-After` would be honoured.

One audience (`options.audience_id`) holds the contacts; a member's id is the MD5 of the
lower-cased email (the subscriber hash).

- push: `GET /lists/{id}/members/{hash}` per contact, then (for those not found) the audience's
  members paged by `count`/`offset` to match the GitHub URL merge field (Mailchimp searches no merge
  field); new members in one `POST /lists/{id}` batch (500 a call) with `status` =
  `options.status_if_new` (default `transactional`: no marketing consent is implied); existing ones
  `PATCH /lists/{id}/members/{hash}` with only the changed merge fields and no `status`, so an
  unsubscribed member is never re-subscribed (batch subscribe with update_existing would reset it);
- list: a member tag (`POST /lists/{id}/members/{hash}/tags`), Mailchimp's own segmentation;
- pull: members with `status=unsubscribed` or `cleaned` (bounced) `since_last_changed`;
- forget: `POST /lists/{id}/members/{hash}/actions/delete-permanent` (Mailchimp's GDPR erasure; the
  address can never be re-imported).

Reference: https://mailchimp.com/developer/marketing/api/list-members/
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tools.destinations.base import ConflictPolicy, DestinationContact, DestinationKind, FieldValue, PushReport, RemoteChange
from tools.destinations.config import DestinationConfig, DestinationConfigError
from tools.destinations.contact_sync import ContactConnector, ErasureOutcome, each, usable_email
from tools.destinations.crm import BatchOutcome, RemoteRecord, Write
from tools.destinations.http import DestinationHTTP
from tools.destinations.mapping import FieldMapping

DEFAULT_MAPPING = FieldMapping(
    fields={"email_address": "email", "FNAME": "first_name", "LNAME": "last_name"},
    custom={"GITHUB": "github_url", "COMPANY": "company", "CMOSCORE": "score"},
)
MAX_BATCH = 500  # batch subscribe: 500 members a call
PAGE_SIZE = 1000
MEMBER_FIELDS = "id,email_address,status,merge_fields,last_changed,tags"
PULLED = {"unsubscribed": "unsubscribed", "cleaned": "bounced"}


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


class Mailchimp(ContactConnector):
    kind: DestinationKind = "marketing"

    def __init__(self, config: DestinationConfig) -> None:
        token = config.resolved_token()
        audience = config.options.get("audience_id")
        if not audience:
            raise DestinationConfigError(f"{config.label}: Mailchimp needs options.audience_id (the audience's list id)")
        data_centre = token.rsplit("-", 1)[-1] if "-" in token else "us1"
        self.name = config.label
        self.members_path = f"/lists/{audience}/members"
        self.list_path = f"/lists/{audience}"
        self.status_if_new = config.options.get("status_if_new", "transactional")
        self.github_field = config.options.get("github_url_field", "GITHUB")
        self.batch_size = config.batch_size
        self.max_batch = MAX_BATCH
        self.http = DestinationHTTP(
            config.base_url or f"https://{data_centre}.api.mailchimp.com/3.0",
            headers={"Authorization": "Basic " + _basic("cmo-agent", token)},
            rate_limit_per_second=config.rate_limit_per_second,
        )
        self._by_github: dict[str, dict[str, Any]] | None = None
        self._tags: dict[str, set[str]] = {}

    def push(self, contacts: Sequence[DestinationContact], *, list_name: str | None, policy: ConflictPolicy) -> PushReport:
        self._by_github = None  # the audience is scanned at most once a push
        self._tags = {}  # member id -> its tags, as found: a re-sync re-tags no one
        return super().push(contacts, list_name=list_name, policy=policy)

    def _record(self, member: dict[str, Any]) -> RemoteRecord:
        self._tags[str(member["id"])] = {str(t.get("name")) for t in member.get("tags") or []}
        merge: dict[str, FieldValue] = member.get("merge_fields") or {}
        values = {**merge, "email_address": member.get("email_address")}
        return RemoteRecord(
            id=str(member["id"]),
            email=member.get("email_address"),
            github_url=str(merge.get(self.github_field) or "") or None,
            values=values,
        )

    def _member(self, email: str) -> dict[str, Any] | None:
        return self._member_by_id(subscriber_hash(email))

    def _members(self, **filters: str) -> list[dict[str, Any]]:
        """Every member matching `filters`, page by page (`count`/`offset`, until `total_items`)."""
        members: list[dict[str, Any]] = []
        while True:
            params = {
                "count": str(PAGE_SIZE),
                "offset": str(len(members)),
                "fields": f"total_items,members.{MEMBER_FIELDS.replace(',', ',members.')}",
                **filters,
            }
            body = self.http.request("GET", self.members_path, params=params).json()
            page = body.get("members", [])
            members.extend(page)
            if not page or len(members) >= int(body.get("total_items", 0)):
                return members

    def _github_member(self, github_url: str) -> dict[str, Any] | None:
        if self._by_github is None:
            self._by_github = {str(m.get("merge_fields", {}).get(self.github_field)): m for m in self._members()}
        return self._by_github.get(github_url)

    def find(self, contacts: Sequence[DestinationContact]) -> list[RemoteRecord]:
        found = []
        for contact in contacts:
            email = usable_email(contact.email)
            member = (self._member(email) if email else None) or self._github_member(contact.github_url)
            if member:
                found.append(self._record(member))
        return found

    def _merge_fields(self, values: dict[str, FieldValue]) -> dict[str, Any]:
        merge = {k: v for k, v in values.items() if k != "email_address"}
        return {"merge_fields": merge} if merge else {}

    def create(self, writes: Sequence[Write]) -> BatchOutcome:
        """One batch-subscribe call (500 members at most), `status` = options.status_if_new."""
        members = [
            {"email_address": usable_email(w.contact.email), "status": self.status_if_new, **self._merge_fields(w.values)}
            for w in writes
        ]
        body = self.http.request("POST", self.list_path, json={"members": members, "update_existing": False}).json()
        ids = {str(m["email_address"]).lower(): str(m["id"]) for m in body.get("new_members", [])}
        errors = {
            str(e.get("email_address", "")).lower(): f"{e.get('error_code')}: {e.get('error')}" for e in body.get("errors", [])
        }
        outcome = BatchOutcome()
        for write in writes:
            email = usable_email(write.contact.email) or ""
            if email in ids:
                outcome.ids[write.contact.prospect_id] = ids[email]
            else:
                outcome.errors[write.contact.prospect_id] = errors.get(email, "not in Mailchimp's answer")
        return outcome

    def update(self, writes: Sequence[Write]) -> BatchOutcome:
        return each(writes, self._patch)

    def _patch(self, write: Write) -> str:
        """PATCH by subscriber hash with only what changed and no `status`: an unsubscribed member
        stays unsubscribed (the PUT upsert would need the address and batch subscribe resets status)."""
        body: dict[str, Any] = self._merge_fields(write.values)
        if "email_address" in write.values:
            body["email_address"] = write.values["email_address"]
        return str(self.http.request("PATCH", f"{self.members_path}/{write.remote_id}", json=body).json()["id"])

    def _member_by_id(self, remote_id: str) -> dict[str, Any] | None:
        response = self.http.request(
            "GET", f"{self.members_path}/{remote_id}", params={"fields": MEMBER_FIELDS}, ok=frozenset({404})
        )
        return None if response.status_code == 404 else dict(response.json())

    def add_to_list(self, list_name: str, remote_ids: Sequence[str]) -> str:
        """A member tag (Mailchimp's segmentation; a tag is created by its first use)."""
        tag = {"tags": [{"name": list_name, "status": "active"}]}
        for remote_id in [r for r in remote_ids if list_name not in self._tags.get(r, set())]:
            self.http.request("POST", f"{self.members_path}/{remote_id}/tags", json=tag)
        return list_name

    def pull_changes(self, since: datetime) -> list[RemoteChange]:
        changes = []
        for status, kind in PULLED.items():
            for member in self._members(status=status, since_last_changed=since.astimezone(UTC).isoformat(timespec="seconds")):
                changes.append(
                    RemoteChange(
                        email=member.get("email_address"),
                        github_url=member.get("merge_fields", {}).get(self.github_field) or None,
                        remote_id=str(member["id"]),
                        kind=kind,
                        occurred_at=datetime.fromisoformat(str(member["last_changed"])),
                    )
                )
        return changes

    def find_all(self, email: str | None, github_url: str | None) -> list[str]:
        self._by_github = None
        ids = {
            str(m["id"])
            for m in [self._member(email) if email else None, self._github_member(github_url) if github_url else None]
            if m
        }
        return sorted(ids)

    def erase(self, remote_ids: list[str]) -> tuple[ErasureOutcome, str]:
        for remote_id in remote_ids:
            self.http.request("POST", f"{self.members_path}/{remote_id}/actions/delete-permanent")
        return "deleted", "permanently deleted; Mailchimp refuses to re-import the address"

    def probe(self) -> str:
        health = self.http.request("GET", "/ping").json().get("health_status", "")
        audience = self.http.request("GET", self.list_path, params={"fields": "name,stats.member_count"}).json()
        return f"{health} audience {audience.get('name')!r} has {audience.get('stats', {}).get('member_count', '?')} members"


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def create(config: DestinationConfig) -> Mailchimp:
    return Mailchimp(config)
