"""What Zoho CRM, Marketo, Mailchimp, Klaviyo and ActiveCampaign share beyond the push core of
`crm.py` (duplicate search by GitHub URL and email, conflict policy, writes of changes only):

- email platforms key a member on the address: a contact without a usable one is `skipped`, never
  sent (and never half-created);
- erasure (GDPR Art. 17(2)): every record of the person, found by email and by GitHub URL, is
  deleted or handed to the platform's GDPR deletion;
- the connection test is one cheap authenticated call; analytics events are not theirs to take.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Literal

from tools.destinations.base import (
    AnalyticsEvent,
    ConflictPolicy,
    ConnectionStatus,
    DestinationContact,
    ForgetResult,
    PushReport,
    RecordResult,
)
from tools.destinations.crm import BatchOutcome, RemoteRecord, Write, push_records
from tools.destinations.http import VendorHTTPError

ErasureOutcome = Literal["deleted", "gdpr_delete_requested"]

# Characters no deliverable address needs that break vendors' filter syntaxes (Klaviyo's quoted
# filters, Marketo's comma-separated filterValues): such an address is skipped, not sent.
_UNSAFE_EMAIL_CHARS = frozenset('",()[]\\<>; \t\r\n')


def usable_email(email: str | None) -> str | None:
    """The address lower-cased, or None when it is absent or cannot be a vendor lookup key."""
    if not email or "@" not in email or any(ch in _UNSAFE_EMAIL_CHARS for ch in email) or len(email) > 254:
        return None
    return email.strip().lower()


def usable_emails(contacts: Sequence[DestinationContact]) -> list[str]:
    return [email for contact in contacts if (email := usable_email(contact.email))]


def each(writes: Sequence[Write], write_one: Callable[[Write], str]) -> BatchOutcome:
    """For vendors written one record a request: a refused record fails alone."""
    outcome = BatchOutcome()
    for write in writes:
        try:
            outcome.ids[write.contact.prospect_id] = write_one(write)
        except VendorHTTPError as exc:
            outcome.errors[write.contact.prospect_id] = str(exc)
    return outcome


class ContactConnector(ABC):
    """A `Destination` of contacts: `crm.CrmBackend` plus the erasure and probe calls below."""

    name: str
    batch_size: int
    max_batch: int
    needs_email = True

    @abstractmethod
    def find(self, contacts: Sequence[DestinationContact]) -> list[RemoteRecord]: ...

    @abstractmethod
    def create(self, writes: Sequence[Write]) -> BatchOutcome: ...

    @abstractmethod
    def update(self, writes: Sequence[Write]) -> BatchOutcome: ...

    @abstractmethod
    def add_to_list(self, list_name: str, remote_ids: Sequence[str]) -> str: ...

    @abstractmethod
    def find_all(self, email: str | None, github_url: str | None) -> list[str]:
        """Every record id of this person: by email and by GitHub URL (erasure misses none)."""

    @abstractmethod
    def erase(self, remote_ids: list[str]) -> tuple[ErasureOutcome, str]:
        """Delete (or ask the platform's GDPR deletion of) these records: (outcome, detail)."""

    @abstractmethod
    def probe(self) -> str:
        """One cheap authenticated call; what it showed (raises VendorHTTPError when refused)."""

    def push(self, contacts: Sequence[DestinationContact], *, list_name: str | None, policy: ConflictPolicy) -> PushReport:
        """`crm.push_records` over the contacts this platform can key (an email where it needs one);
        the others are reported skipped."""
        keyed = [c for c in contacts if not self.needs_email or usable_email(c.email)]
        report = push_records(self, self.name, keyed, list_name=list_name, policy=policy, batch_size=self.batch_size)
        pushed = {r.prospect_id: r for r in report.results}
        skipped = "no usable email address"
        report.results = [
            pushed.get(c.prospect_id) or RecordResult(prospect_id=c.prospect_id, outcome="skipped", detail=skipped)
            for c in contacts
        ]
        return report

    def test_connection(self) -> ConnectionStatus:
        try:
            return ConnectionStatus(ok=True, detail=self.probe())
        except VendorHTTPError as exc:
            return ConnectionStatus(ok=False, detail=str(exc))

    def track(self, events: Sequence[AnalyticsEvent]) -> list[RecordResult]:
        detail = f"{self.name} takes contacts, not analytics events"
        return [RecordResult(prospect_id=e.user_id, outcome="skipped", detail=detail) for e in events]

    def forget(self, *, email: str | None, github_url: str | None, prospect_id: str) -> ForgetResult:
        try:
            remote_ids = self.find_all(usable_email(email), github_url)
            if not remote_ids:
                return ForgetResult(destination=self.name, outcome="not_found")
            outcome, detail = self.erase(remote_ids)
        except VendorHTTPError as exc:
            return ForgetResult(destination=self.name, outcome="failed", detail=str(exc))
        return ForgetResult(destination=self.name, remote_ids=remote_ids, outcome=outcome, detail=detail)
