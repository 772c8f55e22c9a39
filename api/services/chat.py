"""`POST /api/chat`: a conversation that starts a job from a goal, refines it, and answers questions.

A thread (`chat_threads`) keeps its history, its goal and the refinements made so far as explicit
audience fields. A refinement never edits a job: it starts a new one with the same goal and a
campaign carrying every explicit field, which the planner lets win over the goal's reading, so the
new job re-plans exactly what changed. Questions are answered from the stored prospects of the
thread's latest job that has results (`chat_answers`). Intents are read by rules (`chat_intents`);
a configured LLM rephrases messages the rules did not understand (`chat_llm`) and plans a new goal
exactly as the job's planner will, so the reply describes the plan the job runs (`chat_plan`).

Messages of one thread are serialised by a row lock (Postgres); it is released while the job is
created (`create_job` commits), and the thread is re-read under the lock before it is written.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.copy_templates import DEFAULT_TEMPLATES
from agents.goal_parser import lookalike_seeds
from api.core import orm
from api.core.database import Database
from api.models.chat import ChatIntent, ChatMessage, ChatReply, ChatRequest, ChatThread
from api.models.jobs import Job, JobCreate
from api.services import chat_answers, chat_llm, chat_plan, jobs
from api.services.chat_intents import HELP_TEXT, Intent, Thread, apply, goal_audience, lead_target, parse_intent
from api.services.errors import NotFound
from api.services.queue import JobQueue
from foundation.schemas import Campaign, TargetAudience
from foundation.seeds import goal_with_seeds
from graph.llm import get_chat_model

MAX_HISTORY = 200  # messages kept per thread (oldest dropped): the row is rewritten on every message
_EXAMPLES = (
    "Refine it ('only EU', 'drop Google employees', 'top 20', 'write shorter emails') or, once it has "
    "results, ask 'why is <login> ranked first?' or 'how many are contactable?'."
)


@dataclass
class _Outcome:
    intent: ChatIntent
    reply: str
    thread: Thread
    job: orm.Job | None = None
    job_created: bool = False
    changes: list[str] = field(default_factory=list)
    details: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Chat:
    """One request's collaborators."""

    session: AsyncSession
    database: Database
    queue: JobQueue
    tenant_id: str
    thread_id: str
    job_ids: tuple[str, ...]


def stream_url(job_id: str) -> str:
    return f"/api/jobs/{job_id}/events"


def _audience(thread: Thread) -> TargetAudience:
    return goal_audience(thread).model_copy(update=thread.audience)


def describe(thread: Thread) -> str:
    """The audience a job of this thread looks for, in one line."""
    a = _audience(thread)
    who = {"maintainer": "maintainers", "contributor": "contributors", "any": "developers"}[a.role]
    parts = [f"{', '.join(a.languages) + ' ' if a.languages else ''}{who}"]
    if a.domains:
        parts.append(f"in {', '.join(a.domains)}")
    places = a.target_cities or a.target_regions
    parts.append(f"in {', '.join(places)}" if places else "anywhere")
    if a.exclude_regions or a.exclude_cities:
        parts.append(f"not in {', '.join(a.exclude_cities + a.exclude_regions)}")
    if a.include_companies:
        parts.append(f"at {', '.join(a.include_companies)}")
    if a.exclude_companies:
        parts.append(f"excluding {', '.join(a.exclude_companies)}")
    if a.stars_range:
        parts.append(f"stars {a.stars_range}")
    count = lead_target(thread)
    emails = f"; {thread.email_length} emails" if thread.email_length else ""
    return f"{' '.join(parts)}; top {count}{emails}"


def _campaign(thread: Thread, thread_id: str) -> Campaign:
    """Only what the thread set explicitly, so the stored campaign shows the refinements and nothing
    else; when the model planned the goal, its whole audience too, so the job runs exactly that plan.
    Its id is the thread's: a thread's jobs are drafts of one campaign, so analytics groups the first
    job and its refinements together (not every chat job under the schema's `cmp_default`)."""
    body: dict[str, Any] = {"id": thread_id}
    if thread.planned is not None or thread.audience:
        body["target_audience"] = {**(thread.planned or {}).get("audience", {}), **thread.audience}
    if thread.email_length and thread.email_length != "medium":
        body["messaging"] = {
            "templates": [
                {**t.model_dump(include={"name", "subject", "personalization_fields", "tone"}), "length": thread.email_length}
                for t in DEFAULT_TEMPLATES
            ]
        }
    return Campaign.model_validate(body)


