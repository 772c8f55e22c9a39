"""A person's changes to a finished job's leads: edit a draft, approve or reject, approve in bulk.

Every change runs in one transaction that first locks the job row, so two reviewers of one job are
applied one after the other, and ends by rendering the job's leads files again from the stored
leads (`refresh_lead_files`), with the CLI's writers: a download always shows the latest edits and
decisions, and what else reads those files (erasure regenerates from `leads_full.json`) never sees a
stale one. That costs a render of the whole job per change (measured: ~1.1 s per decision on a job
of 1,000 sandbox leads, 22 MB of leads_full.json; tens of milliseconds for the default 50); bulk approval
pays it once for all its leads (~2 s for 1,000).

The rules are the deterministic ones of the pipeline (`agents.compliance`), with what the job ran
with: its stored campaign (the tenant's sender included) with the audience the planner settled on,
the process settings, and the operator's and the tenant's suppression lists. An edit re-runs all
of them on the new draft and clears a person's earlier decision, which was about the old text. An
approval never overrides a rejection by a rule: neither the stored review's, nor the rules whose
facts change after a run (the person was suppressed, or objected through their opt-out link).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agents.compliance import approval_refusal, review_again
from api.core import orm
from api.core.database import upsert
from api.core.orm_web import LeadReview, ReviewDecision
from api.models.leads import BulkApproval, BulkApprovalResult, DraftEdit, LeadDetail, ReviewRequest, Skipped
from api.services.artifacts import save_artifact
from api.services.errors import Conflict, NotFound
from api.services.job_results import CONTENT_TYPES, artifact_files
from api.services.leads import as_decided, get_lead, lead_rows, one_lead
from api.services.suppressions import SETTINGS_INFO, load_suppression_list
from foundation.artifacts import LEADS_CONTACTABLE, LEADS_FULL
from foundation.schemas import Campaign, Message, Prospect
from foundation.schemas.run import RunSummary
from foundation.settings import Settings
from tools.scoring import rank_key
from tools.suppression import SuppressionList

_CHUNK = 500  # rows per statement: far below SQLite's and Postgres's bound-parameter limits


@dataclass(frozen=True)
class _Rules:
    """What the compliance rules of one job are run with."""

    campaign: Campaign
    suppression: SuppressionList
    settings: Settings


async def _finished_job(session: AsyncSession, tenant_id: str, job_id: str) -> orm.Job:
    """The tenant's job, locked until the transaction ends; a job still running has no leads yet."""
    query = select(orm.Job).where(orm.Job.id == job_id, orm.Job.tenant_id == tenant_id).with_for_update(key_share=True)
    job = await session.scalar(query)
    if job is None:
        raise NotFound(f"no job {job_id!r}")
    if job.status not in orm.FINISHED_STATUSES:
        raise Conflict(f"job {job_id!r} is {job.status}: its leads can be reviewed once it has finished", slug="job-not-finished")
    return job


async def _rules_of(session: AsyncSession, job: orm.Job) -> _Rules:
    """The job's campaign as the planner left it (its audience decides `excluded_company`), the
    process settings, and the suppression lists as they are now."""
    settings: Settings = session.info[SETTINGS_INFO]
    campaign = Campaign.model_validate(job.campaign or {})
    plan = RunSummary.model_validate(job.summary).plan if job.summary else None
    if plan is not None:
        campaign = campaign.model_copy(update={"goal": campaign.goal or job.goal, "target_audience": plan.audience})
    suppression = SuppressionList.load(settings.cmo_suppression_file).merged(await load_suppression_list(session, job.tenant_id))
    return _Rules(campaign, suppression, settings)


def _refusal(prospect: Prospect, rules: _Rules) -> list[str]:
    """Why a person may not approve the lead (empty: they may)."""
    return approval_refusal(prospect, rules.campaign, rules.suppression, rules.settings)


async def _decide(
    session: AsyncSession, job: orm.Job, rows: Sequence[orm.ProspectRow], decision: ReviewDecision, reason: str | None, by: str
) -> None:
    """Store the decision on each lead, and make it their verdict."""
    now = orm.utcnow()
    reviews = [
        {
            "job_id": job.id,
            "prospect_id": row.prospect_id,
            "tenant_id": job.tenant_id,
            "decision": decision,
            "reason": reason,
            "decided_by": by,
            "decided_at": now,
            "edited": (row.data.get("message") or {}).get("written_by") == "person",
        }
        for row in rows
    ]
    changed = ["decision", "reason", "decided_by", "decided_at", "edited"]
    for start in range(0, len(reviews), _CHUNK):
        chunk = reviews[start : start + _CHUNK]
        await session.execute(upsert(session, LeadReview, chunk, ["job_id", "prospect_id"], changed))
        ids = [review["prospect_id"] for review in chunk]
        await session.execute(
            update(orm.ProspectRow)
            .where(orm.ProspectRow.job_id == job.id, orm.ProspectRow.prospect_id.in_(ids))
            .values(verdict=decision)
        )


