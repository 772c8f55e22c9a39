"""A HubSpot CRM v3 contract stub: the contacts, search, batch, lists and GDPR-delete shapes.

Follows HubSpot's API reference (https://developers.hubspot.com/docs/api/crm/contacts, .../crm/search,
https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts,
.../crm/lists, .../crm/associations/associations-v4, and .../api/usage-details for 429s): private-app bearer tokens; search filter groups
are ORed, filters in a group ANDed, `IN`/`EQ`/`GTE` operators, `after` cursors, `paging.next.after`;
batch answers carry `objectWriteTraceId`, 201/200 when all succeed and 207 with `errors` (each with
`context.objectWriteTraceId`) when some fail; email is unique (a create with a known email is an
error); GDPR delete answers 204.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from tests.support.destination_stubs import ContractStub, Reply, StubRequest, paginate, route


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class HubSpotStub(ContractStub):
    def __init__(self, token: str = "test-token") -> None:
        super().__init__(token)
        self._ids = itertools.count(101)
        self.contacts: dict[str, dict[str, Any]] = {}  # id -> {"properties": {...}, "updatedAt": ...}
        self.lists: dict[str, dict[str, Any]] = {}
        self.memberships: dict[str, list[str]] = {}
        self.refuse_github_url: str | None = None  # inputs carrying this github_url fail (a 207 partial failure)
        self.gdpr_deleted: list[str] = []
        self.deals: dict[str, dict[str, Any]] = {}  # id -> {"properties", "updatedAt", "contacts": [ids]}

    # --- helpers for tests --------------------------------------------------------------------------------
    def add_contact(self, **properties: Any) -> str:
        contact_id = str(next(self._ids))
        when = _now()
        self.contacts[contact_id] = {
            "properties": {k: str(v) for k, v in properties.items()} | {"lastmodifieddate": when},
            "updatedAt": when,
        }
        return contact_id

    def add_deal(self, contact_id: str, stage: str) -> str:
        deal_id = str(next(self._ids))
        when = _now()
        self.deals[deal_id] = {
            "properties": {"dealstage": stage, "hs_lastmodifieddate": when},
            "updatedAt": when,
            "contacts": [contact_id],
        }
        return deal_id

    def _object(self, contact_id: str, properties: list[str] | None = None, trace: str | None = None) -> dict[str, Any]:
        props = self.contacts[contact_id]["properties"]
        shown = {k: props.get(k) for k in properties} if properties else dict(props)
        answer = {
            "id": contact_id,
            "properties": shown | {"hs_object_id": contact_id},
            "createdAt": _now(),
            "updatedAt": self.contacts[contact_id]["updatedAt"],
            "archived": False,
        }
        return answer | ({"objectWriteTraceId": trace} if trace else {})

    def _by_email(self, email: str) -> str | None:
        return next((i for i, c in self.contacts.items() if c["properties"].get("email", "").lower() == email.lower()), None)

    def _write(self, contact_id: str, properties: dict[str, str]) -> None:
        when = _now()
        self.contacts[contact_id]["properties"].update(properties | {"lastmodifieddate": when})
        self.contacts[contact_id]["updatedAt"] = when

    @staticmethod
    def _matches(props: dict[str, str], flt: dict[str, Any]) -> bool:
        value = props.get(flt["propertyName"])
        if flt["operator"] == "IN":
            return value is not None and value.lower() in {v.lower() for v in flt["values"]}
        if flt["operator"] == "EQ":
            return value is not None and value.lower() == str(flt["value"]).lower()
        if flt["operator"] == "GTE":
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000 if value else 0
            return stamp >= float(flt["value"])
        raise ValueError(flt["operator"])

    def _batch_answer(self, results: list[dict[str, Any]], errors: list[dict[str, Any]], ok: int) -> Reply:
        body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": _now(), "completedAt": _now()}
        if errors:
            return 207, body | {"numErrors": len(errors), "errors": errors}
        return ok, body

    def _refused(self, item: dict[str, Any]) -> dict[str, Any] | None:
        if self.refuse_github_url and item.get("properties", {}).get("github_url") == self.refuse_github_url:
            return {
                "status": "error",
                "category": "VALIDATION_ERROR",
                "message": "Property values were not valid: github_url",
                "context": {"objectWriteTraceId": [item.get("objectWriteTraceId")]},
            }
        return None

    # --- routes -------------------------------------------------------------------------------------------------
    @route("GET", r"/crm/v3/objects/contacts")
    def page(self, request: StubRequest) -> Reply:
        chunk = paginate(
            sorted(self.contacts), request.query.get("after"), self.page_size(int(request.query.get("limit", 10)), 100)
        )
        paging = {"next": {"after": chunk.next_cursor}} if chunk.next_cursor else None
        return 200, {"results": [self._object(i) for i in chunk.items]} | ({"paging": paging} if paging else {})

    @route("POST", r"/crm/v3/objects/contacts/search")
    def search(self, request: StubRequest) -> Reply:
        body = request.body
        groups = body.get("filterGroups") or []
        hits = [
            i
            for i, c in sorted(self.contacts.items())
            if not groups or any(all(self._matches(c["properties"], f) for f in g["filters"]) for g in groups)
        ]
        chunk = paginate(hits, body.get("after"), self.page_size(int(body.get("limit") or 10), 200))
        answer: dict[str, Any] = {"total": chunk.total, "results": [self._object(i, body.get("properties")) for i in chunk.items]}
        if chunk.next_cursor:
            answer["paging"] = {"next": {"after": chunk.next_cursor, "link": "?after=" + chunk.next_cursor}}
        return 200, answer

    @route("POST", r"/crm/v3/objects/deals/search")
    def search_deals(self, request: StubRequest) -> Reply:
        body = request.body
        groups = body.get("filterGroups") or []
        hits = [
            i
            for i, d in sorted(self.deals.items())
            if any(all(self._matches(d["properties"], f) for f in g["filters"]) for g in groups)
        ]
        chunk = paginate(hits, body.get("after"), self.page_size(int(body.get("limit") or 10), 200))
        results = [
            {
                "id": i,
                "properties": {k: self.deals[i]["properties"].get(k) for k in body.get("properties", [])},
                "createdAt": _now(),
                "updatedAt": self.deals[i]["updatedAt"],
                "archived": False,
            }
            for i in chunk.items
        ]
        answer: dict[str, Any] = {"total": chunk.total, "results": results}
        if chunk.next_cursor:
            answer["paging"] = {"next": {"after": chunk.next_cursor}}
        return 200, answer

    @route("POST", r"/crm/v4/associations/deals/contacts/batch/read")
    def deal_contacts(self, request: StubRequest) -> Reply:
        results = [
            {
                "from": {"id": item["id"]},
                "to": [
                    {"toObjectId": int(c), "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}]}
                    for c in self.deals[item["id"]]["contacts"]
                    if c in self.contacts
                ],
            }
            for item in request.body["inputs"]
            if item["id"] in self.deals
        ]
        return 200, {"status": "COMPLETE", "results": results, "startedAt": _now(), "completedAt": _now()}

    @route("POST", r"/crm/v3/objects/contacts/batch/read")
    def batch_read(self, request: StubRequest) -> Reply:
        found = [
            self._object(item["id"], request.body.get("properties"))
            for item in request.body["inputs"]
            if item["id"] in self.contacts
        ]
        return 200, {"status": "COMPLETE", "results": found, "startedAt": _now(), "completedAt": _now()}

    @route("POST", r"/crm/v3/objects/contacts/batch/upsert")
    def upsert(self, request: StubRequest) -> Reply:
        results, errors = [], []
        for item in request.body["inputs"]:
            if refused := self._refused(item):
                errors.append(refused)
                continue
            assert item["idProperty"] == "email"
            contact_id = self._by_email(item["id"]) or self.add_contact(email=item["id"])
            self._write(contact_id, item["properties"])
            results.append(self._object(contact_id, trace=item.get("objectWriteTraceId")))
        return self._batch_answer(results, errors, 200)

    @route("POST", r"/crm/v3/objects/contacts/batch/create")
    def batch_create(self, request: StubRequest) -> Reply:
        results, errors = [], []
        for item in request.body["inputs"]:
            email = item["properties"].get("email")
            if refused := self._refused(item):
                errors.append(refused)
            elif email and self._by_email(email):
                errors.append(
                    {
                        "status": "error",
                        "category": "CONFLICT",
                        "message": "Contact already exists",
                        "context": {"objectWriteTraceId": [item.get("objectWriteTraceId")]},
                    }
                )
            else:
                contact_id = self.add_contact(**item["properties"])
                results.append(self._object(contact_id, trace=item.get("objectWriteTraceId")))
        return self._batch_answer(results, errors, 201)

    @route("POST", r"/crm/v3/objects/contacts/batch/update")
    def batch_update(self, request: StubRequest) -> Reply:
        results, errors = [], []
        for item in request.body["inputs"]:
            if refused := self._refused(item):
                errors.append(refused)
            elif item["id"] not in self.contacts:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": "not found",
                        "context": {"objectWriteTraceId": [item.get("objectWriteTraceId")]},
                    }
                )
            else:
                self._write(item["id"], item["properties"])
                results.append(self._object(item["id"], trace=item.get("objectWriteTraceId")))
        return self._batch_answer(results, errors, 200)

    @route("POST", r"/crm/v3/objects/contacts/gdpr-delete")
    def gdpr_delete(self, request: StubRequest) -> Reply:
        body = request.body
        contact_id = self._by_email(body["objectId"]) if body.get("idProperty") == "email" else body["objectId"]
        if contact_id not in self.contacts:
            return 404, {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "resource not found"}
        del self.contacts[contact_id]
        self.gdpr_deleted.append(contact_id)
        return 204, None

    @route("GET", r"/crm/v3/lists/object-type-id/0-1/name/(?P<name>[^/]+)")
    def list_by_name(self, request: StubRequest, name: str) -> Reply:
        from urllib.parse import unquote

        found = next((lst for lst in self.lists.values() if lst["name"] == unquote(name)), None)
        if found is None:
            return 404, {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "List does not exist"}
        return 200, {"list": found}

    @route("POST", r"/crm/v3/lists/?")
    def create_list(self, request: StubRequest) -> Reply:
        list_id = str(next(self._ids))
        self.lists[list_id] = {
            "listId": list_id,
            "name": request.body["name"],
            "objectTypeId": request.body["objectTypeId"],
            "processingType": request.body["processingType"],
            "size": 0,
        }
        self.memberships[list_id] = []
        return 200, {"list": self.lists[list_id]}

    @route("PUT", r"/crm/v3/lists/(?P<list_id>\d+)/memberships/add")
    def add_members(self, request: StubRequest, list_id: str) -> Reply:
        if list_id not in self.lists:
            return 404, {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "List does not exist"}
        added = [i for i in request.body if i not in self.memberships[list_id]]
        self.memberships[list_id].extend(added)
        return 200, {"recordIdsAdded": added, "recordsIdsMissing": []}
