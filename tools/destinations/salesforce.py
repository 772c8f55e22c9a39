"""Salesforce through `simple-salesforce` (the maintained Python REST client), Leads or Contacts.

Calls (Salesforce REST API Developer Guide, https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/):
- duplicate search: SOQL `SELECT ... FROM Lead WHERE Email IN (...) OR GitHub_URL__c IN (...)` through
  `query_all` (which follows `nextRecordsUrl`); values escaped by `format_soql`;
- new records: sObject Collections upsert by the external-id field holding the GitHub URL,
  `PATCH /composite/sobjects/{object}/{field}` with `allOrNone: false` (idempotent: a second run
  finds the record by its GitHub URL); existing ones: `PATCH /composite/sobjects` by Id; up to 200
  records a request, results in input order with per-record `errors`;
- lists: a Campaign (found by name, else created) and CampaignMember records;
- changes: Lead `Status`, `HasOptedOutOfEmail`, `EmailBouncedReason` and the converted
  Opportunity's `StageName`, for records with `LastModifiedDate >= since`;
- erasure: `DELETE /sobjects/{object}/{id}` (the record goes to the recycle bin, which Salesforce
  empties within 15 days; a hard delete needs the Bulk API's hardDelete permission).

The token is an OAuth access token (`session_id`), `base_url` the org's instance URL. simple-salesforce
always speaks https; `options.ca_file` trusts a private CA (a proxy, or the tests' stub). Options:
`object` (Lead | Contact, default Lead), `github_url_field` (default GitHub_URL__c, an External ID
text field you create), `api_version` (default 59.0), `ca_file`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import requests
from simple_salesforce import Salesforce, format_soql

from tools.destinations.base import (
    AnalyticsEvent,
    ConflictPolicy,
    ConnectionStatus,
    DestinationContact,
    DestinationKind,
    ForgetResult,
    PushReport,
    RecordResult,
    RemoteChange,
)
from tools.destinations.config import DestinationConfig, DestinationConfigError
from tools.destinations.crm import BatchOutcome, RemoteRecord, Write, push_records
from tools.destinations.http import (
    RETRYABLE_STATUSES,
    Pacer,
    RetryLater,
    batched,
    classify_sdk_error,
    retry_after_seconds,
    with_retries,
)
from tools.destinations.mapping import FieldMapping

T = TypeVar("T")
MAX_BATCH = 200
DEFAULT_MAPPING = FieldMapping(
    fields={
        "FirstName": "first_name",
        "LastName": "last_name",
        "Email": "email",
        "Company": "company",
        "City": "location",
        "Country": "country",
        "Website": "github_url",
    },
    custom={
        "GitHub_URL__c": "github_url",
        "CMO_Score__c": "score",
        "CMO_Signals__c": "signals",
        "CMO_Evidence__c": "evidence_summary",
        "CMO_Lawful_Basis__c": "lawful_basis",
        "CMO_Source__c": "source",
    },
)
LEAD_ONLY = frozenset({"Company"})  # a Contact's company is its Account: the field does not exist there
COMPANY_UNKNOWN = "[not provided]"  # Lead.Company is required; Salesforce's own placeholder for web-to-lead


def _errors(result: dict[str, Any]) -> str:
    return "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in result.get("errors") or []) or "refused"


class _Session(requests.Session):
    """The requests session simple-salesforce uses. It keeps the last `Retry-After` (simple-salesforce's
    exceptions carry no headers) and trusts `ca_file` when given: plain `Session.verify` loses to
    REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment (requests merges them over it, psf/requests#3829)."""

    def __init__(self, ca_file: str | None) -> None:
        super().__init__()
        self.ca_file = ca_file
        self.retry_after: float | None = None
        self.hooks["response"].append(self._remember)

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.retry_after = retry_after_seconds(response.headers.get("Retry-After"))

    def merge_environment_settings(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        settings = super().merge_environment_settings(*args, **kwargs)
        if self.ca_file:
            settings["verify"] = self.ca_file
        return settings

    def classify(self, exc: Exception) -> None:
        status = getattr(exc, "status", None)
        if isinstance(status, int) and status in RETRYABLE_STATUSES:
            raise RetryLater(self.retry_after)
        classify_sdk_error(exc)


class SalesforceDestination:
    kind: DestinationKind = "crm"
    max_batch = MAX_BATCH

    def __init__(self, config: DestinationConfig) -> None:
        self.name = config.label
        self.config = config
        self.object = config.options.get("object", "Lead")
        if self.object not in ("Lead", "Contact"):
            raise DestinationConfigError(f"{self.name}: options.object must be Lead or Contact, not {self.object!r}")
        self.url_field = config.options.get("github_url_field", "GitHub_URL__c")
        if not self.url_field.replace("_", "").isalnum():
            raise DestinationConfigError(f"{self.name}: options.github_url_field {self.url_field!r} is not a field name")
        self.session = _Session(config.options.get("ca_file"))
        if not config.base_url:
            raise DestinationConfigError(f"{self.name}: base_url (the org's instance URL) is required for Salesforce")
        self.sf = Salesforce(
            instance_url=config.base_url,
            session_id=config.resolved_token(),
            version=config.options.get("api_version", "59.0"),
            session=self.session,
        )
        self.pacer = Pacer(config.rate_limit_per_second)
        mapping = config.mapping or DEFAULT_MAPPING
        self.skipped = LEAD_ONLY if self.object == "Contact" else frozenset()
        self.mapped = [f for f in {**mapping.fields, **mapping.custom} if f.replace("_", "").isalnum() and f not in self.skipped]

    def _call(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return with_retries(lambda: call(*args, **kwargs), self.session.classify, pacer=self.pacer)

    def _query(self, soql: str) -> list[dict[str, Any]]:
        return list(self._call(self.sf.query_all, soql)["records"])

    def _where(self, emails: Sequence[str], urls: Sequence[str]) -> str:
        parts = [format_soql(f"{self.url_field} IN {{}}", list(urls))] if urls else []
        if emails:
            parts.append(format_soql("Email IN {}", list(emails)))
        return " OR ".join(parts)

    # --- CrmBackend -------------------------------------------------------------------------------------
    def find(self, contacts: Sequence[DestinationContact]) -> list[RemoteRecord]:
        emails = sorted({c.email.lower() for c in contacts if c.email})
        urls = sorted({c.github_url for c in contacts})
        fields = ", ".join(sorted({"Id", "Email", self.url_field, *self.mapped}))
        records = self._query(f"SELECT {fields} FROM {self.object} WHERE {self._where(emails, urls)}")
        return [
            RemoteRecord(
                id=r["Id"],
                email=r.get("Email"),
                github_url=r.get(self.url_field),
                values={k: v for k, v in r.items() if k != "attributes"},
            )
            for r in records
        ]

    def _records(self, writes: Sequence[Write], with_id: bool) -> list[dict[str, Any]]:
        records = []
        for write in writes:
            record: dict[str, Any] = {"attributes": {"type": self.object}, **write.values}
            if with_id:
                record["id"] = write.remote_id
            else:
                record[self.url_field] = write.contact.github_url
                if self.object == "Lead":
                    record.setdefault("Company", COMPANY_UNKNOWN)
                record.setdefault("LastName", write.contact.github_url.rsplit("/", 1)[-1])
            records.append(record)
        return records

    def _collection(self, path: str, writes: Sequence[Write], with_id: bool) -> BatchOutcome:
        body = {"allOrNone": False, "records": self._records(writes, with_id)}
        answer = self._call(self.sf.restful, path, method="PATCH", json=body)
        outcome = BatchOutcome()
        for write, result in zip(writes, answer or [], strict=False):
            if result.get("success"):
                outcome.ids[write.contact.prospect_id] = str(result["id"])
            else:
                outcome.errors[write.contact.prospect_id] = _errors(result)
        return outcome

    def create(self, writes: Sequence[Write]) -> BatchOutcome:
        return self._collection(f"composite/sobjects/{self.object}/{self.url_field}", writes, with_id=False)

    def update(self, writes: Sequence[Write]) -> BatchOutcome:
        return self._collection("composite/sobjects", writes, with_id=True)

    def add_to_list(self, list_name: str, remote_ids: Sequence[str]) -> str:
        found = self._query(format_soql("SELECT Id FROM Campaign WHERE Name = {} LIMIT 1", list_name))
        if found:
            campaign_id = found[0]["Id"]
        else:
            made = self._call(self.sf.restful, "sobjects/Campaign/", method="POST", json={"Name": list_name})
            campaign_id = (made or {})["id"]
        member_field = "LeadId" if self.object == "Lead" else "ContactId"
        for group in batched(list(remote_ids), MAX_BATCH):
            records = [{"attributes": {"type": "CampaignMember"}, "CampaignId": campaign_id, member_field: rid} for rid in group]
            answer = self._call(
                self.sf.restful, "composite/sobjects", method="POST", json={"allOrNone": False, "records": records}
            )
            refused = [
                r
                for r in answer or []
                if not r.get("success") and not any(e.get("statusCode") == "DUPLICATE_VALUE" for e in r.get("errors", []))
            ]
            if refused:
                raise RuntimeError(f"campaign members refused: {_errors(refused[0])}")
        return str(campaign_id)

    # --- Destination -------------------------------------------------------------------------------------
    def test_connection(self) -> ConnectionStatus:
        try:
            limits = self._call(self.sf.restful, "limits/") or {}
        except Exception as exc:
            return ConnectionStatus(ok=False, detail=f"Salesforce refused: {getattr(exc, 'status', '')} {type(exc).__name__}")
        left = (limits.get("DailyApiRequests") or {}).get("Remaining")
        return ConnectionStatus(ok=True, detail=f"Salesforce: {self.object} reachable; daily API requests left: {left}")

    def push(self, contacts: Sequence[DestinationContact], *, list_name: str | None, policy: ConflictPolicy) -> PushReport:
        if self.skipped:  # fields the object does not have are never sent (nor compared)
            contacts = [
                c.model_copy(update={"fields": {k: v for k, v in c.fields.items() if k not in self.skipped}}) for c in contacts
            ]
        return push_records(self, self.name, contacts, list_name=list_name, policy=policy, batch_size=self.config.batch_size)

    def pull_changes(self, since: datetime) -> list[RemoteChange]:
        lead = self.object == "Lead"
        fields = ["Id", "Email", self.url_field, "HasOptedOutOfEmail", "EmailBouncedReason", "LastModifiedDate"]
        fields += ["Status", "ConvertedOpportunityId"] if lead else []
        when = since.astimezone(UTC).replace(microsecond=0)
        records = self._query(format_soql(f"SELECT {', '.join(fields)} FROM {self.object} WHERE LastModifiedDate >= {{}}", when))
        stages: dict[str, str] = {}
        converted = sorted({r["ConvertedOpportunityId"] for r in records if r.get("ConvertedOpportunityId")})
        if converted:
            stages = {
                o["Id"]: o["StageName"]
                for o in self._query(format_soql("SELECT Id, StageName FROM Opportunity WHERE Id IN {}", converted))
            }
        changes: list[RemoteChange] = []
        for r in records:

            def change(
                kind: Literal["lifecycle_stage", "deal_stage", "unsubscribed", "bounced"], value: str, r: dict[str, Any] = r
            ) -> None:
                occurred = datetime.fromisoformat(str(r["LastModifiedDate"]).replace("Z", "+00:00").replace("+0000", "+00:00"))
                changes.append(
                    RemoteChange(
                        email=r.get("Email"),
                        github_url=r.get(self.url_field),
                        remote_id=r["Id"],
                        kind=kind,
                        value=value,
                        occurred_at=occurred,
                    )
                )

            if r.get("Status"):
                change("lifecycle_stage", r["Status"])
            if r.get("ConvertedOpportunityId") in stages:
                change("deal_stage", stages[r["ConvertedOpportunityId"]])
            if r.get("HasOptedOutOfEmail"):
                change("unsubscribed", "HasOptedOutOfEmail")
            if r.get("EmailBouncedReason"):
                change("bounced", r["EmailBouncedReason"])
        return changes

    def track(self, events: Sequence[AnalyticsEvent]) -> list[RecordResult]:
        return [RecordResult(prospect_id=e.user_id, outcome="skipped", detail="a CRM takes no analytics events") for e in events]

    def forget(self, *, email: str | None, github_url: str | None, prospect_id: str) -> ForgetResult:
        if not email and not github_url:
            return ForgetResult(destination=self.name, outcome="not_found", detail="no email or GitHub URL to look for")
        try:
            where = self._where([email.lower()] if email else [], [github_url] if github_url else [])
            ids = sorted(r["Id"] for r in self._query(f"SELECT Id FROM {self.object} WHERE {where}"))
            for record_id in ids:
                self._call(self.sf.restful, f"sobjects/{self.object}/{record_id}", method="DELETE")
        except Exception as exc:
            return ForgetResult(
                destination=self.name, outcome="failed", detail=f"{type(exc).__name__}: {getattr(exc, 'content', exc)}"
            )
        detail = "in the recycle bin until Salesforce empties it (at most 15 days)" if ids else ""
        return ForgetResult(destination=self.name, remote_ids=ids, outcome="deleted" if ids else "not_found", detail=detail)


def create(config: DestinationConfig) -> SalesforceDestination:
    return SalesforceDestination(config)
