"""The one builder: goal -> plan -> repos (rules, the researcher agent, or a lookalike's seeds) -> candidates -> prospects ->
messages -> review -> artifacts."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, Protocol

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agents.compliance import compliance
from agents.context import Context
from agents.copywriter import copywriter
from agents.enricher import enricher, enricher_wave, next_step, rank
from agents.enricher_graphql import enricher_batch
from agents.finalize import finalize
from agents.lookalike import lookalike
from agents.planner import planner
from agents.researcher import fan_out_repos, researcher, researcher_repo, select_candidates
from agents.researcher_agent import researcher_agent, wants_agent
from agents.state import State
from foundation.events import AGENT_FINISHED, AGENT_STARTED, current_task, emit


class Node(Protocol):
    """A node as LangGraph calls it: the state, and the run's `Runtime[Context]` by keyword."""

    def __call__(self, state: Any, *, runtime: Runtime[Context]) -> Any: ...


def _task(name: str, node: Callable[[Any, Runtime[Context]], Any]) -> Node:
    """`node` reporting its own start and end (`agent.started` / `agent.finished` with duration and
    error) from inside the task, then waiting until its events are stored when the caller persists
    them (`Context.events`): LangGraph saves a task's writes only after it returns, so a crash can
    never keep a task's results while losing its events. A task after which the model gate's totals
    changed writes them to the state too, so a resumed run's gate counts on from them."""

    @functools.wraps(node)
    def run(state: Any, *, runtime: Runtime[Context]) -> Any:
        task, started = current_task(), time.perf_counter()
        emit(AGENT_STARTED, name, task=task)
        finished: dict[str, Any] = {"task": task}
        try:
            update = node(state, runtime)
            gate = runtime.context.gate
            if isinstance(update, dict) and gate is not None and (usage := gate.changes()) is not None:
                update = {**update, "llm_usage": usage}
            return update
        except Exception as exc:
            finished["error"] = str(exc)
            raise
        finally:
            emit(AGENT_FINISHED, name, **finished, duration_ms=round((time.perf_counter() - started) * 1000, 1))
            if runtime.context.events is not None:
                runtime.context.events.flush()

    return run


def _after_planner(state: State, runtime: Runtime[Context]) -> str:
    """A refused goal ends; a lookalike goal ("developers like @alice") reads its seeds; an open-ended one (or any, when asked) goes to the researcher agent
    when a model is configured (`wants_agent`); the rest to the deterministic researcher."""
    plan = state["plan"]
    if plan.refusal:
        return "finalize"
    if plan.lookalike_of:
        return "lookalike"
    return "researcher_agent" if wants_agent(plan, runtime.context) else "researcher"


def build_graph(checkpointer: BaseCheckpointSaver | None = None) -> CompiledStateGraph[State, Context, State, State]:
    builder = StateGraph(State, context_schema=Context)
    builder.add_node("planner", _task("planner", planner))
    builder.add_node("researcher", _task("researcher", researcher))
    builder.add_node("researcher_agent", _task("researcher_agent", researcher_agent))
    builder.add_node("lookalike", _task("lookalike", lookalike))
    builder.add_node("researcher_repo", _task("researcher_repo", researcher_repo))
    builder.add_node("select_candidates", _task("select_candidates", select_candidates))
    builder.add_node("enricher", _task("enricher", enricher))
    builder.add_node("enricher_batch", _task("enricher_batch", enricher_batch))
    builder.add_node("enricher_wave", _task("enricher_wave", enricher_wave))
    builder.add_node("rank", _task("rank", rank))
    builder.add_node("copywriter", _task("copywriter", copywriter))
    builder.add_node("compliance", _task("compliance", compliance))
    builder.add_node("finalize", _task("finalize", finalize))

    builder.add_edge(START, "planner")
    builder.add_conditional_edges("planner", _after_planner, ["researcher", "researcher_agent", "lookalike", "finalize"])
    builder.add_conditional_edges("researcher", fan_out_repos, ["researcher_repo", "select_candidates"])
    builder.add_conditional_edges("researcher_agent", fan_out_repos, ["researcher_repo", "select_candidates"])
    builder.add_conditional_edges("lookalike", fan_out_repos, ["researcher_repo", "select_candidates"])
    builder.add_edge("researcher_repo", "select_candidates")
    builder.add_conditional_edges("select_candidates", next_step, ["enricher_batch", "enricher", "researcher_repo", "rank"])
    builder.add_edge("enricher_batch", "enricher_wave")
    builder.add_edge("enricher", "enricher_wave")
    builder.add_conditional_edges("enricher_wave", next_step, ["enricher_batch", "enricher", "researcher_repo", "rank"])
    builder.add_edge("rank", "copywriter")
    builder.add_edge("copywriter", "compliance")
    builder.add_edge("compliance", "finalize")
    builder.add_edge("finalize", END)
    return builder.compile(checkpointer=checkpointer)