async def refresh_lead_files(session: AsyncSession, job: orm.Job) -> None:
    """Render the job's leads_full.json and leads_contactable.csv again from its stored leads and
    decisions, in rank order, as the worker first wrote them. A file the tenant deleted stays deleted;
    summary.json keeps the run's own counts."""
    query = select(orm.Artifact.name).where(orm.Artifact.job_id == job.id, orm.Artifact.name.in_([LEADS_FULL, LEADS_CONTACTABLE]))
    names = (await session.execute(query)).scalars().all()
    if not names:
        return
    rows = await lead_rows(session, job.tenant_id, job.id)
    leads = sorted((as_decided(Prospect.model_validate(row.data), review) for row, review in rows), key=rank_key)
    files = await asyncio.to_thread(artifact_files, leads, None)
    for name in names:
        await save_artifact(session, job, name, CONTENT_TYPES[name], files[name])


async def edit_draft(session: AsyncSession, tenant_id: str, job_id: str, prospect_id: str, edit: DraftEdit) -> LeadDetail:
    """Store a person's subject and body (`written_by: person`), review the new draft with the
    rules, and clear any decision on the old one."""
    job = await _finished_job(session, tenant_id, job_id)
    row, _ = await one_lead(session, tenant_id, job_id, prospect_id)
    prospect = Prospect.model_validate(row.data)
    draft = prospect.message or Message(subject=edit.subject, body=edit.body)
    message = draft.model_copy(update={"subject": edit.subject, "body": edit.body, "written_by": "person"})
    rules = await _rules_of(session, job)
    edited = prospect.model_copy(update={"message": message})
    review = review_again(edited, rules.campaign, rules.suppression, rules.settings)
    row.data = edited.model_copy(update={"compliance": review}).model_dump(mode="json")
    row.verdict = review.verdict
    await session.execute(delete(LeadReview).where(LeadReview.job_id == job.id, LeadReview.prospect_id == prospect_id))
    await refresh_lead_files(session, job)
    await session.commit()
    return await get_lead(session, tenant_id, job_id, prospect_id)


async def review_lead(
    session: AsyncSession, tenant_id: str, job_id: str, prospect_id: str, request: ReviewRequest, by: str
) -> LeadDetail:
    """A person approves or rejects one lead (`by`: their key id). Approving a lead a rule rejects
    is a `Conflict` listing the rule's reasons."""
    job = await _finished_job(session, tenant_id, job_id)
    row, _ = await one_lead(session, tenant_id, job_id, prospect_id)
    if request.decision == "approved":
        refusal = _refusal(Prospect.model_validate(row.data), await _rules_of(session, job))
        if refusal:
            codes = ", ".join(dict.fromkeys(reason.split(":", 1)[0] for reason in refusal))
            raise Conflict(
                f"lead {prospect_id!r} cannot be approved: compliance rules reject it ({codes})",
                slug="lead-rejected",
                reasons=refusal,
            )
    await _decide(session, job, [row], request.decision, request.reason, by)
    await refresh_lead_files(session, job)
    await session.commit()
    return await get_lead(session, tenant_id, job_id, prospect_id)


async def approve_leads(session: AsyncSession, tenant_id: str, job_id: str, request: BulkApproval, by: str) -> BulkApprovalResult:
    """Approve the listed leads, or (no list) every lead whose verdict is `needs_review`, in one
    transaction; unknown leads and those a rule rejects are skipped, with why."""
    job = await _finished_job(session, tenant_id, job_id)
    leads = {row.prospect_id: row for row, _ in await lead_rows(session, tenant_id, job_id)}
    skipped: list[Skipped] = []
    if request.prospect_ids is None:
        wanted = [row for row in leads.values() if row.verdict == "needs_review"]
    else:
        ids = list(dict.fromkeys(request.prospect_ids))
        skipped += [Skipped(prospect_id=i, reason=f"job {job_id!r} has no lead {i!r}") for i in ids if i not in leads]
        wanted = [leads[i] for i in ids if i in leads]
    rules = await _rules_of(session, job)
    refusals = {row.prospect_id: _refusal(Prospect.model_validate(row.data), rules) for row in wanted}
    skipped += [Skipped(prospect_id=i, reason="; ".join(reasons)) for i, reasons in refusals.items() if reasons]
    approved = [row for row in wanted if not refusals[row.prospect_id]]
    if approved:
        await _decide(session, job, approved, "approved", request.reason, by)
        await refresh_lead_files(session, job)
    await session.commit()
    return BulkApprovalResult(approved=[row.prospect_id for row in approved], skipped=skipped)
