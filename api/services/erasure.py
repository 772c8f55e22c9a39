"""Erasure (GDPR Art. 17): remove one person from every store of a tenant, and keep them out.

Why it works this way:
- A person is more than one row. Their login, email and name sit in prospect rows of every job, in
  job events (tool calls, reasoning), artifacts, summaries, chat threads, webhook logs, LangGraph
  checkpoints and the GitHub ETag cache. Records *about* the person (their prospect rows and the
  events whose subject they are) are deleted; records that only *mention* them (another lead's
  evidence naming a repo they own, a chat question) keep their shape with each mention replaced by
  `[erased]`. Artifacts are regenerated from what remains by the writers that made them.
- Personal data is encrypted at rest by the ORM column types, so nothing here filters on it in SQL:
  rows are loaded (decrypted) and judged in Python.
- The person is tombstoned first, in a transaction of its own (`add_suppression(reason='erasure')`:
  blind indexes only): from then on no job collects them again, even if the rest has to wait.
- A finished job's results live in its rows, so its LangGraph thread is deleted whole. A running
  job may be collecting the person right now, into events and a checkpoint this pass would miss:
  while any job of the tenant runs, the erasure refuses (`Conflict`, with a retry delay; the tombstone
  already holds) and is simply repeated. Queued jobs are safe: they read the tombstone when they start.
- Vectors derived from the person (embedded profiles, tools/vectors) carry `person=<login>`: they
  are deleted by that filter from every store that may hold them (the embedded file, and Pinecone or
  pgvector when configured), in the tenant's namespace.
- Every destination (CRM, marketing, analytics) that received the person is asked to delete them
  (GDPR Art. 17(2)); the audit record lists each destination's outcome (Art. 19), and a destination
  that failed keeps its delivery row, so repeating the erasure asks it again.
- The audit record names the tombstones' ids and counts, not the prospect id (which is the login):
  the append-only trail must not itself keep what was erased.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from api.core import orm
from api.core.orm_privacy import Suppression
from api.services.artifacts import save_artifact
from api.services.audit import Origin, record_audit
from api.services.destinations import forget_everywhere
from api.services.errors import Conflict, NotFound
from api.services.job_results import artifact_files, trace_file
from api.services.suppressions import SETTINGS_INFO, add_suppression, event_identifiers, keyring_of
from foundation.artifacts import LEADS_FULL, TRACE
from foundation.events import CAMPAIGN_COMPLETED
from foundation.schemas import Prospect
from foundation.schemas.run import CampaignCompleted, RunSummary
from foundation.settings import Settings
from storage.checkpoints import delete_threads
from storage.keyring import get_keyring, tenant_scope
from tools.etag_cache import open_etag_cache
from tools.suppression import normalize_entry
from tools.vectors.factory import forget_person_vectors

ERASED = "[erased]"
RETRY_AFTER_SECONDS = 30
_LOGIN = "A-Za-z0-9-"  # a login ends where these characters end ("gh_octocat", "octocat/repo")


@dataclass
class Person:
    """Everything one person is known by in a tenant: matches their records, finds and redacts mentions."""

    prospect_ids: set[str] = field(default_factory=set)
    logins: set[str] = field(default_factory=set)  # lower-case
    github_ids: set[int] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)  # lower-case
    names: set[str] = field(default_factory=set)
    found: bool = False  # a prospect record of theirs exists

    @classmethod
    def of(cls, *, prospect_id: str | None = None, login: str | None = None, email: str | None = None) -> Person:
        person = cls()
        if prospect_id:
            person.prospect_ids.add(prospect_id)
            login = login or prospect_id.removeprefix("gh_")
        if login:
            person.logins.add(login.lower())
        if email:
            person.emails.add(email.lower())
        return person

    def absorb(self, data: dict[str, Any]) -> None:
        """Add the identifiers of one of their prospect records."""
        self.prospect_ids.add(data["id"])
        self.logins.update(login.lower() for login in [data.get("username"), *data.get("merged_logins", [])] if login)
        if data.get("github_id") is not None:
            self.github_ids.add(int(data["github_id"]))
        if data.get("email"):
            self.emails.add(data["email"].lower())
        if data.get("name"):
            self.names.add(data["name"])
        self.__dict__.pop("pattern", None)

    def is_subject(self, data: dict[str, Any]) -> bool:
        """Whether a prospect record is about this person."""
        logins = {str(login).lower() for login in [data.get("username"), *data.get("merged_logins", [])] if login}
        return (
            data.get("id") in self.prospect_ids
            or bool(logins & self.logins)
            or (data.get("github_id") is not None and int(data["github_id"]) in self.github_ids)
            or str(data.get("email") or "").lower() in self.emails
        )

    def is_event_subject(self, data: dict[str, Any]) -> bool:
        """Whether a pipeline event is about this person (`login`, tool `args.login`, `prospect_id`, `email`)."""
        logins, email = event_identifiers(data)
        return (
            data.get("prospect_id") in self.prospect_ids
            or any(login.lower() in self.logins for login in logins)
            or (email or "").lower() in self.emails
        )

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        """Any mention: a login as a whole token, an email, a full name, a long numeric GitHub id."""
        parts = [rf"(?<![{_LOGIN}]){re.escape(login)}(?![{_LOGIN}])" for login in self.logins]
        parts += [re.escape(email) for email in self.emails]
        parts += [rf"(?<!\w){re.escape(name.strip())}(?!\w)" for name in self.names if len(name.strip()) >= 3]
        parts += [rf"(?<!\d){number}(?!\d)" for number in self.github_ids if number >= 10_000]
        return re.compile("|".join(sorted(parts, key=len, reverse=True)), re.IGNORECASE) if parts else None

    def mentions(self, text: str) -> bool:
        return self.pattern is not None and self.pattern.search(text) is not None

    def redact(self, value: Any) -> Any:
        """`value` (JSON) with every mention of the person replaced by `[erased]`."""
        if self.pattern is None:
            return value
        if isinstance(value, str):
            return self.pattern.sub(ERASED, value)
        if isinstance(value, dict):
            return {self.redact(key): self.redact(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.redact(item) for item in value]
        return value


@dataclass
class Scrubbed:
    """What `scrub` changed: rows deleted or edited, artifacts rewritten, and the jobs that held the person."""

    prospects: int = 0
    events_deleted: int = 0
    records_redacted: int = 0
    artifacts: int = 0
    jobs: set[str] = field(default_factory=set)


async def scrub(session: AsyncSession, tenant_id: str, person: Person, *, job_ids: Collection[str] | None = None) -> Scrubbed:
    """Remove the person from the tenant's jobs (all of them, or `job_ids`) and, in a whole-tenant
    pass, from its chat threads; in the caller's transaction, not committed."""
    done = Scrubbed()
    await overwrite_freed(session)
    query = select(orm.Job).where(orm.Job.tenant_id == tenant_id)
    if job_ids is not None:
        query = query.where(orm.Job.id.in_(list(job_ids)))
    with tenant_scope(tenant_id):  # what is written back is sealed with the tenant's keys
        for job in (await session.execute(query.order_by(orm.Job.created_at))).scalars().all():
            if await _scrub_job(session, job, person, done):
                done.jobs.add(job.id)
        if job_ids is None:
            threads = (await session.execute(select(orm.ChatThread).where(orm.ChatThread.tenant_id == tenant_id))).scalars().all()
            for thread in threads:
                _redact_columns(person, thread, ("messages", "state"), done)
        owed = (await session.execute(select(orm.WebhookPending).where(orm.WebhookPending.tenant_id == tenant_id))).scalars()
        for pending in owed.all():  # a retry still owed about them is not sent any more
            if person.mentions(pending.body.decode("utf-8", "replace")):
                await session.delete(pending)
        await session.flush()
    return done


