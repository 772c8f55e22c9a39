"""Marketo Engage over its REST API with httpx (Adobe publishes no Python SDK for it).

- auth: `GET /identity/oauth/token?grant_type=client_credentials` with `options.client_id` and the
  config token as the client secret; the access token is reused until Marketo says 601/602
  (invalid/expired), then fetched again;
- limits: 100 calls in 20 s and 10 at once per instance; Marketo answers HTTP 200 with
  `success: false` and error 606 (rate) or 615 (concurrency), which are retried with backoff like
  a 429; 300 records a call;
- push: `GET /rest/v1/leads.json?filterType=email` and `filterType=<GitHub URL field>` (as
  `POST ?_method=GET` with a form body when 300 values would pass Marketo's 8 KB URL limit),
  then `POST /rest/v1/leads.json` (`createOnly` by email for new leads, `updateOnly` by id for the
  found ones, so a lead found by its GitHub URL is never duplicated under a new email);
- list: a static list (`/rest/asset/v1/staticList/byName.json`, created in `options.folder_id`),
  members added with `POST /rest/v1/lists/{id}/leads.json`;
- pull: activities since a paging token (`/rest/v1/activities/pagingtoken.json`), types 8 (Email
  Bounced), 9 (Unsubscribe Email), 104 (Change Status in Progression);
- forget: `POST /rest/v1/leads/delete.json`.

Reference: https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/lead-database/leads
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tools.destinations.base import DestinationContact, DestinationKind, RemoteChange
from tools.destinations.config import DestinationConfig, DestinationConfigError
from tools.destinations.contact_sync import ContactConnector, ErasureOutcome, usable_emails
from tools.destinations.crm import BatchOutcome, RemoteRecord, Write, contact_values
from tools.destinations.http import DestinationHTTP, RetryLater, VendorHTTPError, batched, with_retries
from tools.destinations.mapping import FieldMapping

DEFAULT_MAPPING = FieldMapping(
    fields={
        "firstName": "first_name",
        "lastName": "last_name",
        "email": "email",
        "company": "company",
        "city": "location",
        "leadSource": "source",
    },
    custom={"githubURL": "github_url", "cmoScore": "score", "cmoSignals": "signals", "cmoEvidence": "evidence_summary"},
)
MAX_BATCH = 300
LONG_QUERY = 6000  # characters of filter values and fields beyond which a lookup goes as POST ?_method=GET
RETRY_CODES = frozenset({"606", "615"})  # rate limit, concurrent access limit
TOKEN_CODES = frozenset({"601", "602"})  # access token invalid, expired
ACTIVITY_KINDS = {8: "bounced", 9: "unsubscribed", 104: "lifecycle_stage"}


class MarketoError(VendorHTTPError):
    """Marketo's `success: false` (HTTP 200): its error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(0, f"Marketo error {code}: {message}")
        self.code = code


def _classify(exc: Exception) -> None:
    if isinstance(exc, MarketoError) and exc.code in RETRY_CODES | TOKEN_CODES:
        raise RetryLater(None)


