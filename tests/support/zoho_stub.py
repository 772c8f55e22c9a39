"""Zoho CRM contract stub (Leads), shapes from Zoho's REST API reference:
- update: https://www.zoho.com/crm/developer/docs/api/v6/update-records.html (`PUT /Leads`, `id` in each record);
- upsert: https://www.zoho.com/crm/developer/docs/api/v6/upsert-records.html (`data`,
  `duplicate_check_fields`; per record `code`/`status`/`action` insert|update/`details.id`;
  MANDATORY_NOT_FOUND for a lead without Last_Name);
- search: https://www.zoho.com/crm/developer/docs/api/v6/search-records.html (`email=` or
  `criteria=(field:equals:value)`; 204 No Content when nothing matches);
- records: https://www.zoho.com/crm/developer/docs/api/v6/get-records.html (`If-Modified-Since`,
  `page`/`per_page`, `info.more_records`; 304 when nothing changed);
- tags: https://www.zoho.com/crm/developer/docs/api/v8/add-tags.html; delete:
  https://www.zoho.com/crm/developer/docs/api/v6/delete-records.html (`ids=`);
- OAuth: https://www.zoho.com/crm/developer/docs/api/v6/refresh.html (401 INVALID_TOKEN, then
  `POST /oauth/v2/token?grant_type=refresh_token`).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from tests.support.destination_stubs import ContractStub, Reply, StubRequest, paginate, route

V = "/crm/v6"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ZohoStub(ContractStub):
    def __init__(self, token: str = "zoho-access") -> None:
        super().__init__(token)
        self.refresh_token = "zoho-refresh"
        self.leads: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, set[str]] = {}
        self.page_cap = 2  # small pages, so the connector's paging is exercised
        self._ids = itertools.count(5725767000000400001)

    def expected_auth(self) -> dict[str, str]:
        return {}  # checked in _dispatch: the token endpoint takes no access token

    def _dispatch(self, request: StubRequest) -> Reply:
        if not request.path.startswith("/oauth") and request.headers.get("authorization") != f"Zoho-oauthtoken {self.token}":
            return 401, {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"}
        return super()._dispatch(request)

    @route("POST", r"/oauth/v2/token")
    def refresh(self, request: StubRequest) -> Reply:
        if request.query.get("refresh_token") != self.refresh_token or request.query.get("grant_type") != "refresh_token":
            return 200, {"error": "invalid_code"}
        self.token = f"{self.token}-refreshed"
        return 200, {"access_token": self.token, "api_domain": self.url, "token_type": "Bearer", "expires_in": 3600}

    def _match(self, field: str, value: str) -> list[dict[str, Any]]:
        return [lead for lead in self.leads.values() if str(lead.get(field, "")).lower() == value.lower()]

    @route("GET", V + r"/Leads/search")
    def search(self, request: StubRequest) -> Reply:
        if "email" in request.query:
            found = self._match("Email", request.query["email"])
        else:
            field, _, value = request.query["criteria"].strip("()").split(":", 2)
            found = self._match(field, value.replace("\\", ""))
        if not found:
            return 204, None
        return 200, {"data": found, "info": {"per_page": 200, "count": len(found), "page": 1, "more_records": False}}

    @route("POST", V + r"/Leads/upsert")
    def upsert(self, request: StubRequest) -> Reply:
        checks = request.body.get("duplicate_check_fields", ["Email"])
        answers = []
        for record in request.body["data"]:
            existing = self.leads.get(str(record.get("id"))) or next(
                (hit[0] for f in checks if record.get(f) and (hit := self._match(f, str(record[f])))), None
            )
            if "reject" in str(record.get("Email")):
                answers.append(
                    {"code": "INVALID_DATA", "details": {"api_name": "Email"}, "message": "invalid data", "status": "error"}
                )
                continue
            if existing is None and not record.get("Last_Name"):
                answers.append(
                    {
                        "code": "MANDATORY_NOT_FOUND",
                        "details": {"api_name": "Last_Name"},
                        "message": "required field not found",
                        "status": "error",
                    }
                )
                continue
            if existing is None:
                existing = {"id": str(next(self._ids)), "Lead_Status": "Not Contacted", "Email_Opt_Out": False}
                self.leads[existing["id"]] = existing
                action = "insert"
            else:
                action = "update"
            existing.update({k: v for k, v in record.items() if k != "id"}, Modified_Time=_now())
            answers.append(
                {
                    "code": "SUCCESS",
                    "duplicate_field": None,
                    "action": action,
                    "details": {"id": existing["id"]},
                    "message": "record added",
                    "status": "success",
                }
            )
        status = 200 if any(a["status"] == "success" for a in answers) else 400
        return status, {"data": answers}

    @route("PUT", V + r"/Leads")
    def update(self, request: StubRequest) -> Reply:
        answers = []
        for record in request.body["data"]:
            lead = self.leads.get(str(record.get("id")))
            if lead is None:
                answers.append(
                    {
                        "code": "INVALID_DATA",
                        "details": {"api_name": "id"},
                        "message": "the id given seems to be invalid",
                        "status": "error",
                    }
                )
                continue
            lead.update({k: v for k, v in record.items() if k != "id"}, Modified_Time=_now())
            answers.append(
                {
                    "code": "SUCCESS",
                    "details": {"id": lead["id"], "Modified_Time": lead["Modified_Time"]},
                    "message": "record updated",
                    "status": "success",
                }
            )
        return (200 if any(a["status"] == "success" for a in answers) else 400), {"data": answers}

    @route("POST", V + r"/Leads/actions/add_tags")
    def add_tags(self, request: StubRequest) -> Reply:
        for tag in request.body["tags"]:
            self.tags.setdefault(tag["name"], set()).update(request.body["ids"])
        rows = [
            {"code": "SUCCESS", "details": {"id": i, "tags": [t["name"] for t in request.body["tags"]]}, "status": "success"}
            for i in request.body["ids"]
        ]
        return 200, {"data": rows}

    @route("GET", V + r"/Leads")
    def records(self, request: StubRequest) -> Reply:
        since = datetime.fromisoformat(request.headers["if-modified-since"]) if "if-modified-since" in request.headers else None
        changed = sorted(
            (lead for lead in self.leads.values() if since is None or datetime.fromisoformat(lead["Modified_Time"]) >= since),
            key=lambda r: r["Modified_Time"],
        )
        if not changed:
            return 304, None
        per_page = min(int(request.query.get("per_page", 200)), self.page_cap)
        page = int(request.query.get("page", 1))
        chunk = paginate(changed, str((page - 1) * per_page), per_page)
        return 200, {
            "data": chunk.items,
            "info": {
                "per_page": per_page,
                "count": len(chunk.items),
                "page": page,
                "more_records": chunk.next_cursor is not None,
            },
        }

    @route("DELETE", V + r"/Leads")
    def delete(self, request: StubRequest) -> Reply:
        rows = []
        for lead_id in request.query["ids"].split(","):
            gone = self.leads.pop(lead_id, None)
            rows.append(
                {"code": "SUCCESS", "details": {"id": lead_id}, "message": "record deleted", "status": "success"}
                if gone
                else {"code": "INVALID_DATA", "details": {"id": lead_id}, "message": "record not deleted", "status": "error"}
            )
        return 200, {"data": rows}

    @route("GET", V + r"/users")
    def current_user(self, request: StubRequest) -> Reply:
        return 200, {"users": [{"id": "5725767000000411001", "full_name": "Stub Admin", "status": "active"}]}

    # --- what the shared contract test drives ------------------------------------------------------
    def count(self) -> int:
        return len(self.leads)

    def has(self, email: str) -> bool:
        return bool(self._match("Email", email))

    def seed(self, email: str, github_url: str, company: str) -> str:
        lead_id = str(next(self._ids))
        self.leads[lead_id] = {
            "id": lead_id,
            "Email": email,
            "Last_Name": "Seeded",
            "GitHub_URL": github_url,
            "Company": company,
            "Modified_Time": _now(),
        }
        return lead_id

    def unsubscribe(self, email: str) -> None:
        self._match("Email", email)[0].update(Email_Opt_Out=True, Modified_Time=_now())

    def bounce(self, email: str) -> None:
        self._match("Email", email)[0].update(Lead_Status="Junk Lead", Modified_Time=_now())

    def in_list(self, list_id: str) -> set[str]:
        return self.tags.get(list_id, set())
