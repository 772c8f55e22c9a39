"""Run a tool call and report it as `tool.called` / `tool.result` events (duration, budget left)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from foundation.events import TOOL_CALLED, TOOL_RESULT, emit
from tools.github_transport import RateBudget

T = TypeVar("T")


def traced(agent: str, tool: str, args: dict[str, Any], budget: RateBudget, call: Callable[[], T]) -> T:
    """Call `call()`, emitting the call, a short summary of its result, and the GitHub budget left."""
    emit(TOOL_CALLED, agent, tool=tool, args=args)
    started = time.perf_counter()
    result = call()
    emit(
        TOOL_RESULT,
        agent,
        tool=tool,
        summary=_summary(result),
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
        budget_left=budget.left(),
    )
    return result


def _summary(result: Any) -> str:
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], list):
        return f"{len(result[1])} of {result[0]} results"
    if isinstance(result, list):
        return f"{len(result)} items"
    return type(result).__name__