async def _create_job(chat: _Chat, thread: Thread, refines: str | None = None) -> orm.Job:
    metadata: dict[str, Any] = {"chat_thread_id": chat.thread_id}
    if refines:
        metadata["refines"] = refines
    count = lead_target(thread) if thread.planned is not None else thread.max_prospects  # the model's count, pinned too
    request = JobCreate(goal=thread.goal, campaign=_campaign(thread, chat.thread_id), max_prospects=count, metadata=metadata)
    return await jobs.create_job(chat.session, chat.queue, chat.tenant_id, request, database=chat.database)


async def _start(chat: _Chat, current: Thread, goal: str) -> _Outcome:
    plan = await chat_plan.plan_goal(chat.database.settings, goal)
    if plan.refusal:  # no job; the thread keeps the goal it had, if any
        return _Outcome("refused", plan.refusal, current)
    thread = Thread(goal=goal, planned=plan.planned)
    job = await _create_job(chat, thread)
    read = plan.remark
    if plan.ignored_terms:
        read += f" Words I did not use: {', '.join(plan.ignored_terms)}."
    if plan.notes:
        read += f" Read as: {'; '.join(n.rstrip('.') for n in plan.notes)}."
    reply = f"Started job {job.id}: {describe(thread)}.{read} Follow it live at {stream_url(job.id)}. {_EXAMPLES}"
    return _Outcome("goal", reply, thread, job, job_created=True)


async def _refine(chat: _Chat, current: Thread, intent: Intent) -> _Outcome:
    refined, changes = apply(current, intent)
    if not changes:
        return _Outcome("unchanged", f"That changes nothing: the job already looks for {describe(current)}.", current)
    job = await _create_job(chat, refined, refines=chat.job_ids[-1])
    reply = (
        f"Started job {job.id}, changing {'; '.join(changes)}. It looks for {describe(refined)}. "
        f"Follow it live at {stream_url(job.id)}."
    )
    return _Outcome("refine", reply, refined, job, job_created=True, changes=changes)


async def _answer(chat: _Chat, current: Thread, intent: Intent) -> _Outcome:
    job, prefix = await chat_answers.results_job(chat.session, chat.tenant_id, chat.job_ids)
    if job is None:
        latest = await chat.session.get(orm.Job, chat.job_ids[-1])
        status = latest.status if latest else "gone"
        reply = f"Job {chat.job_ids[-1]} ({status}) has no prospects stored yet; ask again once it has run."
        return _Outcome(intent.kind, reply, current, details={"job_id": chat.job_ids[-1], "status": status})
    if intent.kind == "explain":
        answer = await chat_answers.explain(chat.session, job, intent.login, intent.rank)
    else:
        answer = await chat_answers.counts(chat.session, job)
    return _Outcome(intent.kind, prefix + answer.text, current, details=answer.details)


async def _lookalike(chat: _Chat, current: Thread, intent: Intent) -> _Outcome:
    """ "more like #3": a new job of the thread finding developers like that lead (or @login), with the
    thread's audience and refinements; its goal names the seed, as a typed lookalike goal would."""
    job, prefix = await chat_answers.results_job(chat.session, chat.tenant_id, chat.job_ids)
    if job is None:
        return _Outcome("lookalike", f"Job {chat.job_ids[-1]} has no prospects stored yet; ask again once it has run.", current)
    seed = await chat_answers.login_of(chat.session, job, intent.login, intent.rank)
    if seed is None:
        asked = f"@{intent.login}" if intent.login else f"#{intent.rank}"
        return _Outcome("lookalike", f"{prefix}{asked} is not among the prospects of job {job.id}.", current)
    without_old_seeds = " ".join(lookalike_seeds(current.goal)[1].split())  # "more like #3" replaces them
    thread = Thread(
        goal_with_seeds(without_old_seeds, [seed]), current.audience, current.max_prospects, current.email_length, current.planned
    )
    created = await _create_job(chat, thread, refines=chat.job_ids[-1])
    reply = (
        f"{prefix}Started job {created.id}: developers like @{seed} ({describe(thread)}); @{seed} is not among its leads. "
        f"Follow it live at {stream_url(created.id)}."
    )
    return _Outcome("lookalike", reply, thread, created, job_created=True, details={"seed": seed})


