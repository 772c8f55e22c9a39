"""Compare two eval runs: aggregates side by side, examples whose verdict changed, and regression gates.

A gate `METRIC=DELTA` fails when the metric got worse by more than DELTA. "Worse" depends on the
metric: most are higher-is-better, but for counts of mistakes and for costs (false approvals,
requests per qualified lead, tokens, latency) an increase is the regression; `direction` holds that
table. Counts that describe the data (examples, confusion cells) have no direction and cannot be
gated. LLM-judge metrics are shown marked advisory: they move with the judge model, so no default
gate uses them.

Default gates (CI): compliance.false_approvals may not increase at all; planner.exact_match and
leads.f1 may not drop by more than 0.02; the do-not-contact holdout recall may not drop and its
false-alarm rate may not rise. A gate on a metric missing from either run fails when it
was asked for explicitly and is skipped with a warning when it is a default (so a planner-only smoke
run can be compared without tripping the leads gate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

Direction = Literal["higher", "lower", "none"]
COMPARE = "compare.md"
DEFAULT_GATES: dict[str, float] = {
    "compliance.false_approvals": 0.0,
    "planner.exact_match": 0.02,
    "planner_fresh.exact_match": 0.02,
    "leads.f1": 0.02,
    "researcher_agent.f1": 0.02,
    "semantic.relevance_precision_at_k": 0.02,
    "semantic.lookalike_persona_share": 0.02,
    "do_not_contact.holdout_recall": 0.0,
    "do_not_contact.holdout_false_alarm_rate": 0.0,
}
# First match wins; patterns are matched against the full dotted metric name.
DIRECTIONS: tuple[tuple[str, Direction], ...] = (
    ("*.examples", "none"),
    ("*.n", "none"),
    ("*.confusion.*", "none"),
    ("*.false_approvals", "lower"),
    ("*.false_rejections", "lower"),
    ("*false_alarm*", "lower"),
    ("*.misses", "lower"),
    ("*.positives", "none"),
    ("*.negatives", "none"),
    ("*.requests_per_qualified_lead", "lower"),
    ("*.api_requests", "lower"),
    ("*.repeated_calls", "lower"),
    ("*.truth_repos", "none"),
    ("*.budget_units", "lower"),
    ("*.steps", "lower"),
    ("*.tool_errors", "lower"),
    ("*.spam_phrases", "lower"),
    ("*.over_length", "lower"),
    ("*.reading_level", "lower"),
    ("*.words_mean", "none"),
    ("*.planned_by_llm", "none"),
    ("*.llm_drafts", "none"),
    ("llm.requests", "lower"),
    ("llm.errors", "lower"),
    ("llm.*tokens", "lower"),
    ("llm.estimated_cost_usd", "lower"),
    ("llm.latency_s.n", "none"),
    ("llm.latency_s.*", "lower"),
)
_EPSILON = 1e-9


def direction(metric: str) -> Direction:
    """Which way is better for `metric` (a dotted name such as `leads.recall`); higher unless listed."""
    return next((way for pattern, way in DIRECTIONS if fnmatch(metric, pattern)), "higher")


def parse_gates(specs: list[str]) -> dict[str, float]:
    """`["planner.exact_match=0.05", ...]` -> {name: tolerance}; raises ValueError on a malformed spec."""
    gates = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        try:
            tolerance = float(value)
        except ValueError:
            tolerance = -1.0
        if not sep or not name.strip() or tolerance < 0:
            raise ValueError(f"--max-regression {spec!r}: expected METRIC=DELTA with DELTA >= 0, e.g. leads.f1=0.02")
        if direction(name.strip()) == "none":
            raise ValueError(f"--max-regression {spec!r}: {name.strip()} describes the data and has no direction")
        gates[name.strip()] = tolerance
    return gates


def flatten(results: dict[str, Any]) -> tuple[dict[str, float], set[str]]:
    """Numeric aggregates of a results.json as `suite.metric[.sub]` names, plus the advisory names."""
    metrics: dict[str, float] = {}
    advisory: set[str] = set()

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}", item)
        elif isinstance(value, bool | int | float):
            metrics[prefix] = float(value)

    for suite, result in results.get("suites", {}).items():
        walk(suite, result.get("aggregates", {}))
        advisory |= {f"{suite}.{name}" for name in result.get("advisory", [])}
    walk("llm", {k: v for k, v in results.get("llm", {}).items() if k != "unpriced_models"})
    return metrics, advisory


@dataclass
class MetricRow:
    name: str
    a: float | None
    b: float | None
    direction: Direction
    advisory: bool
    gate: float | None = None
    failed: bool = False

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def regression(self) -> float | None:
        """How much worse B is than A (positive = worse), None without a direction or a value."""
        if self.delta is None or self.direction == "none":
            return None
        return -self.delta if self.direction == "higher" else self.delta


@dataclass
class ExampleChange:
    suite: str
    id: str
    before: str
    after: str


@dataclass
class Comparison:
    run_a: str
    run_b: str
    metrics: list[MetricRow]
    changes: list[ExampleChange]
    warnings: list[str] = field(default_factory=list)

    @property
    def failed_gates(self) -> list[MetricRow]:
        return [row for row in self.metrics if row.failed]


def _status(example: dict[str, Any]) -> str:
    verdict = example.get("outputs", {}).get("verdict")
    return ("pass" if example["passed"] else "fail") + (f" ({verdict})" if verdict else "")


def _changes(a: dict[str, Any], b: dict[str, Any]) -> list[ExampleChange]:
    """Examples whose pass/fail (or verdict) differs, plus examples only one run has."""
    changes = []
    for suite in dict.fromkeys([*a.get("suites", {}), *b.get("suites", {})]):
        before = {e["id"]: _status(e) for e in a.get("suites", {}).get(suite, {}).get("examples", [])}
        after = {e["id"]: _status(e) for e in b.get("suites", {}).get(suite, {}).get("examples", [])}
        for example_id in dict.fromkeys([*before, *after]):
            old, new = before.get(example_id, "absent"), after.get(example_id, "absent")
            if old != new and "absent" not in (old, new):
                changes.append(ExampleChange(suite, example_id, old, new))
    return changes


def compare_runs(
    a: dict[str, Any], b: dict[str, Any], gates: dict[str, float] | None = None, names: tuple[str, str] = ("A", "B")
) -> Comparison:
    """Compare results `a` (the baseline) with `b` under the default gates updated by `gates`."""
    metrics_a, advisory_a = flatten(a)
    metrics_b, advisory_b = flatten(b)
    active = DEFAULT_GATES | (gates or {})
    rows = [
        MetricRow(name, metrics_a.get(name), metrics_b.get(name), direction(name), name in advisory_a | advisory_b)
        for name in dict.fromkeys([*metrics_a, *metrics_b])
    ]
    by_name = {row.name: row for row in rows}
    warnings = []
    for suite in set(a.get("datasets", {})) & set(b.get("datasets", {})):
        if a["datasets"][suite] != b["datasets"][suite]:
            versions = f"{a['datasets'][suite]} vs {b['datasets'][suite]}"
            warnings.append(f"{suite}: dataset version {versions}: the scores are not like for like")
    for suite in set(a.get("suites", {})) & set(b.get("suites", {})):
        ids_a, ids_b = ({e["id"] for e in run["suites"][suite].get("examples", [])} for run in (a, b))
        if ids_a != ids_b:
            warnings.append(f"{suite}: the runs scored different examples ({len(ids_a)} vs {len(ids_b)}; --limit?)")
    for name, tolerance in active.items():
        row = by_name.get(name)
        if row is not None and row.regression is not None:
            row.gate, row.failed = tolerance, row.regression > tolerance + _EPSILON
            continue
        explicit = name in (gates or {})
        warnings.append(f"gate {name}: not in both runs ({'failed: it was asked for' if explicit else 'skipped'})")
        if explicit:
            if row is None:
                row = MetricRow(name, None, None, direction(name), False)
                rows.append(row)
            row.gate, row.failed = tolerance, True
    return Comparison(names[0], names[1], rows, _changes(a, b), warnings)


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if value == int(value) and abs(value) >= 1 else f"{value:.4g}"


def _delta(row: MetricRow) -> str:
    if row.delta is None:
        return "—"
    sign = "+" if row.delta > 0 else ""
    worse = row.regression is not None and row.regression > _EPSILON
    better = row.regression is not None and row.regression < -_EPSILON
    return f"{sign}{_number(row.delta)}" + (" ▼" if worse else " ▲" if better else "")


def _gate(row: MetricRow) -> str:
    if row.gate is None and not row.failed:
        return ""
    return f"FAIL (max {_number(row.gate)})" if row.failed else f"ok (max {_number(row.gate)})"


def _shown(comparison: Comparison) -> list[MetricRow]:
    """Gated and top-level metrics, and nested detail (per field, confusion cells) only where it moved."""
    return [
        row
        for row in comparison.metrics
        if row.gate is not None or row.failed or row.name.count(".") == 1 or (row.delta is not None and row.delta != 0)
    ]


def to_markdown(comparison: Comparison) -> str:
    lines = [f"# Eval comparison\n\nA (baseline): `{comparison.run_a}`  \nB (candidate): `{comparison.run_b}`\n"]
    failed = ", ".join(row.name for row in comparison.failed_gates)
    lines.append(f"**Gates FAILED**: {failed}\n" if failed else "**Gates passed**\n")
    lines += [f"- warning: {w}" for w in comparison.warnings]
    lines += ["", "## Metrics", "", "| metric | A | B | delta | better | gate |", "|---|---:|---:|---:|---|---|"]
    for row in _shown(comparison):
        name = f"{row.name} *(advisory)*" if row.advisory else row.name
        values = f"{_number(row.a)} | {_number(row.b)} | {_delta(row)}"
        lines.append(f"| {name} | {values} | {row.direction} | {_gate(row)} |")
    lines += ["", f"## Examples whose result changed ({len(comparison.changes)})", ""]
    if comparison.changes:
        lines += ["| suite | example | A | B |", "|---|---|---|---|"]
        lines += [f"| {c.suite} | {c.id} | {c.before} | {c.after} |" for c in comparison.changes]
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def print_comparison(comparison: Comparison, console: Console) -> None:
    table = Table(title=f"{comparison.run_a}  →  {comparison.run_b}", title_justify="left")
    table.add_column("metric", overflow="fold")
    for column in ("A", "B", "delta"):
        table.add_column(column, justify="right")
    table.add_column("gate")
    for row in _shown(comparison):
        worse = row.failed or (row.regression or 0) > _EPSILON
        colour = "red" if worse else "green" if (row.regression or 0) < -_EPSILON else ""
        name = f"{row.name} [dim](advisory)[/]" if row.advisory else row.name
        delta = f"[{colour}]{_delta(row)}[/]" if colour else _delta(row)
        table.add_row(name, _number(row.a), _number(row.b), delta, _gate(row))
    console.print(table)
    if comparison.changes:
        changed = Table(title="examples whose result changed", title_justify="left")
        for column in ("suite", "example", "A", "B"):
            changed.add_column(column)
        for change in comparison.changes:
            changed.add_row(change.suite, change.id, change.before, change.after)
        console.print(changed)
    for warning in comparison.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    if comparison.failed_gates:
        console.print(f"[bold red]gates failed:[/] {', '.join(r.name for r in comparison.failed_gates)}")
    else:
        console.print("[bold green]gates passed[/]")


def write_markdown(comparison: Comparison, run_dir: Path) -> Path:
    path = run_dir / COMPARE
    path.write_text(to_markdown(comparison), encoding="utf-8")
    return path
