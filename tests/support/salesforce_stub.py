"""A Salesforce REST API contract stub (over TLS: simple-salesforce speaks https only): SOQL queries
with `nextRecordsUrl` paging, sObject Collections (upsert by external id, update by Id, create),
sObject create/delete, and limits.

Follows the REST API Developer Guide (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/):
`/services/data/vXX.X/query?q=` answers `{totalSize, done, records, nextRecordsUrl}` with each record's
`attributes {type, url}`; `PATCH /composite/sobjects/{object}/{externalIdField}` and
`PATCH|POST /composite/sobjects` answer a list in input order of `{id, success, errors, created}`
(`allOrNone: false`: each record on its own); errors carry `statusCode` and `message`
(REQUIRED_FIELD_MISSING, DUPLICATE_VALUE, FIELD_CUSTOM_VALIDATION_EXCEPTION); a bad session is a
401 `[{"errorCode": "INVALID_SESSION_ID", ...}]`. The SOQL understood is the subset the connector
writes: `SELECT f, ... FROM o [WHERE c OR c ...] [LIMIT n]` with `IN (...)`, `= '...'` and `>= datetime`.
"""

from __future__ import annotations

import itertools
import re
import ssl
from datetime import UTC, datetime
from typing import Any

from tests.support.destination_stubs import ContractStub, Reply, StubRequest, route

V = "/services/data/v59.0"
PREFIX = {"Lead": "00Q", "Contact": "003", "Campaign": "701", "CampaignMember": "00v", "Opportunity": "006"}
QUERY_BATCH = 2000  # Salesforce's default query batch size (tests lower it with page_cap)
_QUERY = re.compile(r"SELECT (?P<fields>.+?) FROM (?P<object>\w+)(?: WHERE (?P<where>.+?))?(?: LIMIT (?P<limit>\d+))?", re.S)
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace("+0000", "+00:00"))