async def _scrub_job(session: AsyncSession, job: orm.Job, person: Person, done: Scrubbed) -> bool:
    """One job: its prospect rows, events, own columns, webhook log and artifacts. True if it held them."""
    rows = (await session.execute(select(orm.ProspectRow).where(orm.ProspectRow.job_id == job.id))).scalars().all()
    gone = [row for row in rows if person.is_subject(row.data)]
    touched = bool(gone)
    for row in rows:
        if row not in gone:
            touched |= _redact_columns(person, row, ("data",), done)
    lost = (len(gone), sum(row.verdict == "approved" for row in gone))
    if gone:
        ids = [row.prospect_id for row in gone]
        engagement = orm.EngagementEvent
        await session.execute(delete(engagement).where(engagement.job_id == job.id, engagement.prospect_id.in_(ids)))
        await session.execute(
            delete(orm.ProspectRow).where(orm.ProspectRow.job_id == job.id, orm.ProspectRow.prospect_id.in_(ids))
        )
        done.prospects += len(gone)
    events = (await session.execute(select(orm.JobEvent).where(orm.JobEvent.job_id == job.id))).scalars().all()
    dropped = [event.seq for event in events if person.is_event_subject(event.data)]
    for event in events:
        if event.seq not in dropped:
            touched |= _redact_columns(person, event, ("data",), done)
            if gone and event.event == CAMPAIGN_COMPLETED:
                event.data = CampaignCompleted.model_validate(event.data).without_leads(*lost).model_dump(mode="json")
    if dropped:
        await session.execute(delete(orm.JobEvent).where(orm.JobEvent.job_id == job.id, orm.JobEvent.seq.in_(dropped)))
        done.events_deleted += len(dropped)
        touched = True
    touched |= _redact_columns(person, job, ("goal", "campaign", "metadata_", "summary", "error"), done)
    if gone and job.summary is not None:
        job.summary = RunSummary.model_validate(job.summary).without_leads(*lost).model_dump(mode="json")
    deliveries = (await session.execute(select(orm.WebhookDelivery).where(orm.WebhookDelivery.job_id == job.id))).scalars().all()
    for delivery in deliveries:
        touched |= _redact_columns(person, delivery, ("url", "error"), done)
    return await _rewrite_artifacts(session, job, person, touched, done) or touched


