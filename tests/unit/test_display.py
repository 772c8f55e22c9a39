"""The live CLI panel: how long the model keeps the run waiting, and one line per failed model request."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from cli import display
from cli.display import LiveView, model_failure_line


def event(name: str, agent: str = "copywriter", **data: Any) -> dict[str, Any]:
    return {"event": name, "agent": agent, "data": data}


def panel_text(view: LiveView) -> str:
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(view._render())
    return console.export_text()


def test_the_panel_counts_the_seconds_a_model_call_is_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(display.time, "monotonic", lambda: now[0])
    view = LiveView(Console(file=io.StringIO()))
    view(event("llm.called", call_id=1))
    now[0] += 12.4
    assert "waiting on model (12 s)" in panel_text(view)
    view(event("llm.called", call_id=2))
    assert "waiting on model (12 s, 2 calls)" in panel_text(view)
    view(event("llm.result", call_id=1))
    view(event("llm.failed", call_id=2, kind="timeout", reason="timed out", will_retry=False))
    assert "waiting on model" not in panel_text(view)


def test_failed_requests_get_a_line_and_rejected_answers_do_not() -> None:
    timeout = event("llm.failed", "planner", kind="timeout", reason="Request timed out.", will_retry=True, retry=0)
    assert model_failure_line(timeout) == "model call failed (timeout): Request timed out.; retrying (retry 1)"
    opened = event("llm.failed", "planner", kind="unparsable", reason="no LLMPlan", will_retry=False, breaker="open")
    line = model_failure_line(opened)
    assert line is not None and line.startswith("model call failed (unparsable)") and "circuit breaker open" in line
    assert model_failure_line(event("llm.failed", kind="rejected", reason="ungrounded")) is None
    assert model_failure_line(event("llm.result", call_id=3)) is None
