"""`/api/chat`: submit and refine goals in plain words, and ask about the results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.core.auth import CurrentPrincipal, authenticate
from api.core.deps import SessionDep
from api.models.chat import ChatReply, ChatRequest, ChatThread
from api.models.problem import problems
from api.routers.auditing import audited
from api.routers.jobs import get_queue
from api.services import chat
from api.services.queue import JobQueue

router = APIRouter(prefix="/api/chat", tags=["chat"], dependencies=[Depends(authenticate)], responses=problems(401))


@router.post("", responses=problems(400, 404, 413, 415, 422), dependencies=[audited("chat.message")])
async def post_message(
    body: ChatRequest,
    principal: CurrentPrincipal,
    session: SessionDep,
    queue: Annotated[JobQueue, Depends(get_queue)],
    request: Request,
) -> ChatReply:
    """A first message starts a job from the goal; later ones refine it (a new job) or ask about it."""
    return await chat.chat(session, request.app.state.database, queue, principal.tenant_id, body)


@router.get("/{thread_id}", responses=problems(404), dependencies=[audited("chat.read")])
async def get_thread(thread_id: str, principal: CurrentPrincipal, session: SessionDep) -> ChatThread:
    """The thread's history and jobs."""
    return await chat.get_thread(session, principal.tenant_id, thread_id)
