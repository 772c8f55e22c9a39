"""The push every CRM connector shares: find existing records by email and GitHub URL, settle
conflicts by the destination's policy, create what is new, update what changed, leave the rest.

Connectors only implement `CrmBackend` (their vendor's search, create, update and list calls), so
duplicate prevention, idempotent re-syncs and conflict reporting behave the same on every CRM:

- a contact that matches a record by GitHub URL, else by email (case-insensitive), is that record:
  never a second one;
- `ours_wins` overwrites differing values (the overwritten fields are named in `detail`);
  `fill_blanks` writes only the fields the record lacks and reports the others as conflicts;
  `theirs_wins` changes nothing on an existing record and reports every difference;
- a contact whose mapped values already match is `unchanged` and costs no write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel, Field

from tools.destinations.base import ConflictPolicy, DestinationContact, FieldValue, PushReport, RecordResult
from tools.destinations.http import batched


class RemoteRecord(BaseModel):
    """A record the CRM already holds, with the values of the fields our mapping writes."""

    id: str
    email: str | None = None
    github_url: str | None = None
    values: dict[str, FieldValue] = Field(default_factory=dict)


class Write(BaseModel):
    contact: DestinationContact
    values: dict[str, FieldValue]
    remote_id: str | None = None


class BatchOutcome(BaseModel):
    """Per record of a batch call: prospect id -> remote id, or prospect id -> the vendor's error."""

    ids: dict[str, str] = Field(default_factory=dict)
    errors: dict[str, str] = Field(default_factory=dict)


class CrmBackend(Protocol):
    max_batch: int

    def find(self, contacts: Sequence[DestinationContact]) -> list[RemoteRecord]: ...

    def create(self, writes: Sequence[Write]) -> BatchOutcome: ...

    def update(self, writes: Sequence[Write]) -> BatchOutcome: ...

    def add_to_list(self, list_name: str, remote_ids: Sequence[str]) -> str: ...


def contact_values(contact: DestinationContact) -> dict[str, FieldValue]:
    return {**contact.fields, **contact.custom}


def _blank(value: FieldValue) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def same_value(ours: FieldValue, theirs: FieldValue) -> bool:
    """Vendors echo numbers and booleans as text ("0.87", "true"): compare what they mean."""
    if _blank(ours) and _blank(theirs):
        return True
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return str(ours).lower() == str(theirs).lower()
    try:
        return float(str(ours)) == float(str(theirs))
    except ValueError:
        return str(ours).strip().casefold() == str(theirs).strip().casefold()


class Resolution(BaseModel):
    write: dict[str, FieldValue] = Field(default_factory=dict)
    conflicts: dict[str, tuple[FieldValue, FieldValue]] = Field(default_factory=dict)
    overwritten: list[str] = Field(default_factory=list)


def resolve(ours: dict[str, FieldValue], theirs: dict[str, FieldValue], policy: ConflictPolicy) -> Resolution:
    resolution = Resolution()
    for field, value in ours.items():
        current = theirs.get(field)
        if same_value(value, current):
            continue
        if _blank(current):
            if policy != "theirs_wins":
                resolution.write[field] = value
            else:
                resolution.conflicts[field] = (value, current)
        elif policy == "ours_wins":
            resolution.write[field] = value
            resolution.overwritten.append(field)
        else:
            resolution.conflicts[field] = (value, current)
    return resolution


def _match(contact: DestinationContact, records: Sequence[RemoteRecord]) -> RemoteRecord | None:
    by_url = next(
        (r for r in records if r.github_url and r.github_url.rstrip("/").casefold() == contact.github_url.casefold()), None
    )
    if by_url or not contact.email:
        return by_url
    email = contact.email.casefold()
    return next((r for r in records if r.email and r.email.casefold() == email), None)


def push_records(
    backend: CrmBackend,
    destination: str,
    contacts: Sequence[DestinationContact],
    *,
    list_name: str | None,
    policy: ConflictPolicy,
    batch_size: int,
) -> PushReport:
    """Push in batches of min(batch_size, the vendor's cap); a failed batch fails its records only.
    Then the list: a refused list call is noted on the records it concerned, never raised, since the
    records are written already and the caller must still learn (and keep, for erasure) what the
    vendor now holds."""
    report = PushReport(destination=destination)
    for batch in batched(list(contacts), min(batch_size, backend.max_batch)):
        report.results.extend(_push_batch(backend, batch, policy))
    held = [r for r in report.results if r.remote_id and r.outcome != "failed"]
    if list_name and held:
        try:
            report.list_id = backend.add_to_list(list_name, [str(r.remote_id) for r in held])
        except Exception as exc:  # any vendor's or SDK's refusal: the results above must survive it
            for result in held:
                result.detail = "; ".join(filter(None, [result.detail, f"not added to {list_name!r}: {exc}"]))
    return report


def _push_batch(backend: CrmBackend, batch: list[DestinationContact], policy: ConflictPolicy) -> list[RecordResult]:
    try:
        existing = backend.find(batch)
    except Exception as exc:
        return [
            RecordResult(prospect_id=c.prospect_id, outcome="failed", detail=f"duplicate search failed: {exc}") for c in batch
        ]
    results: dict[str, RecordResult] = {}
    creates: list[Write] = []
    updates: list[Write] = []
    for contact in batch:
        record = _match(contact, existing)
        ours = contact_values(contact)
        if record is None:
            creates.append(Write(contact=contact, values=ours))
            continue
        resolution = resolve(ours, record.values, policy)
        detail = f"overwrote {', '.join(resolution.overwritten)}" if resolution.overwritten else ""
        if resolution.write:
            updates.append(Write(contact=contact, values=resolution.write, remote_id=record.id))
        outcome = "conflict" if resolution.conflicts and not resolution.write else "unchanged"
        results[contact.prospect_id] = RecordResult(
            prospect_id=contact.prospect_id, outcome=outcome, remote_id=record.id, detail=detail, conflicts=resolution.conflicts
        )
    for writes, call, outcome in ((creates, backend.create, "created"), (updates, backend.update, "updated")):
        if not writes:
            continue
        try:
            done = call(writes)
        except Exception as exc:
            done = BatchOutcome(errors={w.contact.prospect_id: str(exc) for w in writes})
        for write in writes:
            pid = write.contact.prospect_id
            before = results.get(pid)
            if pid in done.ids:
                results[pid] = RecordResult(
                    prospect_id=pid,
                    outcome=outcome,
                    remote_id=done.ids[pid],
                    detail=before.detail if before else "",
                    conflicts=before.conflicts if before else {},
                )
            else:
                error = done.errors.get(pid, "the vendor answered without this record")
                results[pid] = RecordResult(prospect_id=pid, outcome="failed", remote_id=write.remote_id, detail=error)
    return [results[c.prospect_id] for c in batch]
