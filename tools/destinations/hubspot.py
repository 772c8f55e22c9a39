"""HubSpot CRM through its maintained SDK (`hubspot-api-client`), CRM v3.

Calls (https://developers.hubspot.com/docs/api/crm/contacts, .../crm/search, .../crm/lists):
- duplicate search: `POST /crm/v3/objects/contacts/search`, two filter groups (OR): `email IN [...]`
  and `<github_url_property> IN [...]`, paged by `after` (at most 100 values an IN, 200 a page);
- new contacts: `POST /crm/v3/objects/contacts/batch/upsert` with `idProperty: email` (idempotent
  even if another writer created the contact meanwhile), or `batch/create` when there is no email;
  existing ones: `batch/update` by record id; `objectWriteTraceId` carries our prospect id so each
  result and each error of a 207 answer is matched to its record; at most 100 inputs a batch;
- lists: `GET /crm/v3/lists/object-type-id/0-1/name/{name}`, else `POST /crm/v3/lists` (MANUAL),
  then `PUT /crm/v3/lists/{listId}/memberships/add`;
- changes: contacts searched by `lastmodifieddate >= since` (lifecycle stage, opt-out, hard bounce)
  and deals by `hs_lastmodifieddate >= since` (their `dealstage`, for each associated contact: v4
  associations batch read, then the contacts' batch read);
- erasure: `POST /crm/v3/objects/contacts/gdpr-delete` (HubSpot's permanent GDPR delete).

Limits: 429 with `Retry-After` (https://developers.hubspot.com/docs/api/usage-details); the SDK's own
urllib3 retries are off so the shared policy in `http.py` decides. Options: `github_url_property`
(default `github_url`, a custom contact property you create in HubSpot).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from hubspot import HubSpot  # type: ignore[import-untyped]

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
from tools.destinations.config import DestinationConfig
from tools.destinations.crm import BatchOutcome, RemoteRecord, Write, push_records
from tools.destinations.http import Pacer, batched, classify_sdk_error, with_retries
from tools.destinations.mapping import FieldMapping

T = TypeVar("T")
DEFAULT_BASE_URL = "https://api.hubapi.com"
CONTACTS_OBJECT_TYPE = "0-1"
MAX_BATCH = 100
SEARCH_PAGE = 100
DEFAULT_MAPPING = FieldMapping(
    fields={
        "email": "email",
        "firstname": "first_name",
        "lastname": "last_name",
        "company": "company",
        "city": "location",
        "country": "country",
        "website": "github_url",
    },
    custom={
        "github_url": "github_url",
        "cmo_score": "score",
        "cmo_signals": "signals",
        "cmo_evidence": "evidence_summary",
        "cmo_lawful_basis": "lawful_basis",
        "cmo_source": "source",
    },
)


def _text(value: object) -> str:
    return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


class HubSpotDestination:
    kind: DestinationKind = "crm"
    max_batch = MAX_BATCH

    def __init__(self, config: DestinationConfig) -> None:
        self.name = config.label
        self.config = config
        self.url_property = config.options.get("github_url_property", "github_url")
        self.client = HubSpot(access_token=config.resolved_token(), host=(config.base_url or DEFAULT_BASE_URL).rstrip("/"))
        self.pacer = Pacer(config.rate_limit_per_second)
        self.mapped = list({**(config.mapping or DEFAULT_MAPPING).fields, **(config.mapping or DEFAULT_MAPPING).custom})

    def _call(self, call: Callable[..., T], **kwargs: Any) -> T:
        """One SDK call under the shared retry policy."""
        return with_retries(lambda: call(**kwargs), classify_sdk_error, pacer=self.pacer)

    def _search(self, filter_groups: list[dict[str, Any]], properties: list[str], objects: str = "contacts") -> list[Any]:
        """Every page of a contacts (or deals) search."""
        search_api = getattr(self.client.crm, objects).search_api
        found: list[Any] = []
        after: str | None = None
        while True:
            request = {"filterGroups": filter_groups, "properties": properties, "limit": SEARCH_PAGE, "after": after}
            page = self._call(search_api.do_search, public_object_search_request=request)
            found.extend(page.results or [])
            after = page.paging.next.after if page.paging and page.paging.next else None
            if not after:
                return found

    def _record(self, obj: Any) -> RemoteRecord:
        props = obj.properties or {}
        return RemoteRecord(id=str(obj.id), email=props.get("email"), github_url=props.get(self.url_property), values=props)

    # --- CrmBackend ------------------------------------------------------------------------------
    def find(self, contacts: Sequence[DestinationContact]) -> list[RemoteRecord]:
        emails = sorted({c.email.lower() for c in contacts if c.email})
        urls = sorted({c.github_url for c in contacts})
        groups = [{"filters": [{"propertyName": self.url_property, "operator": "IN", "values": urls}]}]
        if emails:
            groups.append({"filters": [{"propertyName": "email", "operator": "IN", "values": emails}]})
        properties = sorted({*self.mapped, "email", self.url_property})
        return [self._record(obj) for obj in self._search(groups, properties)]

    def _batch(self, call: Callable[[dict[str, Any]], Any], inputs: list[dict[str, Any]]) -> BatchOutcome:
        answer = self._call(lambda: call({"inputs": inputs}))
        outcome = BatchOutcome(ids={r.object_write_trace_id: str(r.id) for r in answer.results or [] if r.object_write_trace_id})
        for error in getattr(answer, "errors", None) or []:
            for pid in (error.context or {}).get("objectWriteTraceId", []):
                outcome.errors[pid] = f"{error.category}: {error.message}"
        return outcome

    def create(self, writes: Sequence[Write]) -> BatchOutcome:
        batch = self.client.crm.contacts.batch_api

        def inputs(group: list[Write], upsert: bool) -> list[dict[str, Any]]:
            return [
                {
                    "objectWriteTraceId": w.contact.prospect_id,
                    # the property `find` searches by is always written, whatever the mapping names
                    "properties": {k: _text(v) for k, v in w.values.items()} | {self.url_property: w.contact.github_url},
                }
                | ({"idProperty": "email", "id": w.contact.email} if upsert else {})
                for w in group
            ]

        with_email = [w for w in writes if w.contact.email]
        without = [w for w in writes if not w.contact.email]
        outcome = BatchOutcome()
        if with_email:
            done = self._batch(
                lambda body: batch.upsert(batch_input_simple_public_object_batch_input_upsert=body), inputs(with_email, True)
            )
            outcome.ids |= done.ids
            outcome.errors |= done.errors
        if without:
            done = self._batch(
                lambda body: batch.create(batch_input_simple_public_object_batch_input_for_create=body), inputs(without, False)
            )
            outcome.ids |= done.ids
            outcome.errors |= done.errors
        return outcome

    def update(self, writes: Sequence[Write]) -> BatchOutcome:
        inputs = [
            {
                "id": w.remote_id,
                "objectWriteTraceId": w.contact.prospect_id,
                "properties": {k: _text(v) for k, v in w.values.items()},
            }
            for w in writes
        ]
        batch = self.client.crm.contacts.batch_api
        return self._batch(lambda body: batch.update(batch_input_simple_public_object_batch_input=body), inputs)

    def add_to_list(self, list_name: str, remote_ids: Sequence[str]) -> str:
        lists = self.client.crm.lists
        try:
            found = self._call(lists.lists_api.get_by_name, list_name=list_name, object_type_id=CONTACTS_OBJECT_TYPE)
            list_id = str(found.list.list_id)
        except Exception as exc:
            if getattr(exc, "status", None) != 404:
                raise
            request = {"name": list_name, "objectTypeId": CONTACTS_OBJECT_TYPE, "processingType": "MANUAL"}
            list_id = str(self._call(lists.lists_api.create, list_create_request=request).list.list_id)
        for group in batched(list(remote_ids), MAX_BATCH):
            self._call(lists.memberships_api.add, list_id=list_id, request_body=group)
        return list_id

    # --- Destination -------------------------------------------------------------------------------
    def test_connection(self) -> ConnectionStatus:
        try:
            self._call(self.client.crm.contacts.basic_api.get_page, limit=1)
        except Exception as exc:
            return ConnectionStatus(
                ok=False, detail=f"HubSpot refused: {getattr(exc, 'status', '')} {getattr(exc, 'reason', exc)}"
            )
        return ConnectionStatus(ok=True, detail="HubSpot: contacts readable")

    def push(self, contacts: Sequence[DestinationContact], *, list_name: str | None, policy: ConflictPolicy) -> PushReport:
        return push_records(self, self.name, contacts, list_name=list_name, policy=policy, batch_size=self.config.batch_size)

    def pull_changes(self, since: datetime) -> list[RemoteChange]:
        since_ms = str(int(since.timestamp() * 1000))
        groups = [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": since_ms}]}]
        props = [
            "email",
            self.url_property,
            "lifecyclestage",
            "hs_email_optout",
            "hs_email_hard_bounce_reason_enum",
            "lastmodifieddate",
        ]
        changes: list[RemoteChange] = []
        for obj in self._search(groups, props):
            p = obj.properties or {}
            when = obj.updated_at or datetime.now(UTC)
            base = {
                "email": p.get("email"),
                "github_url": p.get(self.url_property),
                "remote_id": str(obj.id),
                "occurred_at": when,
            }
            if p.get("lifecyclestage"):
                changes.append(RemoteChange(kind="lifecycle_stage", value=p["lifecyclestage"], **base))
            if str(p.get("hs_email_optout", "")).lower() == "true":
                changes.append(RemoteChange(kind="unsubscribed", value="hs_email_optout", **base))
            if p.get("hs_email_hard_bounce_reason_enum"):
                changes.append(RemoteChange(kind="bounced", value=p["hs_email_hard_bounce_reason_enum"], **base))
        return changes + self._deal_changes(since_ms)

    def _deal_changes(self, since_ms: str) -> list[RemoteChange]:
        """Deals modified since, with the stage they are in, for each contact associated with them
        (`POST /crm/v4/associations/deals/contacts/batch/read`, then the contacts' batch read)."""
        groups = [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": since_ms}]}]
        deals = {str(d.id): d for d in self._search(groups, ["dealstage", "hs_lastmodifieddate"], objects="deals")}
        links: dict[str, list[str]] = {}
        for group in batched(sorted(deals), MAX_BATCH):
            request = {"inputs": [{"id": deal_id} for deal_id in group]}
            answer = self._call(
                self.client.crm.associations.v4.batch_api.get_page,
                from_object_type="deals",
                to_object_type="contacts",
                batch_input_public_fetch_associations_batch_request=request,
            )
            for row in answer.results or []:
                links[str(row._from.id)] = [str(to.to_object_id) for to in row.to or []]
        contact_ids = sorted({c for ids in links.values() for c in ids})
        people: dict[str, Any] = {}
        for group in batched(contact_ids, MAX_BATCH):
            read: dict[str, Any] = {"properties": ["email", self.url_property], "inputs": [{"id": c} for c in group]}
            answer = self._call(self.client.crm.contacts.batch_api.read, batch_read_input_simple_public_object_id=read)
            people |= {str(c.id): c.properties or {} for c in answer.results or []}
        changes = []
        for deal_id, contacts in sorted(links.items()):
            deal = deals[deal_id]
            stage = (deal.properties or {}).get("dealstage")
            for contact_id in contacts:
                person = people.get(contact_id, {})
                if stage:
                    changes.append(
                        RemoteChange(
                            kind="deal_stage",
                            value=stage,
                            email=person.get("email"),
                            github_url=person.get(self.url_property),
                            remote_id=contact_id,
                            occurred_at=deal.updated_at or datetime.now(UTC),
                        )
                    )
        return changes

    def track(self, events: Sequence[AnalyticsEvent]) -> list[RecordResult]:
        return [RecordResult(prospect_id=e.user_id, outcome="skipped", detail="a CRM takes no analytics events") for e in events]

    def forget(self, *, email: str | None, github_url: str | None, prospect_id: str) -> ForgetResult:
        groups = [{"filters": [{"propertyName": self.url_property, "operator": "EQ", "value": github_url}]}] if github_url else []
        if email:
            groups.append({"filters": [{"propertyName": "email", "operator": "EQ", "value": email.lower()}]})
        if not groups:
            return ForgetResult(destination=self.name, outcome="not_found", detail="no email or GitHub URL to look for")
        try:
            ids = sorted({str(obj.id) for obj in self._search(groups, ["email"])})
            for record_id in ids:
                self._call(self.client.crm.contacts.basic_api.purge, public_gdpr_delete_input={"objectId": record_id})
        except Exception as exc:
            return ForgetResult(destination=self.name, outcome="failed", detail=str(getattr(exc, "reason", exc)))
        return ForgetResult(destination=self.name, remote_ids=ids, outcome="deleted" if ids else "not_found")


def create(config: DestinationConfig) -> HubSpotDestination:
    return HubSpotDestination(config)
