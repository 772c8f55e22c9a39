"""The one builder: goal -> plan -> repos -> candidates -> prospects -> messages -> review -> artifacts."""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.compliance import compliance
from agents.copywriter import copywriter
from agents.enricher import enricher, enricher_wave, fan_out_candidates, rank
from agents.finalize import finalize
from agents.planner import planner
from agents.researcher import fan_out_repos, researcher, researcher_repo, select_candidates
from graph.context import Context
from graph.state import State


def _after_planner(state: State) -> str:
    return "finalize" if state["plan"].refusal else "researcher"


def build_graph(checkpointer: BaseCheckpointSaver | None = None) -> CompiledStateGraph:
    builder = StateGraph(State, context_schema=Context)
    builder.add_node("planner", planner)
    builder.add_node("researcher", researcher)
    builder.add_node("researcher_repo", researcher_repo)
    builder.add_node("select_candidates", select_candidates)
    builder.add_node("enricher", enricher)
    builder.add_node("enricher_wave", enricher_wave)
    builder.add_node("rank", rank)
    builder.add_node("copywriter", copywriter)
    builder.add_node("compliance", compliance)
    builder.add_node("finalize", finalize)

    builder.add_edge(START, "planner")
    builder.add_conditional_edges("planner", _after_planner, ["researcher", "finalize"])
    builder.add_conditional_edges("researcher", fan_out_repos, ["researcher_repo", "select_candidates"])
    builder.add_edge("researcher_repo", "select_candidates")
    builder.add_conditional_edges("select_candidates", fan_out_candidates, ["enricher", "rank"])
    builder.add_edge("enricher", "enricher_wave")
    builder.add_conditional_edges("enricher_wave", fan_out_candidates, ["enricher", "rank"])
    builder.add_edge("rank", "copywriter")
    builder.add_edge("copywriter", "compliance")
    builder.add_edge("compliance", "finalize")
    builder.add_edge("finalize", END)
    return builder.compile(checkpointer=checkpointer)
