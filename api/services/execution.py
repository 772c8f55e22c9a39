"""One attempt at one claimed job: the graph in a thread, its events persisted as they come, and the
end written in one transaction (status, summary, prospects, artifacts, terminal event).

The pipeline is synchronous (LangGraph's sync stream, a sync PostgresSaver, the GitHub client's own
thread pool), so each job runs `graph.runner.run_job` / `resume_job` in a thread: the same GitHub
rules as the CLI (sandbox, Redis ETag cache), the checkpointer of DATABASE_URL with `thread_id` =
job id and `durability="sync"`, and one saver per job on its own connection, so concurrent jobs of
one worker never queue on one saver's lock (langgraph#7259). The thread hands every event to the
event loop (`call_soon_threadsafe`); the loop appends them in batches, each batch in the same
transaction as the job's counts and lease heartbeat, so the counts always match the stored log.
The job is the graph's event sink (`Context.events`): tasks hand it their events directly, in their
own threads, and every task ends by waiting until the loop has stored everything handed over so far
(`flush`). LangGraph saves a task's writes only after the task returns, so a worker that dies never
leaves a checkpointed task whose events are missing.

Resuming after a takeover re-runs the steps that were in flight, and they emit their events again.
Every graph event names its task, task ids are stable across a resume and a step emits the same
sequence again, so the first n events of a (task, event) pair that the log already holds n of are
dropped. Prospects and artifacts are upserts keyed by job, so nothing is duplicated either.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import structlog
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from api.core import orm
from api.core.config import ApiConfig
from api.core.database import Database
from api.services import db_blips
from api.services.artifacts import save_artifact
from api.services.estimates import LEADS
from api.services.events import JOB_CANCELLED, JOB_FAILED, JOB_STARTED, append_event
from api.services.job_results import (
    CONTENT_TYPES,
    artifact_files,
    checkpoint_values,
    describe_error,
    leads_so_far,
    stopped_summary,
    trace_file,
)
from api.services.leases import end_lease, release_lease, renew_lease
from api.services.prospects import save_prospects
from api.services.suppressions import drop_suppressed_leads, load_from_thread
from api.services.webhooks import dispatch_for_event
from foundation.artifacts import TRACE
from foundation.events import (
    CAMPAIGN_COMPLETED,
    COMPLIANCE_REVIEWED,
    JOB_PROGRESS,
    MESSAGE_DRAFTED,
    PROSPECT_ENRICHED,
    PROSPECT_FOUND,
    TOOL_RESULT,
)
from foundation.schemas import Campaign
from foundation.schemas.run import RunStatus, RunSummary
from foundation.settings import Settings
from graph.runner import JobResult, resume_job, run_job
from storage.encrypted_types import ensure_tenant_keys
from storage.keyring import tenant_scope

log = structlog.get_logger("api.worker")

PROGRESS_INTERVAL_SECONDS = 1.0
COUNTED = {
    PROSPECT_FOUND: "candidates",
    PROSPECT_ENRICHED: "enriched",
    MESSAGE_DRAFTED: "drafted",
    COMPLIANCE_REVIEWED: "reviewed",
}
COUNTS = ("repos", *COUNTED.values())

Outcome = Literal["finished", "released", "lost"]
StopReason = Literal["cancel", "lost", "shutdown"]


class JobStopped(Exception):
    """Raised in the graph thread, at its next event, once the worker asked the job to stop."""


class JobRun:
    """Runs one claimed job until it finishes, is cancelled, is released, or its lease is lost."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        config: ApiConfig,
        job: orm.Job,
        worker_id: str,
        keepalive: Callable[[], Awaitable[None]],
    ) -> None:
        self.database, self.settings, self.config = database, settings, config
        self.job, self.worker_id, self.keepalive = job, worker_id, keepalive
        self.counts: dict[str, int] = dict.fromkeys(COUNTS, 0) | job.counts
        self._stop = threading.Event()
        self._stored_upto = threading.Condition()  # guards the counts below, across threads
        self._sent = self._taken = self._saved = 0  # events handed over / taken by the loop / stored (or dropped)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._why: StopReason | None = None
        self._wake = asyncio.Event()
        self._inbox: list[dict[str, Any]] = []
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self._stored: Counter[tuple[str, str]] = Counter()  # (task, event) -> events in the log
        self._emitted: Counter[tuple[str, str]] = Counter()  # (task, event) -> events seen in this attempt
        self._reported = dict(self.counts)
        self._progress_at = self._keepalive_at = 0.0
        self.final: tuple[str, RunSummary] | None = None  # (status, summary) once the job is finished

    def request_stop(self, why: StopReason) -> None:
        """Stop the graph at its next event; the first reason given decides how the job ends."""
        self._why = self._why or why
        self._halt()

    def _halt(self) -> None:
        """Make the graph thread stop at its next event, also when a task waits for its events."""
        self._stop.set()
        self._wake.set()
        with self._stored_upto:
            self._stored_upto.notify_all()

    def __call__(self, event: dict[str, Any]) -> None:
        """EventSink: one event, in the emitting task's thread; raises once the job must stop."""
        if self._stop.is_set():
            raise JobStopped
        with self._stored_upto:
            self._sent += 1
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._arrive, event)

    def flush(self) -> None:
        """EventSink: return once every event handed over so far is stored; a stopping job fails the
        waiting task instead, so LangGraph does not save results whose events may be missing."""
        with self._stored_upto:
            target = self._sent
            self._stored_upto.wait_for(lambda: self._saved >= target or self._stop.is_set())
            if self._saved < target:
                raise JobStopped

    async def execute(self) -> Outcome:
        await ensure_tenant_keys(self.job.tenant_id)
        with tenant_scope(self.job.tenant_id):  # what the job stores is sealed with its tenant's key
            return await self._execute()

    async def _execute(self) -> Outcome:
        outcome: JobResult | BaseException
        if self.job.attempts > self.config.worker_max_attempts:
            outcome = RuntimeError(f"gave up after {self.job.attempts - 1} attempts: the workers running it stopped")
        elif self.job.cancel_requested:
            self.request_stop("cancel")
            outcome = JobStopped()
        elif self._stop.is_set():  # the worker began shutting down before the job started
            outcome = JobStopped()
        else:
            await self._announce()
            outcome = await self._run()
        if self._why == "lost":
            log.warning("lease lost: another worker took the job over")
            return "lost"
        if self._why == "shutdown":
            await release_lease(self.database, self.job.id, self.worker_id)
            return "released"
        return await self._finish(outcome)

    async def _announce(self) -> None:
        """`job.started`, after learning which graph events the log already holds (from a worker
        that ran the job before: one that died, or stopped and handed it back)."""
        async with self.database.sessions() as session:
            rows = (
                await session.execute(select(orm.JobEvent.event, orm.JobEvent.data).where(orm.JobEvent.job_id == self.job.id))
            ).all()
            self._stored = Counter((data["task"], event) for event, data in rows if data.get("task"))
            resumed = any(event == JOB_STARTED for event, _ in rows)
            await append_event(session, self.job.id, JOB_STARTED, {"attempt": self.job.attempts, "resumed": resumed})
            await session.commit()
        log.info("job started", attempt=self.job.attempts, resumed=resumed)

    async def _run(self) -> JobResult | BaseException:
        """Run the graph thread and persist its events until it ends; its result or exception."""
        self._loop = asyncio.get_running_loop()
        graph = asyncio.ensure_future(asyncio.to_thread(self._run_graph, self._loop))
        graph.add_done_callback(lambda _: self._wake.set())
        next_sync = 0.0
        try:
            while True:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, next_sync - time.monotonic()))
                except TimeoutError:
                    pass
                self._wake.clear()
                self._take_inbox()
                if self._pending or graph.done() or time.monotonic() >= next_sync:
                    await self._sync(final=graph.done())
                    next_sync = time.monotonic() + self.config.worker_heartbeat_seconds
                if not self._pending:
                    with self._stored_upto:
                        self._saved = self._taken
                        self._stored_upto.notify_all()
                # Once the thread is done every event has arrived; some may have come during the sync.
                if graph.done() and not self._inbox and (not self._pending or self._why in ("lost", "shutdown")):
                    break
        finally:
            if not graph.done():  # this loop failed: the thread must not wait for it forever
                self._halt()
        try:
            return graph.result()
        except Exception as exc:  # the job's failure, reported on the job, not the worker's
            return exc

    def _run_graph(self, loop: asyncio.AbstractEventLoop) -> JobResult:
        """In the thread: the graph, resumed from its checkpoint after a database blip (a lost or
        refused connection, a locked file) with backoff for up to `db_blips.RETRY_SECONDS`, so a blip
        of seconds costs seconds, not a failed attempt and the claim-idle wait before the next."""
        waits = iter(db_blips.delays())
        while True:
            try:
                return self._run_graph_once(loop)
            except JobStopped:
                raise
            except Exception as exc:
                delay = next(waits, None)
                if delay is None or not db_blips.is_transient(exc):
                    raise
                log.warning("database blip: resuming the job from its checkpoint", error=str(exc), retry_in=delay)
                if self._stop.wait(delay) or not self._rebase(loop):
                    raise

    def _rebase(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Before resuming within this attempt: wait until every event handed over is stored (the
        loop retries its writes), then count them as the log's, so the events the resumed graph
        emits again are dropped as on a resume by another worker. False when they could not be
        stored in time or the job is stopping."""
        with self._stored_upto:
            target = self._sent
            stored = self._stored_upto.wait_for(
                lambda: self._saved >= target or self._stop.is_set(), timeout=db_blips.RETRY_SECONDS
            )
        if not stored or self._stop.is_set():
            return False
        asyncio.run_coroutine_threadsafe(self._forget_emitted(), loop).result()
        return True

    async def _forget_emitted(self) -> None:
        self._stored, self._emitted = self._stored | self._emitted, Counter()

    def _run_graph_once(self, loop: asyncio.AbstractEventLoop) -> JobResult:
        """Continue from the job's checkpoint if a worker (or an earlier try of this one) started it."""

        suppression = load_from_thread(self.database, self.job.tenant_id, loop)  # the tenant's list, read now
        if checkpoint_values(self.settings, self.job.id, self.job.tenant_id):
            return resume_job(
                self.job.id,
                self.settings,
                events=self,
                suppression=suppression,
                tenant_id=self.job.tenant_id,
                sandbox=self.config.github_sandbox,
            )
        campaign = Campaign.model_validate(self.job.campaign) if self.job.campaign else None
        return run_job(
            self.job.goal,
            self.settings,
            files=False,
            campaign=campaign,
            max_prospects=self.job.max_prospects,
            run_id=self.job.id,
            events=self,
            tenant_id=self.job.tenant_id,
            suppression=suppression,
            sandbox=self.config.github_sandbox,
        )

    def _arrive(self, event: dict[str, Any]) -> None:
        self._inbox.append(event)
        self._wake.set()

    def _take_inbox(self) -> None:
        """Move new graph events to the pending batch: drop re-emitted ones, count the rest.
        The graph's `campaign.completed` is held back: the worker writes it with the stored results."""
        events, self._inbox = self._inbox, []
        self._taken += len(events)
        for event in events:
            name, payload = event["event"], event.get("data", {})
            if name == CAMPAIGN_COMPLETED:
                continue
            task = event.get("task") or payload.get("task", "")  # agent.started/finished carry it in data
            data = json.loads(json.dumps({"agent": event.get("agent"), "task": task, **payload}, default=str))
            self._emitted[task, name] += 1
            if self._emitted[task, name] <= self._stored[task, name]:
                continue
            self._pending.append((name, data))
            counter = "repos" if name == TOOL_RESULT and data.get("tool") == "contributors" else COUNTED.get(name)
            if counter:
                self.counts[counter] += 1

    async def _sync(self, *, final: bool) -> None:
        """One transaction: pending events, a `job.progress` when due, counts and heartbeat. Learns
        about cancellation and lease loss; a database error is retried at the next tick."""
        batch = list(self._pending)
        now = time.monotonic()
        due = final or now - self._progress_at >= PROGRESS_INTERVAL_SECONDS
        progress = dict(self.counts) if due and self.counts != self._reported else None
        try:
            async with self.database.sessions() as session:
                for name, data in batch:
                    await append_event(session, self.job.id, name, data)
                if progress:
                    await append_event(session, self.job.id, JOB_PROGRESS, progress)
                cancel = await renew_lease(session, self.job.id, self.worker_id, self.counts)
                if cancel is None:
                    await session.rollback()
                    self.request_stop("lost")
                    return
                await session.commit()
        except (SQLAlchemyError, OSError) as exc:
            log.warning("job events not saved yet; retrying", error=str(exc), pending=len(batch))
            return
        del self._pending[: len(batch)]
        for name, data in batch:
            await dispatch_for_event(self.database, self.job.id, name, data)
        if progress:
            self._reported, self._progress_at = progress, now
        if cancel:
            self.request_stop("cancel")
        if now >= self._keepalive_at:
            self._keepalive_at = now + self.config.worker_heartbeat_seconds
            await self.keepalive()

    async def _finish(self, outcome: JobResult | BaseException) -> Outcome:
        """Write the end of the job in one transaction, conditioned on still holding its lease."""
        if isinstance(outcome, JobResult):
            leads, summary = outcome.prospects, outcome.summary
            refusal = summary.plan.refusal if summary.status == "refused" and summary.plan else None
            status, error = ("failed", f"the goal was refused: {refusal}") if refusal else ("succeeded", None)
        else:
            stopped: RunStatus = "cancelled" if self._why == "cancel" else "failed"
            status, error = stopped, (None if stopped == "cancelled" else describe_error(outcome))
            if error:
                log.error("job failed", error=error, exc_info=outcome)
            values = await asyncio.to_thread(self._values_or_nothing)
            leads = leads_so_far(values)
            summary = stopped_summary(self.job, values, leads, stopped)
        leads, summary = await drop_suppressed_leads(self.database, self.job.tenant_id, leads, summary)
        terminal = _terminal_event(summary, error)
        files = await asyncio.to_thread(artifact_files, leads, summary)
        async with self.database.sessions() as session:
            if not await end_lease(
                session,
                self.job.id,
                self.worker_id,
                status=status,
                error=error,
                summary=summary.model_dump(mode="json"),
                counts=self.counts | {LEADS: summary.prospects_found},  # for job.created estimates
            ):
                await session.rollback()
                return "lost"
            await save_prospects(session, self.job, leads)
            await append_event(session, self.job.id, *terminal)
            for name, content in files.items():
                await save_artifact(session, self.job, name, CONTENT_TYPES[name], content)
            await save_artifact(session, self.job, TRACE, CONTENT_TYPES[TRACE], await trace_file(session, self.job.id))
            await session.commit()
        self.final = (status, summary)
        await dispatch_for_event(self.database, self.job.id, *terminal)
        log.info("job finished", status=status, prospects=len(leads))
        return "finished"

    def _values_or_nothing(self) -> dict[str, Any]:
        """The last checkpoint's state for partial results; a broken checkpointer means none."""
        try:
            return checkpoint_values(self.settings, self.job.id, self.job.tenant_id)
        except Exception as exc:  # the job still ends, with empty results
            log.warning("no partial results: checkpoint unreadable", error=str(exc))
            return {}


def _terminal_event(summary: RunSummary, error: str | None) -> tuple[str, dict[str, Any]]:
    """The job's last event, from its final summary: SPEC's `campaign.completed`, else why it ended."""
    if summary.status == "cancelled":
        return JOB_CANCELLED, {"reason": "cancelled on request", "prospects_found": summary.prospects_found}
    if summary.status == "failed":
        return JOB_FAILED, {"error": error, "prospects_found": summary.prospects_found}
    if error:  # a refused goal
        return JOB_FAILED, {"error": error}
    return CAMPAIGN_COMPLETED, summary.completed_event().model_dump(mode="json")
