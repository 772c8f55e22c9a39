"""Access (GDPR Art. 15, CCPA right to know): everything a tenant holds about one person, as JSON.

The person is found exactly as an erasure finds them (`erasure.find_person`: any identifier leads
to the others), so an export shows what an erasure would remove. Provenance comes from the records
themselves: each profile field names the GitHub API call it was read from and when, and each signal
its evidence URLs. The basis of collection is the pipeline's own (GDPR Art. 6(1)(f) legitimate
interest, see agents/compliance_rules.py and the Art. 14 notice in every draft); compliance's basis
for contacting them is reported next to it. Personal data is encrypted at rest, so records are
loaded and matched in Python, never filtered on in SQL. Vectors derived from the person (embedded
profiles) are listed from every configured vector store by their `person` key, without their values.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core import orm
from api.core.orm_privacy import Suppression
from api.models.prospects import (
    DraftedMessage,
    ExportedEngagement,
    ExportedVector,
    LoggedEvent,
    ProspectRecord,
    Source,
    SubjectExport,
    SuppressionEntry,
    SuppressionStatus,
)
from api.services.audit import AuditFilter, list_audit
from api.services.erasure import Person, find_person
from api.services.errors import NotFound
from api.services.retention import collected_at, expires_at
from api.services.suppressions import SETTINGS_INFO, keyring_of
from foundation.settings import Settings
from tools.suppression import identifiers
from tools.vectors.factory import person_vectors

LAWFUL_BASIS = "GDPR Art. 6(1)(f) legitimate interest (B2B developer marketing from public GitHub data)"
PURPOSES = (
    "Finding developers whose public GitHub work fits a campaign, scoring that fit with the evidence behind it, "
    "and drafting outreach that compliance reviews before anyone may be contacted."
)
_AUDIT_PAGE = 100


async def export_person(session: AsyncSession, tenant_id: str, person: Person) -> SubjectExport:
    """The export of `person` (`NotFound` when the tenant holds neither a record nor a suppression of theirs)."""
    person = await find_person(session, tenant_id, person)
    suppression = await _suppression_status(session, tenant_id, person)
    if not person.found and not suppression.entries:
        raise NotFound("no prospect of this tenant matches (nothing is held about them)")
    query = (
        select(orm.ProspectRow, orm.Job)
        .join(orm.Job, orm.Job.id == orm.ProspectRow.job_id)
        .where(orm.ProspectRow.tenant_id == tenant_id, orm.ProspectRow.prospect_id.in_(sorted(person.prospect_ids)))
        .order_by(orm.Job.created_at, orm.ProspectRow.prospect_id)
    )
    pairs = [(row, job) for row, job in (await session.execute(query)).all() if person.is_subject(row.data)]
    return SubjectExport(
        prospect_ids=sorted(person.prospect_ids),
        logins=sorted(person.logins),
        emails=sorted(person.emails),
        github_ids=sorted(person.github_ids),
        generated_at=orm.utcnow(),
        purposes=PURPOSES,
        records=[_record(row, job) for row, job in pairs],
        messages=[_message(row) for row, _ in pairs if row.data.get("message")],
        engagement_events=await _engagement(session, tenant_id, person),
        job_events=await _events(session, tenant_id, person),
        suppression=suppression,
        audit_record_ids=await _audit_ids(session, tenant_id, person),
        vectors=await asyncio.to_thread(_vectors, session.info[SETTINGS_INFO], tenant_id, person),
    )


def _vectors(settings: Settings, tenant_id: str, person: Person) -> list[ExportedVector]:
    held = [vector for login in sorted(person.logins) for vector in person_vectors(settings, login, [tenant_id])]
    return [ExportedVector.model_validate(vector.model_dump()) for vector in held]


def _record(row: orm.ProspectRow, job: orm.Job) -> ProspectRecord:
    data = row.data
    sources = [
        Source(field=name, source=p["source"], fetched_at=p.get("fetched_at"))
        for name, p in (data.get("provenance") or {}).items()
    ]
    sources += [
        Source(field=f"signal:{signal['name']}", source=evidence["url"])
        for signal in data.get("signals", [])
        for evidence in signal.get("evidence", [])
        if evidence.get("url")
    ]
    started = collected_at(job)
    return ProspectRecord(
        job_id=row.job_id,
        collected_at=started,
        expires_at=expires_at(data, started),
        lawful_basis=LAWFUL_BASIS,
        outreach_basis=(data.get("compliance") or {}).get("lawful_basis"),
        sources=sources,
        record=data,
    )


def _message(row: orm.ProspectRow) -> DraftedMessage:
    message: dict[str, Any] = row.data["message"]
    return DraftedMessage(
        job_id=row.job_id,
        subject=message.get("subject", ""),
        body=message.get("body", ""),
        variant=message.get("variant", ""),
        written_by=message.get("written_by", ""),
    )


async def _engagement(session: AsyncSession, tenant_id: str, person: Person) -> list[ExportedEngagement]:
    table = orm.EngagementEvent
    query = select(table).where(table.tenant_id == tenant_id, table.prospect_id.in_(sorted(person.prospect_ids)))
    rows = (await session.execute(query.order_by(table.occurred_at))).scalars().all()
    return [ExportedEngagement(job_id=r.job_id, prospect_id=r.prospect_id, type=r.type, occurred_at=r.occurred_at) for r in rows]


async def _events(session: AsyncSession, tenant_id: str, person: Person) -> list[LoggedEvent]:
    """Every logged pipeline event about them, in every job of the tenant."""
    query = (
        select(orm.JobEvent)
        .join(orm.Job, orm.Job.id == orm.JobEvent.job_id)
        .where(orm.Job.tenant_id == tenant_id)
        .order_by(orm.Job.created_at, orm.JobEvent.seq)
    )
    events = (await session.execute(query)).scalars().all()
    return [
        LoggedEvent(job_id=e.job_id, seq=e.seq, event=e.event, created_at=e.created_at, data=e.data)
        for e in events
        if person.is_event_subject(e.data)
    ]


async def _suppression_status(session: AsyncSession, tenant_id: str, person: Person) -> SuppressionStatus:
    """Their entries on the tenant's list, found by blind index (an email also by its domains)."""
    pairs = {pair for login in person.logins for pair in identifiers(login=login)}
    pairs |= {pair for email in person.emails for pair in identifiers(email=email)}
    pairs |= {pair for number in person.github_ids for pair in identifiers(github_id=number)}
    any_row = select(Suppression.id).where(Suppression.tenant_id == tenant_id).limit(1)
    if not pairs or (await session.execute(any_row)).first() is None:
        return SuppressionStatus(suppressed=False, entries=[])  # a tenant that never suppressed anyone has no keys
    keyring = keyring_of(session)
    wanted = {(kind, keyring.blind_index(tenant_id, value)) for kind, value in pairs}
    query = select(Suppression).where(
        Suppression.tenant_id == tenant_id, Suppression.value_index.in_(sorted(i for _, i in wanted))
    )
    rows = [
        row
        for row in (await session.execute(query.order_by(Suppression.created_at))).scalars()
        if (row.kind, row.value_index) in wanted
    ]
    entries = [SuppressionEntry(id=r.id, kind=r.kind, reason=r.reason, created_at=r.created_at) for r in rows]
    return SuppressionStatus(suppressed=bool(entries), entries=entries)


async def _audit_ids(session: AsyncSession, tenant_id: str, person: Person) -> list[str]:
    """Ids of the tenant's audit records naming any of their prospect ids, oldest first."""
    found: set[tuple[int, str]] = set()
    for prospect_id in person.prospect_ids:
        cursor: str | None = None
        while True:
            rows, cursor = await list_audit(
                session, tenant_id, AuditFilter(prospect_id=prospect_id), limit=_AUDIT_PAGE, cursor=cursor
            )
            found.update((row.seq, row.id) for row in rows)
            if cursor is None:
                break
    return [record_id for _, record_id in sorted(found)]
