"""Marketo Engage contract stub, shapes from Adobe's Marketo REST reference:
- identity: https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/authentication
  (`GET /identity/oauth/token?grant_type=client_credentials`; errors 601/602 for a bad or expired token);
- leads: https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/lead-database/leads
  (`GET /rest/v1/leads.json?filterType=&filterValues=&fields=`, or `POST ?_method=GET` with those
  as a form body for long lookups; `POST` with `action`
  createOnly|updateOnly|createOrUpdate and `lookupField`, per-record `status` created|updated|skipped
  with `reasons` 1004/1005, `POST /rest/v1/leads/delete.json`, `leads/describe.json`);
- limits and errors: https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/error-codes
  (HTTP 200 with `success: false`, 606 rate limit, 615 concurrency);
- static lists: https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/assets/static-lists
  and list membership `POST /rest/v1/lists/{id}/leads.json`;
- activities: https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/lead-database/activities
  (`pagingtoken.json?sinceDatetime=`, `activities.json?nextPageToken=&activityTypeIds=`, `moreResult`).
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

from tests.support.destination_stubs import ContractStub, Reply, StubRequest, paginate, route


def _now() -> datetime:
    return datetime.now(UTC)


def _ok(result: list[Any] | None = None, **extra: Any) -> Reply:
    return 200, {"requestId": "e42b#14272d07d78", "success": True, "result": result or [], **extra}


def _error(code: str, message: str) -> Reply:
    return 200, {"requestId": "e42b#14272d07d78", "success": False, "errors": [{"code": code, "message": message}]}


class MarketoStub(ContractStub):
    def __init__(self, token: str = "marketo-secret") -> None:
        super().__init__(token)
        self.client_id = "marketo-client"
        self.access = ""
        self.leads: dict[int, dict[str, Any]] = {}
        self.lists: dict[int, dict[str, Any]] = {}
        self.activities: list[dict[str, Any]] = []
        self.rate_limited = 0  # the next N REST calls answer 606
        self.page_cap = 2
        self._ids = itertools.count(318581)

    def expected_auth(self) -> dict[str, str]:
        return {}  # Marketo checks the token itself and answers 601 inside HTTP 200

    def _dispatch(self, request: StubRequest) -> Reply:
        if request.path.startswith("/rest"):
            if request.headers.get("authorization") != f"Bearer {self.access}" or not self.access:
                return _error("601", "Access token invalid")
            if self.rate_limited:
                self.rate_limited -= 1
                return _error("606", "Max rate limit '100' exceeded with in '20' secs")
        return super()._dispatch(request)

    @route("GET", r"/identity/oauth/token")
    def identity(self, request: StubRequest) -> Reply:
        if request.query.get("client_id") != self.client_id or request.query.get("client_secret") != self.token:
            return 401, {"error": "unauthorized", "error_description": "Bad client credentials"}
        self.access = f"cdf01657-110d-4155-99a7-f986b2ff13a0:int{len(self.requests)}"
        return 200, {"access_token": self.access, "token_type": "bearer", "expires_in": 3599, "scope": "apis@acmeinc.com"}

    def _find(self, field: str, value: str) -> list[dict[str, Any]]:
        return [lead for lead in self.leads.values() if str(lead.get(field, "")).lower() == value.lower()]

    @route("GET", r"/rest/v1/leads\.json")
    def query(self, request: StubRequest) -> Reply:
        field = request.query["filterType"]
        fields = request.query.get("fields", "id,email,firstName,lastName,updatedAt,createdAt").split(",")
        hits = [lead for value in request.query["filterValues"].split(",") for lead in self._find(field, value)]
        return _ok([{k: lead.get(k) for k in fields if k in lead or k == "id"} for lead in hits])

    @route("POST", r"/rest/v1/leads\.json")
    def sync(self, request: StubRequest) -> Reply:
        if request.query.get("_method") == "GET":  # a long lookup: the query in a form body
            return self.query(StubRequest("GET", request.path, request.body, request.headers, None))
        action, lookup = request.body.get("action", "createOrUpdate"), request.body.get("lookupField", "email")
        rows = []
        for record in request.body["input"]:
            existing = (
                self.leads.get(int(record["id"]))
                if lookup == "id"
                else next(iter(self._find(lookup, str(record.get(lookup, "")))), None)
            )
            if existing is None and action == "updateOnly":
                rows.append({"status": "skipped", "reasons": [{"code": "1004", "message": "Lead not found"}]})
            elif existing is not None and action == "createOnly":
                rows.append({"status": "skipped", "reasons": [{"code": "1005", "message": "Lead already exists"}]})
            elif existing is None and "reject" in str(record.get("email")):
                rows.append({"status": "skipped", "reasons": [{"code": "1003", "message": "Invalid email address"}]})
            else:
                status = "updated" if existing else "created"
                lead = existing or {"id": next(self._ids), "createdAt": _now().isoformat()}
                lead.update({k: v for k, v in record.items() if k != "id"}, updatedAt=_now().isoformat())
                self.leads[lead["id"]] = lead
                rows.append({"id": lead["id"], "status": status})
        return _ok(rows)

    @route("POST", r"/rest/v1/leads/delete\.json")
    def delete(self, request: StubRequest) -> Reply:
        rows = []
        for item in request.body["input"]:
            gone = self.leads.pop(int(item["id"]), None)
            rows.append(
                {"id": item["id"], "status": "deleted"}
                if gone
                else {"id": item["id"], "status": "skipped", "reasons": [{"code": "1004", "message": "Lead not found"}]}
            )
        return _ok(rows)

    @route("GET", r"/rest/v1/leads/describe\.json")
    def describe(self, request: StubRequest) -> Reply:
        names = ["email", "firstName", "lastName", "company", "city", "leadSource", "githubURL", "cmoScore"]
        return _ok(
            [
                {"id": i, "displayName": n, "dataType": "string", "rest": {"name": n, "readOnly": False}}
                for i, n in enumerate(names)
            ]
        )

    @route("GET", r"/rest/asset/v1/staticList/byName\.json")
    def list_by_name(self, request: StubRequest) -> Reply:
        hits = [
            {k: v for k, v in lst.items() if k != "members"}
            for lst in self.lists.values()
            if lst["name"] == request.query["name"]
        ]
        return (
            _ok(hits)
            if hits
            else (
                200,
                {
                    "success": True,
                    "warnings": ["No assets found for the given search criteria."],
                    "errors": [],
                    "requestId": "1#1",
                },
            )
        )

    @route("POST", r"/rest/asset/v1/staticLists\.json")
    def create_list(self, request: StubRequest) -> Reply:
        folder = json.loads(request.body["folder"])
        new = {"id": 1000 + len(self.lists), "name": request.body["name"], "folder": folder, "members": set()}
        self.lists[new["id"]] = new
        return _ok([{k: v for k, v in new.items() if k != "members"}])

    @route("POST", r"/rest/v1/lists/(?P<list_id>\d+)/leads\.json")
    def add_members(self, request: StubRequest, list_id: str) -> Reply:
        target = self.lists[int(list_id)]["members"]
        target.update(int(i["id"]) for i in request.body["input"])
        return _ok([{"id": i["id"], "status": "added"} for i in request.body["input"]])

    @route("GET", r"/rest/v1/activities/pagingtoken\.json")
    def paging_token(self, request: StubRequest) -> Reply:
        since = datetime.fromisoformat(request.query["sinceDatetime"])
        start = next(
            (
                i
                for i, a in enumerate(self.activities)
                if datetime.fromisoformat(a["activityDate"].replace("Z", "+00:00")) >= since
            ),
            len(self.activities),
        )
        return 200, {"requestId": "1#1", "success": True, "nextPageToken": f"TOKEN{start}"}

    @route("GET", r"/rest/v1/activities\.json")
    def activity_page(self, request: StubRequest) -> Reply:
        types = {int(t) for t in request.query["activityTypeIds"].split(",")}
        start = int(request.query["nextPageToken"].removeprefix("TOKEN"))
        page = paginate(self.activities, str(start), self.page_cap)
        following = f"TOKEN{page.next_cursor or len(self.activities)}"
        items = [a for a in page.items if a["activityTypeId"] in types]
        return 200, {
            "requestId": "1#1",
            "success": True,
            "result": items,
            "nextPageToken": following,
            "moreResult": page.next_cursor is not None,
        }

    # --- what the shared contract test drives ------------------------------------------------------
    def count(self) -> int:
        return len(self.leads)

    def has(self, email: str) -> bool:
        return bool(self._find("email", email))

    def seed(self, email: str, github_url: str, company: str) -> str:
        lead_id = next(self._ids)
        self.leads[lead_id] = {"id": lead_id, "email": email, "lastName": "Seeded", "githubURL": github_url, "company": company}
        return str(lead_id)

    def _activity(self, email: str, type_id: int, **extra: Any) -> None:
        lead = self._find("email", email)[0]
        stamp = _now().isoformat().replace("+00:00", "Z")
        self.activities.append(
            {"id": len(self.activities) + 1, "leadId": lead["id"], "activityDate": stamp, "activityTypeId": type_id, **extra}
        )

    def unsubscribe(self, email: str) -> None:
        self._activity(email, 9, primaryAttributeValue="Newsletter", attributes=[])

    def bounce(self, email: str) -> None:
        self._activity(email, 8, primaryAttributeValue="Welcome email", attributes=[{"name": "Category", "value": "1"}])

    def in_list(self, list_id: str) -> set[str]:
        return {str(i) for i in self.lists[int(list_id)]["members"]}
