"""`evals.compare`: regressions caught, tolerances honoured, and "worse" read per metric direction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from evals.compare import DEFAULT_GATES, compare_runs, direction, parse_gates


def _run(
    planner: float = 0.9, f1: float = 0.8, false_approvals: int = 0, rpql: float = 10.0, verdict: str = "rejected"
) -> dict[str, Any]:
    """A minimal results.json with the gated metrics and one compliance example."""
    example = {"id": "dnc-bio", "passed": verdict == "rejected", "outputs": {"verdict": verdict}}
    return {
        "datasets": {"planner": "1.0.0", "leads": "1.0.0", "compliance": "1.0.0"},
        "suites": {
            "planner": {"aggregates": {"examples": 10, "exact_match": planner}, "advisory": [], "examples": []},
            "leads": {"aggregates": {"f1": f1, "requests_per_qualified_lead": rpql}, "advisory": [], "examples": []},
            "compliance": {
                "aggregates": {"false_approvals": false_approvals, "confusion": {"rejected": {"approved": false_approvals}}},
                "advisory": [],
                "examples": [example],
            },
            "messages": {"aggregates": {"judge_tone": 0.8}, "advisory": ["judge_tone"], "examples": []},
        },
        "llm": {"total_tokens": 100, "latency_s": {"n": 3, "p95": 1.5}},
    }


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("planner.exact_match", "higher"),
        ("leads.recall", "higher"),
        ("compliance.false_approvals", "lower"),
        ("compliance.false_rejections", "lower"),
        ("leads.requests_per_qualified_lead", "lower"),
        ("llm.latency_s.p95", "lower"),
        ("llm.total_tokens", "lower"),
        ("planner.examples", "none"),
        ("compliance.confusion.rejected.approved", "none"),
        ("do_not_contact.holdout_recall", "higher"),
        ("do_not_contact.holdout_false_alarm_rate", "lower"),
        ("do_not_contact.by_language.de.false_alarms", "lower"),
        ("do_not_contact.tune.positives", "none"),
    ],
)
def test_direction_table(metric: str, expected: str) -> None:
    assert direction(metric) == expected


def test_a_drop_beyond_the_tolerance_fails_the_default_gate() -> None:
    comparison = compare_runs(_run(planner=0.90), _run(planner=0.85))
    assert [row.name for row in comparison.failed_gates] == ["planner.exact_match"]


def test_a_drop_within_the_tolerance_passes() -> None:
    comparison = compare_runs(_run(planner=0.90, f1=0.80), _run(planner=0.89, f1=0.785))
    assert comparison.failed_gates == []
    row = next(r for r in comparison.metrics if r.name == "planner.exact_match")
    assert row.gate == DEFAULT_GATES["planner.exact_match"] and row.regression == pytest.approx(0.01)


def test_for_lower_is_better_metrics_an_increase_is_the_regression() -> None:
    assert [r.name for r in compare_runs(_run(false_approvals=0), _run(false_approvals=1)).failed_gates] == [
        "compliance.false_approvals"
    ]
    assert compare_runs(_run(false_approvals=1), _run(false_approvals=0)).failed_gates == []
    gate = parse_gates(["leads.requests_per_qualified_lead=0.5"])
    assert compare_runs(_run(rpql=10.0), _run(rpql=10.4), gate).failed_gates == []
    assert compare_runs(_run(rpql=10.0), _run(rpql=8.0), gate).failed_gates == []
    assert [r.name for r in compare_runs(_run(rpql=10.0), _run(rpql=11.0), gate).failed_gates] == [
        "leads.requests_per_qualified_lead"
    ]


def test_explicit_gates_override_defaults_and_improvements_never_fail() -> None:
    loose = parse_gates(["planner.exact_match=0.1"])
    assert compare_runs(_run(planner=0.90), _run(planner=0.85), loose).failed_gates == []
    assert compare_runs(_run(planner=0.5, f1=0.5), _run(planner=1.0, f1=1.0)).failed_gates == []


def test_missing_metrics_fail_only_explicit_gates() -> None:
    partial = _run()
    del partial["suites"]["leads"]
    skipped = compare_runs(_run(), partial)
    assert skipped.failed_gates == [] and any("leads.f1" in w for w in skipped.warnings)
    asked = compare_runs(_run(), partial, parse_gates(["leads.f1=0.5"]))
    assert [r.name for r in asked.failed_gates] == ["leads.f1"]


def test_changed_verdicts_are_listed_and_judge_scores_marked_advisory() -> None:
    comparison = compare_runs(_run(verdict="rejected"), _run(verdict="approved", false_approvals=1))
    assert [(c.suite, c.id, c.before, c.after) for c in comparison.changes] == [
        ("compliance", "dnc-bio", "pass (rejected)", "fail (approved)")
    ]
    judge = next(r for r in comparison.metrics if r.name == "messages.judge_tone")
    assert judge.advisory and judge.gate is None


@pytest.mark.parametrize("spec", ["planner.exact_match", "leads.f1=-1", "leads.f1=abc", "=0.1", "planner.examples=1"])
def test_malformed_gates_are_rejected(spec: str) -> None:
    with pytest.raises(ValueError, match="--max-regression"):
        parse_gates([spec])


def test_cli_exits_1_on_a_regression_and_writes_compare_md(tmp_path: Path) -> None:
    for name, results in (("a", _run(false_approvals=0)), ("b", _run(false_approvals=2))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(results))
    outcome = CliRunner().invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert outcome.exit_code == 1, outcome.output
    assert "compliance.false_approvals" in (tmp_path / "b" / "compare.md").read_text()
    bad = CliRunner().invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--max-regression=x"])
    assert bad.exit_code == 2
