"""What a finished job leaves behind: leads, summary and artifact files, also for a job that stopped
early (cancelled or failed), whose results are read back from its last checkpoint.

The files are produced by the CLI's own writers (`foundation.artifacts`), so a job run by the service
and a `cmo run` produce byte-identical leads, CSV and summary; `trace.jsonl` is the job's event
log as stored, which spans every worker that ran the job.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core import orm
from api.services.suppressions import job_event_filter
from foundation.artifacts import ARTIFACTS, LEADS_CONTACTABLE, LEADS_FULL, SUMMARY, TRACE, contactable, render_artifacts
from foundation.schemas import Prospect
from foundation.schemas.run import RunStatus, RunSummary
from foundation.settings import Settings
from graph.graph import build_graph
from graph.runner import BadInput
from storage.checkpoints import open_checkpointer
from tools.scoring import rank_prospects

CONTENT_TYPES = {
    LEADS_FULL: "application/json",
    LEADS_CONTACTABLE: "text/csv",
    SUMMARY: "application/json",
    TRACE: "application/x-ndjson",
}


def checkpoint_values(settings: Settings, job_id: str, tenant_id: str) -> dict[str, Any]:
    """The graph state at the job's last checkpoint (empty if the job never reached one), decrypted
    with the key of the job's tenant."""
    with open_checkpointer(settings, tenant_id) as saver:
        return dict(build_graph(saver).get_state({"configurable": {"thread_id": job_id}}).values)


def leads_so_far(values: dict[str, Any]) -> list[Prospect]:
    """The leads of a stopped run: the ranked ones once ranking ran, else the people enriched so far
    ranked as the graph's `rank` node ranks them."""
    if values.get("prospects"):
        return list(values["prospects"])
    if values.get("enriched") and "plan" in values:
        return rank_prospects(values["enriched"], values.get("links", {}))[: values["plan"].max_prospects]
    return []


def stopped_summary(job: orm.Job, values: dict[str, Any], leads: Sequence[Prospect], status: RunStatus) -> RunSummary:
    """The summary of a job that did not reach `finalize`: SPEC's fields plus why it stopped."""
    started = job.started_at or job.created_at
    return RunSummary(
        duration_seconds=round((orm.utcnow() - started).total_seconds()),
        prospects_found=len(leads),
        emails_contactable=len(contactable(list(leads))),
        artifacts=ARTIFACTS,
        run_id=job.id,
        status=status,
        goal=job.goal,
        stop_reasons=sorted(set(values.get("stop_reasons", []))),
    )


def describe_error(exc: BaseException) -> str:
    """The job's `error`: a user-fixable problem as the CLI would print it, else the exception."""
    return str(exc) if isinstance(exc, BadInput) else f"{type(exc).__name__}: {exc}"


def artifact_files(leads: Sequence[Prospect], summary: RunSummary | None) -> dict[str, bytes]:
    """leads_full.json, leads_contactable.csv and (with a summary) summary.json, rendered in memory:
    personal data of a service job never sits in a plaintext file, not even while it runs."""
    return {name: text.encode() for name, text in render_artifacts(list(leads), summary).items()}


async def trace_file(session: AsyncSession, job_id: str) -> bytes:
    """The job's event log as JSON lines, in sequence order, without events naming anyone suppressed."""
    hidden = await job_event_filter(session, job_id)
    rows = await session.execute(
        select(orm.JobEvent.seq, orm.JobEvent.event, orm.JobEvent.created_at, orm.JobEvent.data)
        .where(orm.JobEvent.job_id == job_id)
        .order_by(orm.JobEvent.seq)
    )
    lines = (
        json.dumps({"seq": seq, "event": event, "created_at": at.isoformat(), "data": data})
        for seq, event, at, data in rows
        if not hidden(data)
    )
    return "".join(line + "\n" for line in lines).encode()
