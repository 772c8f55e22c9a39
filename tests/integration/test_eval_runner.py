"""The eval harness end to end through `cmo eval`: deterministic smoke runs, record and replay of the
LLM path against a scripted OpenAI-compatible server, and a planted prompt regression caught by compare.

The scripted "model" plans a goal the way the deterministic parser reads it, so v1 on the LLM path
scores like the rules; the planted prompt (tests/fixtures/prompts/planner/v1-drops-exclusions.md)
tells it to leave `exclude_companies` empty, and the responder obeys, as a real model would.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agents.goal_parser import parse_goal
from cli.main import app
from evals.datasets import SUITES
from evals.recording import RECORDING
from tests.support.openai_server import Reply, ScriptedOpenAIServer

PLANTED_PROMPTS = Path(__file__).resolve().parents[1] / "fixtures" / "prompts"
PLANTED_MARKER = "Always leave `exclude_companies` empty"
_USER_MESSAGE = re.compile(r"Goal: (?P<goal>.*)\nToday's date: (?P<today>\d{4}-\d{2}-\d{2})", re.DOTALL)


def _responder(body: dict[str, Any]) -> Reply:
    """Answers LLMPlan as function call or JSON-schema output: the rules' reading, minus exclusions if told so."""
    name = body["tools"][0]["function"]["name"] if body.get("tools") else body["response_format"]["json_schema"]["name"]
    assert name == "LLMPlan", name
    system, user = body["messages"][0]["content"], body["messages"][1]["content"]
    asked = _USER_MESSAGE.search(user)
    assert asked, user
    parsed = parse_goal(asked["goal"], today=date.fromisoformat(asked["today"]))
    audience = parsed.audience.model_dump(mode="json")
    if PLANTED_MARKER in system:
        audience["exclude_companies"] = []
    arguments = {"audience": audience, "max_prospects": parsed.max_prospects, "notes": [], "ignored_terms": parsed.ignored_terms}
    return Reply.tool(name, arguments) if body.get("tools") else Reply.text(json.dumps(arguments))


def _cmo(args: list[str], env: dict[str, str] | None = None, code: int = 0) -> str:
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == code, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    return result.output


def _results(run: Path) -> dict[str, Any]:
    return json.loads((run / "results.json").read_text())


def _llm_env(server: ScriptedOpenAIServer, **extra: str) -> dict[str, str]:
    return {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": server.base_url, "CMO_MODEL": "scripted", **extra}


@pytest.fixture(scope="module")
def recorded_v1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planner suite on the LLM path (prompt v1), recorded; the server is stopped afterwards."""
    run = tmp_path_factory.mktemp("eval") / "v1"
    with ScriptedOpenAIServer(_responder) as server:
        _cmo(["eval", "run", "--suite", "planner", "--jobs", "4", "--out", str(run)], _llm_env(server))
        assert len(server.requests) == _results(run)["llm"]["requests"] > 0
    return run


def test_smoke_every_suite_on_the_deterministic_path(tmp_path: Path, block_internet: None) -> None:
    run = tmp_path / "smoke"
    _cmo(["eval", "run", "--suite", "all", "--limit", "2", "--jobs", "2", "--no-llm", "--out", str(run)])
    results = _results(run)
    assert results["config"]["model"] == "none" and results["llm"] == {}
    assert list(results["suites"]) == list(SUITES)
    for name, suite in results["suites"].items():
        assert len(suite["examples"]) == 2, name
        assert suite["aggregates"]["examples"] == 2, name
    leads = results["suites"]["leads"]["examples"][0]
    assert leads["scores"]["api_requests"] > 0 and leads["scores"]["trajectory_ok"], leads["failures"]
    assert not (run / RECORDING).exists()
    html = (run / "report.html").read_text()
    assert "<svg" in html and "<details>" in html
    assert not re.search(r"<script|<link|src=\"http", html), "report.html must be self-contained"
    assert "## planner" in (run / "report.md").read_text()
    _cmo(["eval", "compare", str(run), str(run)])  # a run never regresses against itself


def test_compliance_suite_approves_nothing_it_must_not(tmp_path: Path) -> None:
    """False approvals are 0, apart from the cases the dataset tags `known-bug` (open reviewer bugs)."""
    run = tmp_path / "compliance"
    _cmo(["eval", "run", "--suite", "compliance", "--no-llm", "--out", str(run)])
    examples = _results(run)["suites"]["compliance"]["examples"]
    false_approvals = [e["id"] for e in examples if e["scores"]["false_approval"] and "known-bug" not in e["tags"]]
    assert false_approvals == []


def test_llm_run_is_recorded_and_replayed_exactly_without_network(
    recorded_v1: Path, tmp_path: Path, block_internet: None
) -> None:
    recording = (recorded_v1 / RECORDING).read_text()
    assert "test-key" not in recording, "the API key must never be recorded"
    replayed = tmp_path / "replayed"
    _cmo(["eval", "run", "--replay", str(recorded_v1), "--jobs", "3", "--out", str(replayed)])
    original, again = _results(recorded_v1), _results(replayed)
    assert again["config"]["replay_source"] == str(recorded_v1) and again["replay_misses"] == []
    assert again["suites"]["planner"]["aggregates"] == original["suites"]["planner"]["aggregates"]
    assert again["suites"]["planner"]["aggregates"]["planned_by_llm"] > 0
    fields = ("id", "outputs", "scores", "passed", "failures")
    examples = lambda run: [{k: e[k] for k in fields} for e in run["suites"]["planner"]["examples"]]  # noqa: E731
    assert examples(again) == examples(original)
    usage = lambda run: (run["llm"]["requests"], run["llm"]["total_tokens"])  # noqa: E731
    assert usage(again) == usage(original)


def test_replay_reports_requests_missing_from_the_recording(recorded_v1: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "results.json").write_text((recorded_v1 / "results.json").read_text())
    lines = (recorded_v1 / RECORDING).read_text().splitlines()
    dropped = json.loads(lines[0])["scope"]
    (source / RECORDING).write_text("\n".join(line for line in lines if json.loads(line)["scope"] != dropped) + "\n")
    replayed = tmp_path / "replayed"
    _cmo(["eval", "run", "--replay", str(source), "--out", str(replayed)], code=1)
    results = _results(replayed)
    assert results["replay_misses"] == [dropped]
    missed = next(e for e in results["suites"]["planner"]["examples"] if f"planner/{e['id']}" == dropped)
    assert not missed["passed"] and any(f.startswith("replay:") for f in missed["failures"])


def test_planted_prompt_regression_fails_the_compare_gate(recorded_v1: Path, tmp_path: Path) -> None:
    planted = tmp_path / "planted"
    with ScriptedOpenAIServer(_responder) as server:
        env = _llm_env(server, CMO_PROMPTS_DIR=str(PLANTED_PROMPTS))
        args = ["--suite", "planner", "--prompts", "v1-drops-exclusions", "--jobs", "4", "--out", str(planted)]
        _cmo(["eval", "run", *args], env)
    results = _results(planted)
    assert results["prompt_version"] == "v1-drops-exclusions"
    output = _cmo(["eval", "compare", str(recorded_v1), str(planted)], code=1)
    assert "planner.exact_match" in output and "gates failed" in output
    compare_md = (planted / "compare.md").read_text()
    assert "**Gates FAILED**: planner.exact_match" in compare_md
    assert re.search(r"\| planner \| companies-[\w-]+ \| pass \| fail \|", compare_md)
