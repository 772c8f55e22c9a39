"""ActiveCampaign API v3 contract stub, shapes from ActiveCampaign's reference
(https://developers.activecampaign.com/reference/overview: `Api-Token` header, `limit`/`offset`
pagination with `meta.total`, 5 requests/s then 429, 422 `errors[]` with title/detail/code/source):
- contacts: https://developers.activecampaign.com/reference/list-all-contacts (`email`, `listid`, `status`
  -1/0/1/2 unsubscribed/3 bounced, `filters[updated_after]`), sync-a-contacts-data
  (`POST /api/3/contact/sync`: 201 created, 200 updated), update-a-contact-new (`PUT`),
  delete-contact (`DELETE`, 404 `No Result found for Subscriber with id`);
- custom fields: retrieve-fields (`GET /api/3/fields`: id, title, perstag), list-all-custom-field-values
  (`GET /api/3/fieldValues?filters[fieldid]=&filters[val]=`), `GET /api/3/contacts/{id}/fieldValues`;
- lists: retrieve-all-lists (`filters[name]`), create-new-list, update-list-status-for-contact
  (`POST /api/3/contactLists`); users: `GET /api/3/users/me`.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from tests.support.destination_stubs import ContractStub, Reply, StubRequest, paginate, route

A = "/api/3"
FIELDS = [
    ("1", "GitHub URL", "GITHUB_URL"),
    ("2", "Company", "COMPANY"),
    ("3", "CMO score", "CMO_SCORE"),
    ("4", "CMO signals", "CMO_SIGNALS"),
    ("5", "CMO evidence", "CMO_EVIDENCE"),
]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ActiveCampaignStub(ContractStub):
    def __init__(self, token: str = "ac-token") -> None:
        super().__init__(token)
        self.contacts: dict[str, dict[str, Any]] = {}
        self.values: dict[tuple[str, str], str] = {}  # (contact id, field id) -> value
        self.lists: dict[str, dict[str, Any]] = {}
        self.page_cap = 2
        self._ids = itertools.count(101)

    def expected_auth(self) -> dict[str, str]:
        return {"api-token": self.token}

    def auth_failure(self) -> Reply:
        return 403, {"message": "No Result found for ApiToken"}

    def _page(self, request: StubRequest, key: str, items: list[dict[str, Any]]) -> Reply:
        page = paginate(items, request.query.get("offset"), min(int(request.query.get("limit", 20)), self.page_cap))
        return 200, {key: page.items, "meta": {"total": str(page.total)}}

    def _write(self, contact: dict[str, Any], body: dict[str, Any]) -> None:
        contact.update({k: v for k, v in body.items() if k in ("email", "firstName", "lastName", "phone")}, udate=_now())
        for item in body.get("fieldValues", []):
            self.values[(contact["id"], str(item["field"]))] = str(item["value"])

    def _by_email(self, email: str) -> list[dict[str, Any]]:
        return [c for c in self.contacts.values() if c["email"].lower() == email.lower()]

    @route("GET", A + r"/fields")
    def fields(self, request: StubRequest) -> Reply:
        return self._page(request, "fields", [{"id": i, "title": t, "perstag": p, "type": "text"} for i, t, p in FIELDS])

    @route("GET", A + r"/contacts")
    def list_contacts(self, request: StubRequest) -> Reply:
        chosen = list(self.contacts.values())
        if "email" in request.query:
            chosen = self._by_email(request.query["email"])
        if "listid" in request.query:
            chosen = [c for c in chosen if c["id"] in self.lists[request.query["listid"]]["members"]]
        if "status" in request.query:
            chosen = [c for c in chosen if c["status"] == request.query["status"]]
        if after := request.query.get("filters[updated_after]"):
            chosen = [c for c in chosen if datetime.fromisoformat(c["udate"]) >= datetime.fromisoformat(after)]
        return self._page(request, "contacts", chosen)

    @route("GET", A + r"/contacts/(?P<contact_id>\d+)")
    def get_contact(self, request: StubRequest, contact_id: str) -> Reply:
        found = self.contacts.get(contact_id)
        return (200, {"contact": found}) if found else (404, {"message": f"No Result found for Subscriber with id {contact_id}"})

    @route("PUT", A + r"/contacts/(?P<contact_id>\d+)")
    def update_contact(self, request: StubRequest, contact_id: str) -> Reply:
        found = self.contacts.get(contact_id)
        if found is None:
            return 404, {"message": f"No Result found for Subscriber with id {contact_id}"}
        self._write(found, request.body["contact"])
        return 200, {"contact": found}

    @route("DELETE", A + r"/contacts/(?P<contact_id>\d+)")
    def delete_contact(self, request: StubRequest, contact_id: str) -> Reply:
        if self.contacts.pop(contact_id, None) is None:
            return 404, {"message": f"No Result found for Subscriber with id {contact_id}"}
        self.values = {k: v for k, v in self.values.items() if k[0] != contact_id}
        return 200, {}

    @route("GET", A + r"/contacts/(?P<contact_id>\d+)/fieldValues")
    def contact_values(self, request: StubRequest, contact_id: str) -> Reply:
        rows = [{"contact": c, "field": f, "value": v, "id": f"{c}{f}"} for (c, f), v in self.values.items() if c == contact_id]
        return 200, {"fieldValues": rows}

    @route("GET", A + r"/fieldValues")
    def field_values(self, request: StubRequest) -> Reply:
        field, value = request.query.get("filters[fieldid]"), request.query.get("filters[val]")
        rows = [{"contact": c, "field": f, "value": v} for (c, f), v in self.values.items() if f == field and v == value]
        return 200, {"fieldValues": rows, "meta": {"total": str(len(rows))}}

    @route("POST", A + r"/contact/sync")
    def sync(self, request: StubRequest) -> Reply:
        body = request.body["contact"]
        if "reject" in str(body.get("email")):
            return 422, {
                "errors": [
                    {
                        "title": "Email address is not valid.",
                        "detail": "",
                        "code": "email_invalid",
                        "source": {"pointer": "/data/attributes/email"},
                    }
                ]
            }
        existing = next(iter(self._by_email(body["email"])), None)
        contact = existing or {"id": str(next(self._ids)), "email": body["email"], "status": "1", "cdate": _now()}
        self.contacts[contact["id"]] = contact
        self._write(contact, body)
        values = [{"contact": contact["id"], "field": f, "value": v} for (c, f), v in self.values.items() if c == contact["id"]]
        return (200 if existing else 201), {"fieldValues": values, "contact": contact}

    @route("GET", A + r"/lists")
    def get_lists(self, request: StubRequest) -> Reply:
        name = request.query.get("filters[name]")
        chosen = [
            {k: v for k, v in lst.items() if k != "members"} for lst in self.lists.values() if name is None or lst["name"] == name
        ]
        return self._page(request, "lists", chosen)

    @route("POST", A + r"/lists")
    def create_list(self, request: StubRequest) -> Reply:
        body = request.body["list"]
        missing = [k for k in ("name", "stringid", "sender_url", "sender_reminder") if not body.get(k)]
        if missing:
            return 422, {
                "errors": [
                    {
                        "title": f"{missing[0]} is required",
                        "detail": "",
                        "code": "field_missing",
                        "source": {"pointer": f"/data/attributes/{missing[0]}"},
                    }
                ]
            }
        new = {"id": str(len(self.lists) + 1), **body, "members": set()}
        self.lists[new["id"]] = new
        return 201, {"list": {k: v for k, v in new.items() if k != "members"}}

    @route("POST", A + r"/contactLists")
    def contact_list(self, request: StubRequest) -> Reply:
        body = request.body["contactList"]
        self.lists[str(body["list"])]["members"].add(str(body["contact"]))
        return 201, {"contactList": {**body, "id": "1"}, "contacts": [self.contacts[str(body["contact"])]]}

    @route("GET", A + r"/users/me")
    def me(self, request: StubRequest) -> Reply:
        return 200, {"user": {"id": "1", "username": "admin", "email": "admin@example.org"}}

    # --- what the shared contract test drives ------------------------------------------------------
    def count(self) -> int:
        return len(self.contacts)

    def has(self, email: str) -> bool:
        return bool(self._by_email(email))

    def seed(self, email: str, github_url: str, company: str) -> str:
        contact = {"id": str(next(self._ids)), "email": email, "lastName": "Seeded", "status": "1", "udate": _now()}
        self.contacts[contact["id"]] = contact
        self.values[(contact["id"], "1")] = github_url
        self.values[(contact["id"], "2")] = company
        return str(contact["id"])

    def unsubscribe(self, email: str) -> None:
        self._by_email(email)[0].update(status="2", udate=_now())

    def bounce(self, email: str) -> None:
        self._by_email(email)[0].update(status="3", udate=_now())

    def in_list(self, list_id: str) -> set[str]:
        return set(self.lists[list_id]["members"])
