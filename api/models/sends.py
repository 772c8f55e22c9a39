"""Bodies of `/api/jobs/{id}/send` and `/api/jobs/{id}/sends`: sending a finished job's approved drafts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.core.orm_sends import SendRunStatus
from foundation.limits import MAX_PROSPECTS

SendStatus = Literal["queued", "sent", "skipped", "failed", "bounced"]


class SendRequest(BaseModel):
    """What to send: at most `limit` messages (null: every approved draft), or (`dry_run`) none, with
    every check run and every message built."""

    model_config = ConfigDict(extra="forbid")

    limit: int | None = Field(default=None, ge=1, le=MAX_PROSPECTS)
    dry_run: bool = False


class SendRun(BaseModel):
    """One send request: queued at once, then run in the background. `counts` (once finished) holds
    the outcomes (`sent`, `bounced`, `rejected`, `deferred`, `in_doubt`, `skipped`, `would_send` for
    a dry run) and `already_sent` / `not_approved`; `stopped` says why it ended early (a cap, the
    kill switch: run it again later, nothing is sent twice)."""

    id: str = Field(examples=["snd_3f2a9c0d1e2b4a5c6d7e"])
    job_id: str
    status: SendRunStatus
    dry_run: bool
    limit: int | None
    approved: int = Field(description="Approved drafts of the job when the request was made.")
    already_sent: int = Field(description="Of those, messages already sent, bounced, refused or in flight.")
    counts: dict[str, int]
    stopped: str | None
    stopped_detail: str | None
    created_at: datetime
    finished_at: datetime | None


class SendOut(BaseModel):
    """One message of the job. `status`: `queued` (claimed and in flight, in doubt, or deferred by
    the server: `reason` says which), `sent`, `skipped` (a send-time check refused it: `reason`),
    `failed` (the server refused the message) or `bounced`. No address: see the lead for that."""

    id: str
    prospect_id: str
    step: int
    status: SendStatus
    reason: str | None
    detail: str | None = Field(description="The server's answer or the check's explanation, personal data masked.")
    message_id: str | None
    send_run_id: str | None
    created_at: datetime
    claimed_at: datetime | None
    finished_at: datetime | None
    bounced_at: datetime | None
    complained_at: datetime | None
    replied_at: datetime | None


class SendPage(BaseModel):
    """One page, newest first; pass `next_cursor` back as `?cursor=` for the next (null at the end)."""

    items: list[SendOut]
    next_cursor: str | None
