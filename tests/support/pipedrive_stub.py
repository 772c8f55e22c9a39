"""A Pipedrive contract stub: persons (v2 search, get, create, patch, delete, list by updated_since),
deals and stages (v2), users/me (v1).

Follows Pipedrive's API reference (https://developers.pipedrive.com/docs/api/v1 and its v2 pages):
the `x-api-token` header; answers wrapped as `{"success": true, "data": ...}`; v2 lists paged by
`cursor` with `additional_data.next_cursor`; person search answers `data.items[].item` with
`result_score`; `emails` as `[{value, primary, label}]`, custom fields under `custom_fields` keyed
by field key; errors as `{"success": false, "error": "..."}`; deleting answers `data.id`.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from tests.support.destination_stubs import ContractStub, Reply, StubRequest, paginate, route


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PipedriveStub(ContractStub):
    def __init__(self, token: str = "test-token") -> None:
        super().__init__(token)
        self._ids = itertools.count(1)
        self.persons: dict[int, dict[str, Any]] = {}
        self.deals: dict[int, dict[str, Any]] = {}
        self.stages = {1: "Qualified", 2: "Demo Scheduled", 3: "Trial Started"}
        self.refuse_github_url: str | None = None

    def expected_auth(self) -> dict[str, str]:
        return {"x-api-token": self.token}

    def auth_failure(self) -> Reply:
        return 401, {"success": False, "error": "unauthorized access", "errorCode": 401}

    def add_person(self, name: str, email: str | None = None, **custom: Any) -> int:
        person_id = next(self._ids)
        self.persons[person_id] = {
            "id": person_id,
            "name": name,
            "emails": [{"value": email, "primary": True, "label": "work"}] if email else [],
            "custom_fields": dict(custom),
            "add_time": _now(),
            "update_time": _now(),
            "marketing_status": "subscribed",
        }
        return person_id

    def add_deal(self, person_id: int, stage_id: int, status: str = "open") -> int:
        deal_id = next(self._ids)
        self.deals[deal_id] = {
            "id": deal_id,
            "person_id": person_id,
            "stage_id": stage_id,
            "status": status,
            "update_time": _now(),
        }
        return deal_id

    def touch(self, person_id: int, **changes: Any) -> None:
        self.persons[person_id].update(changes | {"update_time": _now()})

    @staticmethod
    def _since(items: list[dict[str, Any]], since: str | None) -> list[dict[str, Any]]:
        return [i for i in items if not since or i["update_time"] >= since]

    def _page(self, items: list[Any], request: StubRequest) -> Reply:
        chunk = paginate(items, request.query.get("cursor"), self.page_size(int(request.query.get("limit", 100)), 500))
        return 200, {"success": True, "data": chunk.items, "additional_data": {"next_cursor": chunk.next_cursor}}

    def _shown(self, person: dict[str, Any], request: StubRequest) -> dict[str, Any]:
        extra = set((request.query.get("include_fields") or "").split(","))
        return {k: v for k, v in person.items() if k != "marketing_status" or "marketing_status" in extra}

    @route("GET", r"/api/v1/users/me")
    def me(self, request: StubRequest) -> Reply:
        return 200, {"success": True, "data": {"id": 1, "name": "Stub Admin", "company_domain": "stub"}}

    @route("GET", r"/api/v2/persons/search")
    def search(self, request: StubRequest) -> Reply:
        term, fields = request.query["term"].lower(), request.query.get("fields", "")
        hits = []
        for person in self.persons.values():
            values = []
            if "email" in fields:
                values += [e["value"].lower() for e in person["emails"]]
            if "custom_fields" in fields:
                values += [str(v).lower() for v in person["custom_fields"].values()]
            if term in values:
                hits.append({"result_score": 1.0, "item": {"id": person["id"], "type": "person", "name": person["name"]}})
        chunk = paginate(hits, request.query.get("cursor"), self.page_size(int(request.query.get("limit", 100)), 100))
        return 200, {"success": True, "data": {"items": chunk.items}, "additional_data": {"next_cursor": chunk.next_cursor}}

    @route("GET", r"/api/v2/persons")
    def list_persons(self, request: StubRequest) -> Reply:
        persons = self._since(list(self.persons.values()), request.query.get("updated_since"))
        return self._page([self._shown(p, request) for p in persons], request)

    @route("GET", r"/api/v2/persons/(?P<person_id>\d+)")
    def get_person(self, request: StubRequest, person_id: str) -> Reply:
        if int(person_id) not in self.persons:
            return 404, {"success": False, "error": "Person not found", "errorCode": 404}
        return 200, {"success": True, "data": self._shown(self.persons[int(person_id)], request)}

    def _refused(self, body: dict[str, Any]) -> Reply | None:
        if self.refuse_github_url and (body.get("custom_fields") or {}).get("github_url") == self.refuse_github_url:
            return 400, {"success": False, "error": "Invalid value for custom field github_url", "errorCode": 400}
        return None

    @route("POST", r"/api/v2/persons")
    def create_person(self, request: StubRequest) -> Reply:
        body = request.body
        if refused := self._refused(body):
            return refused
        if not body.get("name"):
            return 400, {"success": False, "error": "Name must be given", "errorCode": 400}
        person_id = self.add_person(body["name"], **(body.get("custom_fields") or {}))
        self.persons[person_id]["emails"] = body.get("emails", [])
        return 200, {"success": True, "data": self.persons[person_id]}

    @route("PATCH", r"/api/v2/persons/(?P<person_id>\d+)")
    def patch_person(self, request: StubRequest, person_id: str) -> Reply:
        body, person = request.body, self.persons.get(int(person_id))
        if person is None:
            return 404, {"success": False, "error": "Person not found", "errorCode": 404}
        if refused := self._refused(body):
            return refused
        person["custom_fields"].update(body.get("custom_fields") or {})
        self.touch(int(person_id), **{k: v for k, v in body.items() if k in ("name", "emails")})
        return 200, {"success": True, "data": person}

    @route("DELETE", r"/api/v2/persons/(?P<person_id>\d+)")
    def delete_person(self, request: StubRequest, person_id: str) -> Reply:
        if self.persons.pop(int(person_id), None) is None:
            return 404, {"success": False, "error": "Person not found", "errorCode": 404}
        return 200, {"success": True, "data": {"id": int(person_id)}}

    @route("GET", r"/api/v2/deals")
    def list_deals(self, request: StubRequest) -> Reply:
        return self._page(self._since(list(self.deals.values()), request.query.get("updated_since")), request)

    @route("GET", r"/api/v2/stages")
    def list_stages(self, request: StubRequest) -> Reply:
        return self._page([{"id": i, "name": n, "pipeline_id": 1} for i, n in self.stages.items()], request)
