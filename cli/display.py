"""The live terminal view of a run and the final table of top leads (rich)."""

from __future__ import annotations

import time
from collections import Counter
from types import TracebackType
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

AGENTS = ("planner", "researcher", "enricher", "copywriter", "compliance", "finalize")
_NODE_AGENT = {
    "researcher_agent": "researcher",
    "researcher_repo": "researcher",
    "select_candidates": "researcher",
    "enricher_wave": "enricher",
    "rank": "enricher",
}


class LiveView:
    """Consumes run events; shows the current agent, its last words, counts, budget and elapsed, and
    how long the model has been keeping the run waiting (rendered on every refresh, so the seconds
    count up while a call hangs and no event arrives)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.monotonic()
        self.agent = "planner"
        self.last = "starting"
        self.counts = {"repos searched": 0, "people found": 0, "enriched": 0, "drafted": 0, "reviewed": 0}
        self.dropped: Counter[str] = Counter()  # people left out, per reason (`prospect.dropped`)
        self.budget: Any = "-"
        self.tool_calls = 0
        self.model_calls: dict[Any, float] = {}  # model calls in flight: call id -> when it was sent
        self._live = Live(console=console, refresh_per_second=8, transient=True, get_renderable=self._render)

    def __enter__(self) -> LiveView:
        self._live.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None) -> None:
        self._live.__exit__(exc_type, exc, traceback)

    def __call__(self, event: dict[str, Any]) -> None:
        name, data = event["event"], event.get("data", {})
        agent = _NODE_AGENT.get(event.get("agent", ""), event.get("agent", self.agent))
        if name == "agent.started" and agent in AGENTS:
            self.agent = agent
        elif name == "agent.reasoning":
            self.last = data.get("text", "")
            self.console.print(Text.assemble((f"{agent:>10} ", "bold cyan"), data.get("text", "")))
        elif name == "tool.result":
            self.tool_calls += 1
            self.budget = data.get("budget_left", self.budget)
            if data.get("tool") == "contributors":
                self.counts["repos searched"] += 1
        elif name == "prospect.found":
            self.counts["people found"] += 1
        elif name == "prospect.enriched":
            self.counts["enriched"] += 1
        elif name == "prospect.dropped":
            self.dropped[str(data.get("reason", "other"))] += 1
        elif name == "message.drafted":
            self.counts["drafted"] += 1
        elif name == "compliance.reviewed":
            self.counts["reviewed"] += 1
        elif name == "llm.called":
            self.model_calls[data.get("call_id")] = time.monotonic()
        elif name in ("llm.result", "llm.failed"):
            self.model_calls.pop(data.get("call_id"), None)
            if (line := model_failure_line(event)) is not None:
                self.console.print(Text.assemble((f"{agent:>10} ", "bold yellow"), line))
        self._live.refresh()

    def _render(self) -> Panel:
        steps = Text()
        for agent in AGENTS:
            style = "bold black on cyan" if agent == self.agent else "dim"
            steps.append(f" {agent} ", style=style)
            steps.append(" ")
        counts = "  ".join(f"{k}: {v}" for k, v in self.counts.items())
        if self.dropped:
            counts += "\ndropped: " + ", ".join(f"{reason} {n}" for reason, n in self.dropped.most_common())
        elapsed = time.monotonic() - self.started
        footer = f"GitHub calls: {self.tool_calls}  budget left: {self.budget}  elapsed: {elapsed:.0f}s"
        lines = [steps, Text(self.last[:160], style="italic"), Text(counts), Text(footer, style="dim")]
        if self.model_calls:
            waited = time.monotonic() - min(self.model_calls.values())
            calls = f", {len(self.model_calls)} calls" if len(self.model_calls) > 1 else ""
            lines.insert(1, Text(f"waiting on model ({waited:.0f} s{calls})", style="yellow"))
        return Panel(Group(*lines), title="cmo-agent")


def model_failure_line(event: dict[str, Any]) -> str | None:
    """One line for a failed model request, or for the failure that opened the circuit breaker (None
    for other events, and for rejected answers: the agents' reasoning reports those)."""
    data = event.get("data", {})
    if event.get("event") != "llm.failed" or (
        data.get("kind") in ("rejected", "invalid", "unparsable") and not data.get("breaker")
    ):
        return None
    line = f"model call failed ({data.get('kind')}): {data.get('reason', '')}"
    if data.get("will_retry"):
        line += f"; retrying (retry {int(data.get('retry', 0)) + 1})"
    if data.get("breaker") == "open":
        line += "; circuit breaker open: the model is not asked again in this run, agents take their deterministic path"
    return line


def leads_table(prospects: list[Any], limit: int = 10) -> Table:
    """The top leads: who, how strong, where, the review verdict and the one-line reason for the rank."""
    table = Table(title=f"Top {min(limit, len(prospects))} of {len(prospects)} leads", expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("lead", no_wrap=True)
    table.add_column("score", no_wrap=True)
    table.add_column("cc", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("why", ratio=1)
    for i, p in enumerate(prospects[:limit], start=1):
        verdict = p.compliance.verdict if p.compliance else "-"
        style = {"approved": "green", "rejected": "red", "needs_review": "yellow"}.get(verdict, "")
        table.add_row(str(i), p.username, f"{p.score:.2f}", p.country or "?", Text(verdict, style=style), p.score_explanation)
    return table
