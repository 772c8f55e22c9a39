"""Chat answers from a job's stored evidence: why a prospect holds its rank, and how many leads
are contactable. Everything said comes from the `prospects` rows the worker wrote (score,
score_explanation, signals with their evidence, compliance verdict), never from a model.

Ranks follow the enricher's order: score descending, then login.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.core import orm
from foundation.schemas import Prospect
from foundation.schemas.prospect import Evidence

_SHOWN_EVIDENCE = 3  # per signal: the answer stays readable; `details` carries all of it


@dataclass(frozen=True)
class Answer:
    text: str
    details: dict[str, Any]


async def results_job(session: AsyncSession, tenant_id: str, job_ids: Sequence[str]) -> tuple[orm.Job | None, str]:
    """The newest of the thread's jobs that has stored prospects, and a sentence when it is not the
    newest job (a refined job still queued should not hide the results of the run before it)."""
    for index, job_id in enumerate(reversed(job_ids)):
        has_rows = await session.scalar(
            select(orm.ProspectRow.prospect_id)
            .where(orm.ProspectRow.job_id == job_id, orm.ProspectRow.tenant_id == tenant_id)
            .limit(1)
        )
        if has_rows is not None:
            job = await session.get(orm.Job, job_id)
            if index == 0 or job is None:
                return job, ""
            newest = await session.get(orm.Job, job_ids[-1])
            status = newest.status if newest else "gone"
            return job, f"Job {job_ids[-1]} ({status}) has no results yet; from the earlier run {job_id}: "
    return None, ""


def _evidence(item: Evidence) -> str:
    parts = [item.kind]
    if item.repo:
        parts.append(f"in {item.repo}")
    if item.count is not None:
        parts.append(f"×{item.count}")
    if item.date is not None:
        parts.append(f"on {item.date.date().isoformat()}")
    if item.url:
        parts.append(f"({item.url})")
    return " ".join(parts)


async def login_of(session: AsyncSession, job: orm.Job, login: str | None, rank: int | None) -> str | None:
    """The login of the lead named by `login` or holding `rank` in `job` (None: no such lead)."""
    if login is not None:
        row = await _find(session, job.id, login)
    else:
        rows = await _ranked(session, job.id, limit=1, offset=max(0, (rank or 1) - 1))
        row = rows[0] if rows else None
    return None if row is None else str(row.data.get("username") or row.prospect_id.removeprefix("gh_"))


async def _ranked(session: AsyncSession, job_id: str, limit: int | None = None, offset: int = 0) -> list[orm.ProspectRow]:
    query = (
        select(orm.ProspectRow)
        .where(orm.ProspectRow.job_id == job_id)
        .order_by(orm.ProspectRow.score.desc(), orm.ProspectRow.prospect_id)
        .offset(offset)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def _find(session: AsyncSession, job_id: str, login: str) -> orm.ProspectRow | None:
    """The prospect whose login (or a login merged into it) is `login`, case-insensitively."""
    row = (
        await session.execute(
            select(orm.ProspectRow).where(
                orm.ProspectRow.job_id == job_id, func.lower(orm.ProspectRow.prospect_id) == f"gh_{login.lower()}"
            )
        )
    ).scalar_one_or_none()
    if row is not None:
        return row
    wanted = login.lower()
    return next(
        (r for r in await _ranked(session, job_id) if wanted in {m.lower() for m in r.data.get("merged_logins", [])}),
        None,
    )


async def explain(session: AsyncSession, job: orm.Job, login: str | None, asked_rank: int | None) -> Answer:
    """Why `login` (or whoever holds `asked_rank`) is where it is, from its score and evidence."""
    total = await session.scalar(select(func.count()).where(orm.ProspectRow.job_id == job.id)) or 0
    if login is None:
        rows = await _ranked(session, job.id, limit=1, offset=(asked_rank or 1) - 1)
        if not rows:
            return Answer(f"Job {job.id} has only {total} prospects, so nobody is ranked #{asked_rank}.", {"job_id": job.id})
        row = rows[0]
    else:
        found = await _find(session, job.id, login)
        if found is None:
            top = ", ".join(r.data.get("username", r.prospect_id) for r in await _ranked(session, job.id, limit=3))
            text = f"{login} is not among the {total} prospects of job {job.id}; the top ones are {top}."
            return Answer(text, {"job_id": job.id, "login": login, "found": False})
        row = found
    ahead = await session.scalar(
        select(func.count()).where(
            orm.ProspectRow.job_id == job.id,
            or_(
                orm.ProspectRow.score > row.score,
                and_(orm.ProspectRow.score == row.score, orm.ProspectRow.prospect_id < row.prospect_id),
            ),
        )
    )
    rank = (ahead or 0) + 1
    prospect = Prospect.model_validate(row.data)
    name = prospect.username
    opening = f"{name} is ranked #{rank} of {total} in job {job.id}"
    if asked_rank is not None and login is not None and asked_rank != rank:
        opening = f"{name} is ranked #{rank} of {total} in job {job.id}, not #{asked_rank}"
    signals = [
        f"{s.name} ({'; '.join(_evidence(e) for e in s.evidence[:_SHOWN_EVIDENCE]) or 'no evidence recorded'})"
        for s in prospect.signals
    ]
    text = (
        f"{opening}, with score {prospect.score:.2f}. Why: {prospect.score_explanation or 'no explanation was stored'}."
        + (f" Signals: {', '.join(signals)}." if signals else " No signals were recorded.")
        + (f" Compliance: {prospect.compliance.verdict}." if prospect.compliance else "")
    )
    details = {
        "job_id": job.id,
        "prospect_id": prospect.id,
        "username": name,
        "rank": rank,
        "of": total,
        "score": prospect.score,
        "score_explanation": prospect.score_explanation,
        "signals": [s.model_dump(mode="json") for s in prospect.signals],
        "verdict": prospect.compliance.verdict if prospect.compliance else None,
    }
    return Answer(text, details)


async def counts(session: AsyncSession, job: orm.Job) -> Answer:
    """Prospects by compliance verdict; contactable = approved (the analytics' definition)."""
    rows = await session.execute(
        select(orm.ProspectRow.verdict, func.count()).where(orm.ProspectRow.job_id == job.id).group_by(orm.ProspectRow.verdict)
    )
    by_verdict = {verdict or "unreviewed": count for verdict, count in rows.all()}
    total = sum(by_verdict.values())
    contactable = by_verdict.get("approved", 0)
    text = (
        f"Job {job.id} ({job.status}): {total} prospects stored, {contactable} contactable (compliance approved), "
        f"{by_verdict.get('needs_review', 0)} need review, {by_verdict.get('rejected', 0)} rejected"
        + (f", {by_verdict['unreviewed']} not reviewed yet" if by_verdict.get("unreviewed") else "")
        + "."
    )
    details = {"job_id": job.id, "status": job.status, "prospects": total, "contactable": contactable, "by_verdict": by_verdict}
    return Answer(text, details)