async def _respond(chat: _Chat, current: Thread, message: str) -> _Outcome:
    has_goal = bool(current.goal and chat.job_ids)
    intent = parse_intent(message, has_goal=has_goal)
    model = get_chat_model(chat.database.settings) if intent is None else None
    if model is not None:  # the rules did not understand: a model may rephrase it as a command they do
        command = await chat_llm.rewrite(model, chat.database.settings, message)
        intent = parse_intent(command, has_goal=has_goal) if command else None
    if intent is None:
        return _Outcome("help", f"I did not understand that. {HELP_TEXT}", current)
    if intent.kind == "goal":
        return await _start(chat, current, intent.text)
    if intent.kind == "refine":
        return await _refine(chat, current, intent)
    if intent.kind in ("explain", "counts"):
        return await _answer(chat, current, intent)
    if intent.kind == "lookalike":
        return await _lookalike(chat, current, intent)
    return _Outcome("help", HELP_TEXT, current)


async def _thread_row(session: AsyncSession, tenant_id: str, thread_id: str, *, lock: bool = False) -> orm.ChatThread:
    """The tenant's thread (another tenant's is `NotFound`), row-locked with `lock`."""
    query = select(orm.ChatThread).where(orm.ChatThread.id == thread_id, orm.ChatThread.tenant_id == tenant_id)
    thread = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if thread is None:
        raise NotFound(f"no chat thread {thread_id!r}")
    return thread


def _message(
    role: Literal["user", "assistant"], content: str, intent: ChatIntent | None = None, job_id: str | None = None
) -> dict[str, Any]:
    return ChatMessage(role=role, content=content, at=orm.utcnow(), intent=intent, job_id=job_id).model_dump(mode="json")


async def chat(session: AsyncSession, database: Database, queue: JobQueue, tenant_id: str, request: ChatRequest) -> ChatReply:
    """Read the message, act on it (start a job, refine, answer) and store both sides in the thread."""
    row = await _thread_row(session, tenant_id, request.thread_id, lock=True) if request.thread_id else None
    state = row.state if row else {}
    job_ids = tuple(state.get("job_ids", []))
    current = Thread(**{k: v for k, v in state.items() if k != "job_ids"})
    thread_id = row.id if row else f"thr_{secrets.token_hex(10)}"
    context = _Chat(session, database, queue, tenant_id, thread_id, job_ids)
    outcome = await _respond(context, current, request.message)

    if row is None:
        row = orm.ChatThread(id=thread_id, tenant_id=tenant_id, state={}, messages=[], created_at=orm.utcnow())
        session.add(row)
    elif outcome.job_created:  # create_job committed, releasing the lock: re-read the thread under it
        await session.refresh(row, with_for_update=True)
    new_job_id = outcome.job.id if outcome.job_created and outcome.job else None
    ids = list(row.state.get("job_ids", [])) + ([new_job_id] if new_job_id else [])
    row.state = {**asdict(outcome.thread), "job_ids": ids}
    row.job_id = ids[-1] if ids else None
    said = _message("user", request.message)
    answered = _message("assistant", outcome.reply, outcome.intent, new_job_id)
    row.messages = [*row.messages, said, answered][-MAX_HISTORY:]
    row.updated_at = orm.utcnow()
    await session.commit()

    job = outcome.job or (await session.get(orm.Job, ids[-1]) if ids else None)
    return ChatReply(
        thread_id=thread_id,
        reply=outcome.reply,
        intent=outcome.intent,
        job=Job.model_validate(job) if job else None,
        job_created=outcome.job_created,
        stream_url=stream_url(job.id) if job else None,
        changes=outcome.changes,
        details=outcome.details,
    )


async def get_thread(session: AsyncSession, tenant_id: str, thread_id: str) -> ChatThread:
    row = await _thread_row(session, tenant_id, thread_id)
    return ChatThread(
        thread_id=row.id,
        goal=row.state.get("goal") or None,
        job_id=row.job_id,
        job_ids=row.state.get("job_ids", []),
        messages=[ChatMessage.model_validate(m) for m in row.messages],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