def _redact_columns(person: Person, row: Any, columns: Iterable[str], done: Scrubbed) -> bool:
    """Redact mentions in the row's columns (assigning new values, so the ORM writes them)."""
    changed = False
    for column in columns:
        value = getattr(row, column)
        redacted = person.redact(value)
        if redacted != value:
            setattr(row, column, redacted)
            changed = True
    done.records_redacted += changed
    return changed


async def _rewrite_artifacts(session: AsyncSession, job: orm.Job, person: Person, touched: bool, done: Scrubbed) -> bool:
    """Regenerate the job's artifacts from what remains, when the job held the person or a file names
    them; a file of another kind that names them is deleted (it cannot be rebuilt)."""
    query = select(orm.Artifact).where(orm.Artifact.job_id == job.id).options(undefer(orm.Artifact.content))
    artifacts = (await session.execute(query)).scalars().all()
    named = {a.name for a in artifacts if person.mentions(a.content.decode("utf-8", "replace"))}
    if not artifacts or not (touched or named):
        return False
    by_name = {artifact.name: artifact for artifact in artifacts}
    leads = await _remaining_leads(session, job, person, by_name.get(LEADS_FULL))
    summary = RunSummary.model_validate(job.summary) if job.summary is not None else None
    files = await asyncio.to_thread(artifact_files, leads, summary)
    files[TRACE] = await trace_file(session, job.id)
    for artifact in artifacts:
        if artifact.name in files:
            await save_artifact(session, job, artifact.name, artifact.content_type, files[artifact.name])
        elif artifact.name in named:
            await session.delete(artifact)
    done.artifacts += len(artifacts)
    return True


async def _remaining_leads(
    session: AsyncSession, job: orm.Job, person: Person, leads_file: orm.Artifact | None
) -> list[Prospect]:
    """The job's leads in their stored order (leads_full.json, else the rows by score), without the
    person and with mentions of them redacted."""
    if leads_file is not None:
        records = json.loads(leads_file.content)
    else:
        query = select(orm.ProspectRow.data).where(orm.ProspectRow.job_id == job.id).order_by(orm.ProspectRow.score.desc())
        records = (await session.execute(query)).scalars().all()
    return [Prospect.model_validate(person.redact(record)) for record in records if not person.is_subject(record)]


@dataclass
class ErasureReport:
    """What an erasure removed (counts and ids only)."""

    suppression_ids: list[str]
    scrubbed: Scrubbed
    checkpoint_threads: int = 0
    cache_entries: int = 0
    vectors: int = 0
    destinations: list[dict[str, Any]] = field(default_factory=list)  # Art. 17(2): each recipient asked to delete
    audit_id: str = ""

    def detail(self) -> dict[str, Any]:
        return {
            "suppression_ids": self.suppression_ids,
            "jobs": sorted(self.scrubbed.jobs),
            "prospect_rows": self.scrubbed.prospects,
            "events_deleted": self.scrubbed.events_deleted,
            "records_redacted": self.scrubbed.records_redacted,
            "artifacts_regenerated": self.scrubbed.artifacts,
            "checkpoint_threads": self.checkpoint_threads,
            "cache_entries": self.cache_entries,
            "vectors": self.vectors,
            "destinations": self.destinations,
        }


