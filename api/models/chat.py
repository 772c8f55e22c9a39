"""Bodies of `/api/chat`: a message in, the reply (and the job it started or talks about) out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.models.jobs import MAX_GOAL_CHARS, Job

ChatIntent = Literal["goal", "refine", "explain", "counts", "help", "refused", "unchanged", "lookalike"]
Message = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_GOAL_CHARS)]


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Message = Field(
        description="A goal, a refinement ('only EU', 'drop Google employees', 'top 20', 'write shorter emails') "
        "or a question ('why is octocat ranked first?', 'how many are contactable?')."
    )
    thread_id: str | None = Field(default=None, description="Continue this thread; omit to start one.")


class ChatReply(BaseModel):
    thread_id: str
    reply: str
    intent: ChatIntent = Field(description="How the message was read.")
    job: Job | None = Field(description="The job started by this message, else the thread's latest job.")
    job_created: bool
    stream_url: str | None = Field(description="SSE stream of `job`: `/api/jobs/<id>/events`.")
    changes: list[str] = Field(default_factory=list, description="What a refinement changed, one sentence each.")
    details: dict[str, Any] | None = Field(default=None, description="The data behind an answer (rank, signals, counts).")


class ChatMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str
    at: datetime
    intent: ChatIntent | None = None
    job_id: str | None = None


class ChatThread(BaseModel):
    """A thread's history; `job_ids` lists the jobs it started, oldest first."""

    thread_id: str
    goal: str | None
    job_id: str | None
    job_ids: list[str]
    messages: list[ChatMessage]
    created_at: datetime
    updated_at: datetime