class SalesforceStub(ContractStub):
    def __init__(self, tls: ssl.SSLContext, token: str = "test-token") -> None:
        super().__init__(token, tls=tls)
        self._ids = itertools.count(1)
        self.objects: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in PREFIX}
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self.refuse_github_url: str | None = None

    def auth_failure(self) -> Reply:
        return 401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]

    def insert(self, object_name: str, **fields: Any) -> str:
        record_id = f"{PREFIX[object_name]}{next(self._ids):015d}"
        defaults = {"HasOptedOutOfEmail": False} if object_name in ("Lead", "Contact") else {}
        self.objects[object_name][record_id] = defaults | fields | {"Id": record_id, "LastModifiedDate": _stamp()}
        return record_id

    def touch(self, object_name: str, record_id: str, **fields: Any) -> None:
        self.objects[object_name][record_id].update(fields | {"LastModifiedDate": _stamp()})

    # --- SOQL -----------------------------------------------------------------------------------------
    @staticmethod
    def _condition(record: dict[str, Any], condition: str) -> bool:
        condition = condition.strip()
        if m := re.fullmatch(r"(\w+) IN \((.*)\)", condition, re.S):
            wanted = {v.replace("\\'", "'").lower() for v in _QUOTED.findall(m[2])}
            return str(record.get(m[1]) or "").lower() in wanted
        if m := re.fullmatch(r"(\w+) = (.+)", condition):
            return str(record.get(m[1]) or "") == _QUOTED.findall(m[2])[0]
        if m := re.fullmatch(r"(\w+) >= (\S+)", condition):
            return bool(record.get(m[1])) and _when(record[m[1]]) >= _when(m[2])
        raise ValueError(f"SOQL the stub does not know: {condition}")

    def _shape(self, object_name: str, record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        attributes = {"type": object_name, "url": f"{V}/sobjects/{object_name}/{record['Id']}"}
        return {"attributes": attributes} | {f: record.get(f) for f in fields}

    def _page(self, records: list[dict[str, Any]], total: int) -> Reply:
        size = self.page_size(QUERY_BATCH, QUERY_BATCH)
        head, rest = records[:size], records[size:]
        answer: dict[str, Any] = {"totalSize": total, "done": not rest, "records": head}
        if rest:
            cursor = f"01gD0000000{next(self._ids):07d}-{size}"
            self._cursors[cursor] = rest
            answer["nextRecordsUrl"] = f"{V}/query/{cursor}"
        return 200, answer

    @route("GET", rf"{V}/query/?")
    def query(self, request: StubRequest) -> Reply:
        m = _QUERY.fullmatch(request.query["q"].strip())
        if not m or m["object"] not in self.objects:
            return 400, [{"message": "unexpected token", "errorCode": "MALFORMED_QUERY"}]
        fields = [f.strip() for f in m["fields"].split(",")]
        conditions = m["where"].split(" OR ") if m["where"] else []
        hits = [r for r in self.objects[m["object"]].values() if not conditions or any(self._condition(r, c) for c in conditions)]
        hits = hits[: int(m["limit"])] if m["limit"] else hits
        return self._page([self._shape(m["object"], r, fields) for r in hits], len(hits))

    @route("GET", rf"{V}/query/(?P<cursor>[\w-]+)")
    def query_more(self, request: StubRequest, cursor: str) -> Reply:
        rest = self._cursors.pop(cursor, None)
        if rest is None:
            return 400, [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]
        return self._page(rest, len(rest))

    # --- writes -----------------------------------------------------------------------------------------
    def _write(self, object_name: str, record: dict[str, Any], record_id: str | None) -> dict[str, Any]:
        fields = {k: v for k, v in record.items() if k not in ("attributes", "id")}
        if self.refuse_github_url and fields.get("GitHub_URL__c") == self.refuse_github_url:
            return {
                "success": False,
                "errors": [{"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "GitHub URL refused", "fields": []}],
            }
        if record_id is not None:
            if record_id not in self.objects[object_name]:
                return {
                    "id": record_id,
                    "success": False,
                    "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}],
                }
            self.touch(object_name, record_id, **fields)
            return {"id": record_id, "success": True, "errors": [], "created": False}
        missing = [
            f for f in {"Lead": ["LastName", "Company"], "Contact": ["LastName"]}.get(object_name, []) if not fields.get(f)
        ]
        if missing:
            return {
                "success": False,
                "errors": [
                    {
                        "statusCode": "REQUIRED_FIELD_MISSING",
                        "message": f"Required fields are missing: {missing}",
                        "fields": missing,
                    }
                ],
            }
        return {"id": self.insert(object_name, **fields), "success": True, "errors": [], "created": True}

    @route("PATCH", rf"{V}/composite/sobjects/(?P<object_name>\w+)/(?P<field>\w+)")
    def upsert(self, request: StubRequest, object_name: str, field: str) -> Reply:
        results = []
        for record in request.body["records"]:
            key = record.get(field)
            existing = next((i for i, r in self.objects[object_name].items() if key and r.get(field) == key), None)
            results.append(self._write(object_name, record, existing))
        return 200, results

    @route("PATCH", rf"{V}/composite/sobjects")
    def update(self, request: StubRequest) -> Reply:
        return 200, [self._write(r["attributes"]["type"], r, r["id"]) for r in request.body["records"]]

    @route("POST", rf"{V}/composite/sobjects")
    def create(self, request: StubRequest) -> Reply:
        results = []
        for record in request.body["records"]:
            kind = record["attributes"]["type"]
            if kind == "CampaignMember" and any(
                m["CampaignId"] == record["CampaignId"]
                and m.get("LeadId") == record.get("LeadId")
                and m.get("ContactId") == record.get("ContactId")
                for m in self.objects["CampaignMember"].values()
            ):
                results.append(
                    {
                        "success": False,
                        "errors": [{"statusCode": "DUPLICATE_VALUE", "message": "already a campaign member", "fields": []}],
                    }
                )
                continue
            results.append(self._write(kind, record, None))
        return 200, results

    @route("POST", rf"{V}/sobjects/(?P<object_name>\w+)/?")
    def create_one(self, request: StubRequest, object_name: str) -> Reply:
        return 201, self._write(object_name, request.body, None)

    @route("DELETE", rf"{V}/sobjects/(?P<object_name>\w+)/(?P<record_id>\w+)")
    def delete(self, request: StubRequest, object_name: str, record_id: str) -> Reply:
        if self.objects[object_name].pop(record_id, None) is None:
            return 404, [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
        return 204, None

    @route("GET", rf"{V}/limits/?")
    def limits(self, request: StubRequest) -> Reply:
        return 200, {"DailyApiRequests": {"Max": 15000, "Remaining": 15000 - len(self.requests)}}