async def find_person(session: AsyncSession, tenant_id: str, person: Person) -> Person:
    """Complete `person` from the tenant's prospect records: matching by any identifier adds the
    others (an email leads to the login, merged accounts to each other) until nothing new matches."""
    records = (await session.execute(select(orm.ProspectRow.data).where(orm.ProspectRow.tenant_id == tenant_id))).scalars().all()
    left = list(records)
    while matched := [data for data in left if person.is_subject(data)]:
        for data in matched:
            person.absorb(data)
        left = [data for data in left if not person.is_subject(data)]
        person.found = True
    return person


async def was_erased(session: AsyncSession, tenant_id: str, login: str) -> bool:
    """Whether the login already carries an erasure tombstone (a repeated erasure is not `NotFound`)."""
    try:
        _, value = normalize_entry("login", login)
    except ValueError:
        return False
    index = keyring_of(session).blind_index(tenant_id, value)
    query = select(Suppression.id).where(
        Suppression.tenant_id == tenant_id,
        Suppression.kind == "login",
        Suppression.value_index == index,
        Suppression.reason == "erasure",
    )
    return (await session.execute(query)).first() is not None


async def erase(
    session: AsyncSession, tenant_id: str, person: Person, *, actor: str, origin: Origin | None = None
) -> ErasureReport:
    """Tombstone, then remove the person from every store (see the module docstring); commits.
    Raises NotFound for someone the tenant holds nothing of, Conflict while a job of the tenant runs."""
    person = await find_person(session, tenant_id, person)
    if not person.found and not any([await was_erased(session, tenant_id, login) for login in person.logins]):
        raise NotFound("no prospect of this tenant matches (nothing is held about them)")
    suppression_ids = await _tombstone(session, tenant_id, person)
    await session.commit()
    running = (
        await session.execute(select(orm.Job.id).where(orm.Job.tenant_id == tenant_id, orm.Job.status == "running").limit(1))
    ).scalar_one_or_none()
    if running is not None:
        raise Conflict(
            f"job {running} of this tenant is running and may be collecting this person right now; they are already "
            f"suppressed (no new job collects them), and the erasure can complete once no job runs: retry in {RETRY_AFTER_SECONDS} s",
            slug="job-running",
            retry_after=RETRY_AFTER_SECONDS,
        )
    report = ErasureReport(suppression_ids, await scrub(session, tenant_id, person))
    settings: Settings = session.info[SETTINGS_INFO]
    report.checkpoint_threads = len(await asyncio.to_thread(delete_threads, settings, tenant_id, report.scrubbed.jobs))
    report.cache_entries = await asyncio.to_thread(forget_cached, settings, person.mentions)
    report.vectors = await asyncio.to_thread(forget_vectors, settings, tenant_id, person.logins)
    report.destinations = await forget_everywhere(session, tenant_id, person.prospect_ids, person.emails)
    record = await record_audit(
        session, tenant_id=tenant_id, actor=actor, action="prospect.erase", detail=report.detail(), origin=origin
    )
    await session.commit()
    await truncate_wal(session)
    report.audit_id = record.id
    return report


async def overwrite_freed(session: AsyncSession) -> None:
    """SQLite keeps deleted rows in free pages unless told to zero them (this connection, from now on)."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("PRAGMA secure_delete=ON"))


async def truncate_wal(session: AsyncSession) -> None:
    """After a commit: SQLite's WAL still holds older page images (with what was deleted) until it is
    checkpointed and truncated. Postgres reclaims dead rows by (auto)vacuum."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        await session.commit()


async def _tombstone(session: AsyncSession, tenant_id: str, person: Person) -> list[str]:
    """An erasure tombstone (blind index only) per login, GitHub id and email of the person."""
    values = [("login", login) for login in sorted(person.logins)]
    values += [("github_id", str(number)) for number in sorted(person.github_ids)]
    values += [("email", email) for email in sorted(person.emails)]
    with tenant_scope(tenant_id):
        rows = [
            await add_suppression(session, tenant_id, kind, value, reason="erasure", source="erasure") for kind, value in values
        ]
    return [row.id for row in rows]


def forget_cached(settings: Settings, mentions: Callable[[str], bool]) -> int:
    """Drop the GitHub ETag cache entries whose URL or body mentions the person (their profile, events,
    repos, and search or contributor pages naming them): the next job simply fetches them again."""
    cache = open_etag_cache(settings.home, settings.redis_url, get_keyring(settings))
    return cache.forget(lambda key, body: mentions(key) or mentions(body.decode("utf-8", "replace")))


def forget_vectors(settings: Settings, tenant_id: str, logins: Iterable[str]) -> int:
    """The person's vectors in the tenant's namespace, from every configured store (erasure, retention)."""
    return sum(forget_person_vectors(settings, login, [tenant_id]) for login in sorted(logins))
