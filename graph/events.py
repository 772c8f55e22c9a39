"""Event names and the one helper nodes use to emit them.

Nodes and tools never print: they emit typed events through LangGraph's custom stream, and the CLI
(and later the service) translates the stream into a live display, `trace.jsonl` and SSE.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from langgraph.config import get_config, get_stream_writer

AGENT_STARTED = "agent.started"
AGENT_FINISHED = "agent.finished"
AGENT_REASONING = "agent.reasoning"
TOOL_CALLED = "tool.called"
TOOL_RESULT = "tool.result"
PROSPECT_FOUND = "prospect.found"
PROSPECT_ENRICHED = "prospect.enriched"
MESSAGE_DRAFTED = "message.drafted"
COMPLIANCE_REVIEWED = "compliance.reviewed"
JOB_PROGRESS = "job.progress"
CAMPAIGN_COMPLETED = "campaign.completed"


def emit(event: str, agent: str, **data: Any) -> None:
    """Send one event to whoever streams the graph (a no-op outside a streaming run).

    `task` is the emitting task's id (the one `agent.started` reports): task ids are stable across a
    resume, so a consumer can recognise the events of a step that runs again after a crash.
    """
    try:
        writer = get_stream_writer()
    except RuntimeError:
        return
    task = get_config()["configurable"].get("checkpoint_ns", "").rpartition(":")[2]  # "node:<task id>"
    writer({"event": event, "agent": agent, "task": task, "timestamp": datetime.now(UTC).isoformat(), "data": data})


def reasoning(agent: str, text: str, **data: Any) -> None:
    """Shorthand for `agent.reasoning`: what the agent decided and why, in one sentence."""
    emit(AGENT_REASONING, agent, text=text, **data)
