"""The push every contact-keyed connector runs, so each connector only speaks its vendor's API.

For each batch (the vendor's batch size): look the contacts up (by email, then by the GitHub URL
field, so a person whose email changed is not created twice), merge ours with theirs under the
conflict policy, write only what changed (a re-sync of unchanged contacts writes nothing), then add
everyone to the list or segment. Failures are per record: one refused record or batch never hides
the others' results.

Conflict policies (the RecordResult's `conflicts` are field -> (ours, theirs) where theirs was kept):
- `ours_wins`: every mapped field is written; overwritten values are named in `detail`;
- `fill_blanks`: only fields blank on their side are written; differing values are conflicts;
- `theirs_wins`: the platform's record is the master: an existing record is never written to, and
  every differing field is a conflict (new records are created in full).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from tools.destinations.base import (
    AnalyticsEvent,
    ConflictPolicy,
    ConnectionStatus,
    DestinationContact,
    FieldValue,
    ForgetResult,
    PushReport,
    RecordResult,
)
from tools.destinations.http import VendorHTTPError, batched

ErasureOutcome = Literal["deleted", "gdpr_delete_requested"]

# Characters that no deliverable address needs and that break vendors' filter syntaxes (Klaviyo's
# quoted filters, Marketo's comma-separated filterValues): such an address is skipped, not sent.
_UNSAFE_EMAIL_CHARS = frozenset('",()[]\\<>; \t\r\n')


def usable_email(email: str | None) -> str | None:
    """The address lower-cased, or None when it is absent or cannot be a vendor lookup key."""
    if not email or "@" not in email or any(ch in _UNSAFE_EMAIL_CHARS for ch in email) or len(email) > 254:
        return None
    return email.strip().lower()


def usable_emails(contacts: Sequence[DestinationContact]) -> list[str]:
    return [email for contact in contacts if (email := usable_email(contact.email))]


def blank(value: FieldValue) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def same(ours: FieldValue, theirs: FieldValue) -> bool:
    """Equal as the vendor would store them: vendors echo numbers as strings ("0.91"), emails in any case."""
    if blank(ours) and blank(theirs):
        return True
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return str(ours).lower() == str(theirs).lower()
    try:
        return math.isclose(float(str(ours)), float(str(theirs)), rel_tol=1e-9)
    except ValueError:
        return str(ours).strip().casefold() == str(theirs).strip().casefold()


@dataclass
class Remote:
    """A record found on the platform: its id and its current values under the vendor's field names."""

    remote_id: str
    values: dict[str, FieldValue] = field(default_factory=dict)
    matched_by: str = "email"


@dataclass
class Planned:
    contact: DestinationContact
    remote: Remote | None
    write: dict[str, FieldValue]
    conflicts: dict[str, tuple[FieldValue, FieldValue]]
    overwritten: list[str]


@dataclass
class Written:
    """What the vendor said about one written record: its id, or why it refused it."""

    remote_id: str | None = None
    error: str | None = None
    created: bool | None = None


def plan(contact: DestinationContact, ours: dict[str, FieldValue], remote: Remote | None, policy: ConflictPolicy) -> Planned:
    """What to write for one contact under `policy` (see the module docstring)."""
    if remote is None:
        return Planned(contact, None, {k: v for k, v in ours.items() if not blank(v)}, {}, [])
    write: dict[str, FieldValue] = {}
    conflicts: dict[str, tuple[FieldValue, FieldValue]] = {}
    overwritten: list[str] = []
    for name, value in ours.items():
        theirs = remote.values.get(name)
        if blank(value) or same(value, theirs):
            continue
        if blank(theirs) and policy != "theirs_wins":
            write[name] = value
        elif policy == "ours_wins":
            write[name] = value
            if not blank(theirs):
                overwritten.append(name)
        else:
            conflicts[name] = (value, theirs)
    return Planned(contact, remote, write, conflicts, overwritten)


def write_each(items: Sequence[Planned], write_one: Callable[[Planned], Written]) -> dict[str, Written]:
    """For vendors written one record a request: a refused record fails alone."""
    written = {}
    for item in items:
        try:
            written[item.contact.prospect_id] = write_one(item)
        except VendorHTTPError as exc:
            written[item.contact.prospect_id] = Written(error=str(exc))
    return written


def _result(item: Planned, written: Written | None) -> RecordResult:
    pid = item.contact.prospect_id
    if written is not None and written.error is not None:
        return RecordResult(
            prospect_id=pid, outcome="failed", remote_id=item.remote.remote_id if item.remote else None, detail=written.error
        )
    remote_id = (written.remote_id if written else None) or (item.remote.remote_id if item.remote else None)
    notes = [f"matched by {item.remote.matched_by}"] if item.remote else []
    if item.overwritten:
        notes.append("overwrote " + ", ".join(sorted(item.overwritten)))
    if item.conflicts:
        notes.append("kept theirs: " + ", ".join(sorted(item.conflicts)))
    if item.remote is None or (written is not None and written.created):
        outcome = "created"
    elif item.conflicts:
        outcome = "conflict"
    else:
        outcome = "updated" if item.write else "unchanged"
    return RecordResult(prospect_id=pid, outcome=outcome, remote_id=remote_id, detail="; ".join(notes), conflicts=item.conflicts)


