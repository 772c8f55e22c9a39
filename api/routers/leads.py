"""`/api/jobs/{job_id}/leads`: review a finished job's leads, edit their drafts, approve or reject.

Every route is audited (leads are personal data, and decisions decide who gets an email); a
decision's record carries the decision, a bulk approval's the ids it approved.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from api.core.auth import CurrentPrincipal, authenticate
from api.core.deps import SessionDep
from api.models.leads import BulkApproval, BulkApprovalResult, DraftEdit, LeadDetail, LeadList, ReviewRequest
from api.models.problem import problems
from api.routers.auditing import audited, note_for_audit
from api.routers.jobs import JobId
from api.services import lead_reviews, leads

router = APIRouter(prefix="/api/jobs", tags=["leads"], dependencies=[Depends(authenticate)], responses=problems(401, 404))

ProspectId = Annotated[str, Path(description="A lead's id, `gh_<login>`.", max_length=255)]


@router.get("/{job_id}/leads", dependencies=[audited("lead.list")])
async def list_leads(job_id: JobId, principal: CurrentPrincipal, session: SessionDep) -> LeadList:
    """Every stored lead of the job, best first, masked as the tenant's downloads are (empty until
    the job has finished)."""
    return await leads.list_leads(session, principal.tenant_id, job_id)


@router.post(
    "/{job_id}/leads/approve",
    responses=problems(400, 409, 413, 415, 422),
    dependencies=[audited("lead.bulk_review")],
)
async def approve_leads(
    job_id: JobId, body: BulkApproval, principal: CurrentPrincipal, session: SessionDep, request: Request
) -> BulkApprovalResult:
    """Approve the listed leads, or (`prospect_ids: null`) every lead that needs review; leads a
    compliance rule rejects are skipped with its reasons."""
    result = await lead_reviews.approve_leads(session, principal.tenant_id, job_id, body, principal.key_id)
    note_for_audit(request, prospect_ids=result.approved, decision="approved", skipped=len(result.skipped))
    return result


@router.get("/{job_id}/leads/{prospect_id}", dependencies=[audited("lead.read")])
async def get_lead(job_id: JobId, prospect_id: ProspectId, principal: CurrentPrincipal, session: SessionDep) -> LeadDetail:
    """The whole lead (evidence, score explanation, provenance, draft, compliance review) and a
    person's decision on it."""
    return await leads.get_lead(session, principal.tenant_id, job_id, prospect_id)


@router.put(
    "/{job_id}/leads/{prospect_id}/draft",
    responses=problems(400, 409, 413, 415, 422),
    dependencies=[audited("lead.edit")],
)
async def edit_draft(
    job_id: JobId, prospect_id: ProspectId, body: DraftEdit, principal: CurrentPrincipal, session: SessionDep
) -> LeadDetail:
    """Replace the draft's subject and body; the compliance rules review it again, and an earlier
    decision is cleared (it was about the old text)."""
    return await lead_reviews.edit_draft(session, principal.tenant_id, job_id, prospect_id, body)


@router.post(
    "/{job_id}/leads/{prospect_id}/review",
    responses=problems(400, 409, 413, 415, 422),
    dependencies=[audited("lead.review")],
)
async def review_lead(
    job_id: JobId,
    prospect_id: ProspectId,
    body: ReviewRequest,
    principal: CurrentPrincipal,
    session: SessionDep,
    request: Request,
) -> LeadDetail:
    """Approve or reject the lead. Approving one a compliance rule rejects (no email, a no-reply or
    bot account, suppressed, a bio asking not to be contacted ...) is a 409 listing the reasons."""
    note_for_audit(request, decision=body.decision)
    return await lead_reviews.review_lead(session, principal.tenant_id, job_id, prospect_id, body, principal.key_id)
