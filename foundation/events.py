"""Event names and the one helper nodes use to emit them.

Nodes and tools never print: they emit typed events through LangGraph's custom stream, and the CLI
(and later the service) translates the stream into a live display, `trace.jsonl` and SSE.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from langgraph.config import get_config, get_stream_writer
from langgraph.runtime import get_runtime

AGENT_STARTED = "agent.started"
AGENT_FINISHED = "agent.finished"
AGENT_REASONING = "agent.reasoning"
TOOL_CALLED = "tool.called"
TOOL_RESULT = "tool.result"
PROSPECT_FOUND = "prospect.found"
PROSPECT_ENRICHED = "prospect.enriched"
PROSPECT_DROPPED = "prospect.dropped"  # a candidate left out: login, reason, text, evidence (agents.drops)
MESSAGE_DRAFTED = "message.drafted"
COMPLIANCE_REVIEWED = "compliance.reviewed"
JOB_PROGRESS = "job.progress"
# Every model request (agents/model_calls.py): sent, answered, or failed/rejected with the reason.
LLM_CALLED = "llm.called"
LLM_RESULT = "llm.result"
LLM_FAILED = "llm.failed"
CAMPAIGN_COMPLETED = "campaign.completed"


class EventSink(Protocol):
    """Takes the events of a run in the emitting task's own thread, instead of LangGraph's stream
    (which a task running in the streaming thread could not wait on), and can be waited on."""

    def __call__(self, event: dict[str, Any]) -> None: ...

    def flush(self) -> None:
        """Block until every event handed over so far is safely stored."""


def current_task() -> str:
    """The running task's id ("node:<task id>" in the checkpoint namespace); "" outside a task."""
    return get_config()["configurable"].get("checkpoint_ns", "").rpartition(":")[2]


def emit(event: str, agent: str, **data: Any) -> None:
    """Send one event to whoever streams the graph (a no-op outside a streaming run).

    `task` is the emitting task's id (the one `agent.started` reports): task ids are stable across a
    resume, so a consumer can recognise the events of a step that runs again after a crash.
    """
    try:
        runtime = get_runtime()
    except RuntimeError:
        return
    record = {"event": event, "agent": agent, "task": current_task(), "timestamp": datetime.now(UTC).isoformat(), "data": data}
    sink: EventSink | None = getattr(runtime.context, "events", None) if runtime is not None else None
    if sink is not None:
        sink(record)
    else:
        get_stream_writer()(record)


def reasoning(agent: str, text: str, **data: Any) -> None:
    """Shorthand for `agent.reasoning`: what the agent decided and why, in one sentence."""
    emit(AGENT_REASONING, agent, text=text, **data)