class ContactSync(ABC):
    """`push`, `forget`, `test_connection` and `track` of a contact-keyed connector, in terms of the
    vendor calls below; `pull_changes` is each connector's own."""

    name: str
    batch_size: int
    github_field: str  # the vendor field that holds the GitHub URL (the second duplicate key)
    needs_email: bool = True  # email platforms key members on the address

    def values(self, contact: DestinationContact) -> dict[str, FieldValue]:
        """Ours under the vendor's names: the mapped standard and custom fields, and the GitHub URL."""
        return {**contact.fields, **contact.custom, self.github_field: contact.github_url}

    @abstractmethod
    def find(self, contacts: Sequence[DestinationContact]) -> dict[str, Remote]:
        """prospect_id -> the platform's existing record (by email first, then by GitHub URL)."""

    @abstractmethod
    def write(self, items: Sequence[Planned]) -> dict[str, Written]:
        """Create or update these records (only `write` of each); prospect_id -> what the vendor said."""

    @abstractmethod
    def ensure_list(self, name: str) -> str:
        """The id of the list/segment called `name`, created when missing."""

    @abstractmethod
    def add_to_list(self, list_id: str, members: Sequence[tuple[DestinationContact, str]]) -> None:
        """Add (contact, remote id) pairs to the list; adding a member twice is harmless."""

    @abstractmethod
    def find_all(self, email: str | None, github_url: str | None) -> list[str]:
        """Every record id of this person: by email and by GitHub URL (erasure misses none)."""

    @abstractmethod
    def erase(self, remote_ids: list[str], email: str | None) -> tuple[ErasureOutcome, str]:
        """Delete (or ask the platform's GDPR deletion of) these records: (ForgetResult outcome, detail)."""

    @abstractmethod
    def probe(self) -> str:
        """One cheap authenticated call; what it showed (raises VendorHTTPError when refused)."""

    def test_connection(self) -> ConnectionStatus:
        try:
            return ConnectionStatus(ok=True, detail=self.probe())
        except VendorHTTPError as exc:
            return ConnectionStatus(ok=False, detail=str(exc))

    def track(self, events: Sequence[AnalyticsEvent]) -> list[RecordResult]:
        return [
            RecordResult(prospect_id=e.user_id, outcome="skipped", detail=f"{self.name} takes contacts, not analytics events")
            for e in events
        ]

    def forget(self, *, email: str | None, github_url: str | None, prospect_id: str) -> ForgetResult:
        """GDPR Art. 17(2): every record of the person on the platform goes, found by email and GitHub URL."""
        try:
            remote_ids = self.find_all(usable_email(email), github_url)
            if not remote_ids:
                return ForgetResult(destination=self.name, outcome="not_found")
            outcome, detail = self.erase(remote_ids, usable_email(email))
        except VendorHTTPError as exc:
            return ForgetResult(destination=self.name, outcome="failed", detail=str(exc))
        return ForgetResult(destination=self.name, remote_ids=remote_ids, outcome=outcome, detail=detail)

    def push(self, contacts: Sequence[DestinationContact], *, list_name: str | None, policy: ConflictPolicy) -> PushReport:
        results: list[RecordResult] = []
        members: list[tuple[DestinationContact, str]] = []
        usable: list[DestinationContact] = []
        for contact in contacts:
            if self.needs_email and usable_email(contact.email) is None:
                results.append(RecordResult(prospect_id=contact.prospect_id, outcome="skipped", detail="no usable email address"))
            else:
                usable.append(contact)
        for batch in batched(usable, self.batch_size):
            try:
                found = self.find(batch)
                planned = [plan(c, self.values(c), found.get(c.prospect_id), policy) for c in batch]
                changed = [p for p in planned if p.write]
                written = self.write(changed) if changed else {}
            except VendorHTTPError as exc:
                results.extend(RecordResult(prospect_id=c.prospect_id, outcome="failed", detail=str(exc)) for c in batch)
                continue
            for item in planned:
                result = _result(item, written.get(item.contact.prospect_id))
                results.append(result)
                if result.outcome != "failed" and result.remote_id:
                    members.append((item.contact, result.remote_id))
        list_id = self._list(list_name, members, results) if list_name and members else None
        return PushReport(destination=self.name, results=results, list_id=list_id)

    def _list(self, list_name: str, members: list[tuple[DestinationContact, str]], results: list[RecordResult]) -> str | None:
        try:
            list_id = self.ensure_list(list_name)
            for chunk in batched(members, self.batch_size):
                self.add_to_list(list_id, chunk)
        except VendorHTTPError as exc:
            for result in results:
                if result.outcome != "failed" and result.remote_id:
                    result.detail = f"{result.detail}; not added to the list: {exc}".lstrip("; ")
            return None
        return list_id
