"""With a model configured, the chat plans a goal the way the job will, before it replies.

The job's planner (`agents.planner.make_plan`) reads the goal with the model when one is configured,
so a reply built from the rules' reading would describe a plan the job never runs. The chat
therefore calls the same `make_plan`, with the same model, prompt version and prompts, and the
thread keeps the model's whole audience: every job of the thread carries it as the campaign's
explicit audience (with the thread's refinements on top) and its lead count as the job's own, and
the planner lets those win over any reading of the goal. So the reply describes exactly what the
job runs. When the model does not answer in time or its plan stays invalid, the reply says that it
shows the rules' reading as a preview, and the job plans by itself; the plan it runs is in its first
`agent.reasoning` event (the web app's chips).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import structlog

from agents.goal_parser import parse_goal
from agents.model_calls import CallPolicy, ModelGate
from agents.planner import make_plan
from foundation.schemas import Campaign
from foundation.settings import Settings
from graph.llm import get_chat_model

PLAN_TIMEOUT_SECONDS = 20.0  # the reply waits this long for the model's plan, then says it is a preview
# Planning is synchronous (the planner node's code); its own pool keeps a hung endpoint from
# holding the threads the rest of the service uses.
_PLANNERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="chat-plan")

log = structlog.get_logger("api.chat")


@dataclass(frozen=True)
class ChatPlan:
    """How a goal was read for the reply. `planned` (the model's `audience`, every field, and its
    `max_prospects`) is what the thread's jobs will run; None: the job plans by itself."""

    planned: dict[str, Any] | None = None
    refusal: str | None = None
    notes: list[str] = field(default_factory=list)
    ignored_terms: list[str] = field(default_factory=list)
    remark: str = ""  # who read the goal, when a model is configured; "" without one


async def plan_goal(settings: Settings, goal: str) -> ChatPlan:
    """The model's plan for `goal` when a model is configured and answers in time, else the rules' reading."""
    parsed = parse_goal(goal)
    rules = ChatPlan(refusal=parsed.refusal, notes=parsed.notes, ignored_terms=parsed.ignored_terms)
    model = get_chat_model(settings)
    if model is None or parsed.refusal:
        return rules
    planning = partial(
        make_plan,
        goal,
        Campaign(),
        None,
        today=datetime.now(UTC).date(),
        gate=ModelGate(model, CallPolicy.from_settings(settings)),  # the job's timeouts, retries and breaker
        prompt_version=settings.cmo_prompt_version,
        prompts_dir=settings.cmo_prompts_dir,
    )
    try:
        plan, _ = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(_PLANNERS, planning), PLAN_TIMEOUT_SECONDS)
    except TimeoutError:
        return _preview(rules, f"the model did not plan within {PLAN_TIMEOUT_SECONDS:.0f} s")
    except Exception as exc:  # a missing prompt version, a broken endpoint: the reply still goes out
        log.warning("chat could not plan with the model", error=f"{type(exc).__name__}: {exc}")
        return _preview(rules, "the model could not plan it")
    if plan.planned_by != "llm":
        return _preview(rules, "the model gave no usable plan")
    if plan.refusal:
        return ChatPlan(refusal=plan.refusal)
    return ChatPlan(
        planned={"audience": plan.audience.model_dump(mode="json"), "max_prospects": plan.max_prospects},
        notes=plan.notes,
        ignored_terms=plan.ignored_terms,
        remark=f" Planned by the model ({settings.cmo_model}); the job runs this plan.",
    )


def _preview(rules: ChatPlan, why: str) -> ChatPlan:
    remark = (
        f" This is the rules' reading, a preview: {why}. The job's planner asks the model again; the plan it "
        "runs is in the job's first agent.reasoning event."
    )
    return ChatPlan(notes=rules.notes, ignored_terms=rules.ignored_terms, remark=remark)
