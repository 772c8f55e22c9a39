"""Pipedrive over httpx (Pipedrive publishes no maintained Python SDK), API v2 with v1 where v2 has no
equivalent. Reference: https://developers.pipedrive.com/docs/api/v1 (Persons, Deals, Stages, Users)
and its v2 pages (https://developers.pipedrive.com/docs/api/v2).

- duplicate search: `GET /api/v2/persons/search?term=&fields=email|custom_fields&exact_match=true`,
  paged by `cursor` / `additional_data.next_cursor`; then `GET /api/v2/persons/{id}` for the values;
- create / update: `POST /api/v2/persons`, `PATCH /api/v2/persons/{id}` (no batch endpoint: one
  request a person, paced by `rate_limit_per_second`); `email` becomes the primary of `emails`, the
  mapping's custom names are Pipedrive's custom-field keys (the 40-character hashes of your account);
- changes: `GET /api/v2/persons?updated_since=` (with `include_fields=marketing_status`: unsubscribes
  from Campaigns) and `GET /api/v2/deals?updated_since=` (the stage's name from `GET /api/v2/stages`;
  won deals), both paged by cursor;
- erasure: `DELETE /api/v2/persons/{id}` (Pipedrive keeps deleted persons 30 days, then purges them);
- Pipedrive has no contact lists: `list_name` is reported as ignored.

Auth: the `x-api-token` header. Limits: 429 (token-based daily budget and burst limits), retried
with `Retry-After` when sent, else backoff. Options: `github_url_field` (the custom field key holding
the GitHub URL; default `github_url`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from tools.destinations.base import (
    AnalyticsEvent,
    ConflictPolicy,
    ConnectionStatus,
    DestinationContact,
    DestinationKind,
    FieldValue,
    ForgetResult,
    PushReport,
    RecordResult,
    RemoteChange,
)
from tools.destinations.config import DestinationConfig
from tools.destinations.crm import BatchOutcome, RemoteRecord, Write, push_records
from tools.destinations.http import DestinationHTTP, VendorHTTPError
from tools.destinations.mapping import FieldMapping

DEFAULT_BASE_URL = "https://api.pipedrive.com"
PAGE = 100
STANDARD = ("name", "email")
DEFAULT_MAPPING = FieldMapping(
    fields={"name": "name", "email": "email"},
    custom={
        "github_url": "github_url",
        "cmo_company": "company",
        "cmo_location": "location",
        "cmo_score": "score",
        "cmo_signals": "signals",
        "cmo_evidence": "evidence_summary",
        "cmo_lawful_basis": "lawful_basis",
        "cmo_source": "source",
    },
)


def _primary_email(person: dict[str, Any]) -> str | None:
    emails = person.get("emails") or []
    primary = next((e for e in emails if e.get("primary")), emails[0] if emails else None)
    return primary.get("value") if primary else None


class PipedriveDestination:
    kind: DestinationKind = "crm"
    max_batch = PAGE

    def __init__(self, config: DestinationConfig) -> None:
        self.name = config.label
        self.config = config
        self.url_field = config.options.get("github_url_field", "github_url")
        self.http = DestinationHTTP(
            config.base_url or DEFAULT_BASE_URL,
            headers={"x-api-token": config.resolved_token(), "Accept": "application/json"},
            rate_limit_per_second=config.rate_limit_per_second,
        )

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[Any]:
        """Every item of a cursor-paged v2 list."""
        cursor: str | None = None
        while True:
            answer = self.http.request(
                "GET", path, params=params | {"limit": PAGE} | ({"cursor": cursor} if cursor else {})
            ).json()
            data = answer.get("data") or []
            yield from data.get("items", []) if isinstance(data, dict) else data
            cursor = (answer.get("additional_data") or {}).get("next_cursor")
            if not cursor:
                return

    def _search(self, term: str, field: str) -> list[int]:
        params = {"term": term, "fields": field, "exact_match": "true"}
        return [int(hit["item"]["id"]) for hit in self._pages("/api/v2/persons/search", params)]

    def _record(self, person: dict[str, Any]) -> RemoteRecord:
        custom = person.get("custom_fields") or {}
        values: dict[str, FieldValue] = {"name": person.get("name"), "email": _primary_email(person)}
        values |= {k: v for k, v in custom.items() if isinstance(v, str | int | float | bool) or v is None}
        url = custom.get(self.url_field)
        return RemoteRecord(
            id=str(person["id"]), email=values["email"], github_url=url if isinstance(url, str) else None, values=values
        )

    def _matching_ids(self, email: str | None, github_url: str | None) -> set[int]:
        ids: set[int] = set()
        if github_url:
            ids |= set(self._search(github_url, "custom_fields"))
        if email:
            ids |= set(self._search(email, "email"))
        return ids

    # --- CrmBackend ---------------------------------------------------------------------------------
    def find(self, contacts: Sequence[DestinationContact]) -> list[RemoteRecord]:
        ids: set[int] = set()
        for contact in contacts:
            ids |= self._matching_ids(contact.email, contact.github_url)
        return [self._record(self.http.request("GET", f"/api/v2/persons/{i}").json()["data"]) for i in sorted(ids)]

    @staticmethod
    def _body(values: dict[str, FieldValue]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if values.get("name") not in (None, ""):
            body["name"] = values["name"]
        if values.get("email") not in (None, ""):
            body["emails"] = [{"value": values["email"], "primary": True, "label": "work"}]
        custom = {k: v for k, v in values.items() if k not in STANDARD}
        if custom:
            body["custom_fields"] = custom
        return body

    def _each(self, writes: Sequence[Write], method: str) -> BatchOutcome:
        outcome = BatchOutcome()
        for write in writes:
            pid = write.contact.prospect_id
            body = self._body(write.values)
            if method == "POST":
                body.setdefault("name", write.contact.fields.get("name") or write.contact.github_url.rsplit("/", 1)[-1])
            path = "/api/v2/persons" if method == "POST" else f"/api/v2/persons/{write.remote_id}"
            try:
                outcome.ids[pid] = str(self.http.request(method, path, json=body).json()["data"]["id"])
            except VendorHTTPError as exc:
                outcome.errors[pid] = str(exc)
        return outcome

    def create(self, writes: Sequence[Write]) -> BatchOutcome:
        return self._each(writes, "POST")

    def update(self, writes: Sequence[Write]) -> BatchOutcome:
        return self._each(writes, "PATCH")

    def add_to_list(self, list_name: str, remote_ids: Sequence[str]) -> str:
        raise NotImplementedError  # never called: push() passes no list (Pipedrive has none)

    # --- Destination ---------------------------------------------------------------------------------
    def test_connection(self) -> ConnectionStatus:
        try:
            me = self.http.request("GET", "/api/v1/users/me").json()["data"]
        except VendorHTTPError as exc:
            return ConnectionStatus(ok=False, detail=f"Pipedrive refused: {exc}")
        return ConnectionStatus(ok=True, detail=f"Pipedrive: company {me.get('company_domain', '?')}")

    def push(self, contacts: Sequence[DestinationContact], *, list_name: str | None, policy: ConflictPolicy) -> PushReport:
        report = push_records(self, self.name, contacts, list_name=None, policy=policy, batch_size=self.config.batch_size)
        if list_name:
            report.list_id = None
            for result in report.results:
                result.detail = "; ".join(filter(None, [result.detail, "Pipedrive has no contact lists: list_name ignored"]))
        return report

    def pull_changes(self, since: datetime) -> list[RemoteChange]:
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        changes: list[RemoteChange] = []
        people: dict[int, dict[str, Any]] = {}
        for person in self._pages("/api/v2/persons", {"updated_since": stamp, "include_fields": "marketing_status"}):
            people[int(person["id"])] = person
            if person.get("marketing_status") == "unsubscribed":
                changes.append(self._change(person, "unsubscribed", "marketing_status", person.get("update_time")))
        stages = {int(s["id"]): s["name"] for s in self._pages("/api/v2/stages", {})}
        for deal in self._pages("/api/v2/deals", {"updated_since": stamp}):
            if not deal.get("person_id"):
                continue
            person = (
                people.get(int(deal["person_id"]))
                or self.http.request("GET", f"/api/v2/persons/{deal['person_id']}").json()["data"]
            )
            value = (
                "won" if deal.get("status") == "won" else stages.get(int(deal.get("stage_id") or 0), str(deal.get("stage_id")))
            )
            changes.append(self._change(person, "deal_stage", value, deal.get("update_time")))
        return changes

    def _change(self, person: dict[str, Any], kind: str, value: str, when: str | None) -> RemoteChange:
        record = self._record(person)
        occurred = datetime.fromisoformat(when.replace("Z", "+00:00")) if when else datetime.now(UTC)
        return RemoteChange(
            email=record.email, github_url=record.github_url, remote_id=record.id, kind=kind, value=value, occurred_at=occurred
        )

    def track(self, events: Sequence[AnalyticsEvent]) -> list[RecordResult]:
        return [RecordResult(prospect_id=e.user_id, outcome="skipped", detail="a CRM takes no analytics events") for e in events]

    def forget(self, *, email: str | None, github_url: str | None, prospect_id: str) -> ForgetResult:
        try:
            ids = sorted(self._matching_ids(email, github_url))
            for person_id in ids:
                self.http.request("DELETE", f"/api/v2/persons/{person_id}")
        except VendorHTTPError as exc:
            return ForgetResult(destination=self.name, outcome="failed", detail=str(exc))
        return ForgetResult(destination=self.name, remote_ids=[str(i) for i in ids], outcome="deleted" if ids else "not_found")


def create(config: DestinationConfig) -> PipedriveDestination:
    return PipedriveDestination(config)