class Marketo(ContactConnector):
    kind: DestinationKind = "marketing"

    def __init__(self, config: DestinationConfig) -> None:
        if not config.base_url:
            raise DestinationConfigError(f"{config.label}: Marketo needs base_url (https://<munchkin id>.mktorest.com)")
        self.name = config.label
        self.client_id = config.options.get("client_id", "")
        self.client_secret = config.resolved_token()
        self.folder_id = config.options.get("folder_id")
        self.github_field = config.options.get("github_url_field", "githubURL")
        self.batch_size = config.batch_size
        self.max_batch = MAX_BATCH
        self.http = DestinationHTTP(config.base_url, headers={}, rate_limit_per_second=config.rate_limit_per_second)
        self._access: str | None = None

    def _token(self) -> str:
        if self._access is None:
            params = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret}
            body = self.http.request("GET", "/identity/oauth/token", params=params).json()
            if "access_token" not in body:
                raise VendorHTTPError(401, str(body.get("error_description", "Marketo refused the client credentials")))
            self._access = str(body["access_token"])
        return self._access

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        def once() -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {self._token()}"}
            body: dict[str, Any] = self.http.request(method, path, headers=headers, **kwargs).json()
            if body.get("success") is False:
                error = (body.get("errors") or [{}])[0]
                code = str(error.get("code", ""))
                if code in TOKEN_CODES:
                    self._access = None
                raise MarketoError(code, str(error.get("message", "")))
            return body

        return with_retries(once, _classify)

    def _leads(self, filter_type: str, values: Sequence[str], fields: Sequence[str]) -> list[dict[str, Any]]:
        if not values:
            return []
        params = {"filterType": filter_type, "filterValues": ",".join(values), "fields": ",".join(fields)}
        if sum(len(v) for v in params.values()) > LONG_QUERY:  # Marketo's documented way past its 8 KB URL limit
            answer = self._call("POST", "/rest/v1/leads.json", params={"_method": "GET"}, data=params)
        else:
            answer = self._call("GET", "/rest/v1/leads.json", params=params)
        return list(answer.get("result", []))

    def _fields(self, contacts: Sequence[DestinationContact]) -> list[str]:
        names = {"id", "email", self.github_field}
        for contact in contacts:
            names.update(contact_values(contact))
        return sorted(names)

    def _records(self, leads: list[dict[str, Any]]) -> list[RemoteRecord]:
        return [RemoteRecord(id=str(r["id"]), email=r.get("email"), github_url=r.get(self.github_field), values=r) for r in leads]

    def find(self, contacts: Sequence[DestinationContact]) -> list[RemoteRecord]:
        fields = self._fields(contacts)
        urls = [c.github_url for c in contacts if "," not in c.github_url]
        return self._records(self._leads("email", usable_emails(contacts), fields) + self._leads(self.github_field, urls, fields))

    def _sync(self, writes: Sequence[Write], action: str, lookup: str) -> BatchOutcome:
        records = [{**w.values, **({"id": int(w.remote_id)} if w.remote_id else {})} for w in writes]
        rows = self._call("POST", "/rest/v1/leads.json", json={"action": action, "lookupField": lookup, "input": records}).get(
            "result", []
        )
        outcome = BatchOutcome()
        for write, row in zip(writes, rows, strict=False):
            if row.get("status") in ("created", "updated"):
                outcome.ids[write.contact.prospect_id] = str(row["id"])
            else:
                reason = (row.get("reasons") or [{}])[0]
                outcome.errors[write.contact.prospect_id] = f"Marketo {reason.get('code')}: {reason.get('message')}"
        return outcome

    def create(self, writes: Sequence[Write]) -> BatchOutcome:
        return self._sync(writes, "createOnly", "email")

    def update(self, writes: Sequence[Write]) -> BatchOutcome:
        """By id: a lead found by its GitHub URL is updated, never duplicated under a new email."""
        return self._sync(writes, "updateOnly", "id")

    def _static_list(self, name: str) -> str:
        existing = self._call("GET", "/rest/asset/v1/staticList/byName.json", params={"name": name}).get("result") or []
        if existing:
            return str(existing[0]["id"])
        if not self.folder_id:
            raise VendorHTTPError(0, f"static list {name!r} does not exist and options.folder_id is not set to create it")
        form = {"name": name, "folder": f'{{"id":{int(self.folder_id)},"type":"Folder"}}'}
        return str(self._call("POST", "/rest/asset/v1/staticLists.json", data=form)["result"][0]["id"])

    def add_to_list(self, list_name: str, remote_ids: Sequence[str]) -> str:
        list_id = self._static_list(list_name)
        for chunk in batched(list(remote_ids), MAX_BATCH):
            self._call("POST", f"/rest/v1/lists/{list_id}/leads.json", json={"input": [{"id": int(rid)} for rid in chunk]})
        return list_id

    def pull_changes(self, since: datetime) -> list[RemoteChange]:
        token = self._call(
            "GET", "/rest/v1/activities/pagingtoken.json", params={"sinceDatetime": since.astimezone(UTC).isoformat()}
        )["nextPageToken"]
        activities: list[dict[str, Any]] = []
        while True:
            params = {"nextPageToken": token, "activityTypeIds": ",".join(str(t) for t in ACTIVITY_KINDS)}
            body = self._call("GET", "/rest/v1/activities.json", params=params)
            activities.extend(body.get("result", []))
            token = body.get("nextPageToken", token)
            if not body.get("moreResult"):
                break
        ids = sorted({str(a["leadId"]) for a in activities})
        leads = {
            str(r["id"]): r
            for chunk in batched(ids, MAX_BATCH)
            for r in self._leads("id", chunk, ["id", "email", self.github_field])
        }
        return [self._change(a, leads.get(str(a["leadId"]), {})) for a in activities]

    def _change(self, activity: dict[str, Any], lead: dict[str, Any]) -> RemoteChange:
        attributes = {a.get("name"): a.get("value") for a in activity.get("attributes", [])}
        kind = ACTIVITY_KINDS[int(activity["activityTypeId"])]
        value = (
            str(attributes.get("New Status") or activity.get("primaryAttributeValue") or "") if kind == "lifecycle_stage" else ""
        )
        return RemoteChange(
            email=lead.get("email"),
            github_url=lead.get(self.github_field),
            remote_id=str(activity["leadId"]),
            kind=kind,
            value=value,
            occurred_at=datetime.fromisoformat(str(activity["activityDate"]).replace("Z", "+00:00")),
        )

    def find_all(self, email: str | None, github_url: str | None) -> list[str]:
        fields = ["id", "email", self.github_field]
        leads = self._leads("email", [email] if email else [], fields)
        leads += self._leads(self.github_field, [github_url] if github_url and "," not in github_url else [], fields)
        return sorted({str(r["id"]) for r in leads})

    def erase(self, remote_ids: list[str]) -> tuple[ErasureOutcome, str]:
        for chunk in batched(remote_ids, MAX_BATCH):
            self._call("POST", "/rest/v1/leads/delete.json", json={"input": [{"id": int(rid)} for rid in chunk]})
        return "deleted", "leads deleted"

    def probe(self) -> str:
        fields = {f.get("rest", {}).get("name") for f in self._call("GET", "/rest/v1/leads/describe.json").get("result", [])}
        missing = (
            ""
            if self.github_field in fields
            else f"; custom field {self.github_field} is missing (duplicates by GitHub URL go unseen)"
        )
        return f"Marketo answered with {len(fields)} lead fields{missing}"


def create(config: DestinationConfig) -> Marketo:
    return Marketo(config)
