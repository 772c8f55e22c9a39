"""The live terminal view of a run and the final table of top leads (rich)."""

from __future__ import annotations

import time
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
    """Consumes run events; shows the current agent, its last words, counts, budget and elapsed."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.monotonic()
        self.agent = "planner"
        self.last = "starting"
        self.counts = {"repos searched": 0, "people found": 0, "enriched": 0, "drafted": 0, "reviewed": 0}
        self.budget: Any = "-"
        self.tool_calls = 0
        self._live = Live(self._render(), console=console, refresh_per_second=8, transient=True)

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
        elif name == "message.drafted":
            self.counts["drafted"] += 1
        elif name == "compliance.reviewed":
            self.counts["reviewed"] += 1
        self._live.update(self._render())

    def _render(self) -> Panel:
        steps = Text()
        for agent in AGENTS:
            style = "bold black on cyan" if agent == self.agent else "dim"
            steps.append(f" {agent} ", style=style)
            steps.append(" ")
        counts = "  ".join(f"{k}: {v}" for k, v in self.counts.items())
        elapsed = time.monotonic() - self.started
        footer = f"GitHub calls: {self.tool_calls}  budget left: {self.budget}  elapsed: {elapsed:.0f}s"
        return Panel(
            Group(steps, Text(self.last[:160], style="italic"), Text(counts), Text(footer, style="dim")), title="cmo-agent"
        )


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
