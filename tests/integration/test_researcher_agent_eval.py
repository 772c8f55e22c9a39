"""The researcher_agent eval suite through `cmo eval`: offline from the committed sessions, and on the
LLM path against the scripted server (the reference policy playing every example), recorded and
replayed with no network."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cli.main import app
from evals.datasets import load_dataset
from evals.recording import RECORDING
from tests.support.openai_server import Reply, ScriptedOpenAIServer
from tests.support.research_policy import ResearchPolicy

_GOAL = re.compile(r"^Goal: (?P<goal>.*)$", re.MULTILINE)


def _cmo(args: list[str], env: dict[str, str] | None = None, code: int = 0) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["eval", "run", "--suite", "researcher_agent", *args], env=env)
    assert result.exit_code == code, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    out = Path(args[args.index("--out") + 1])
    return json.loads((out / "results.json").read_text())


def _reference_player() -> Any:
    """Every example's reference policy, chosen by the goal in the request's brief."""
    policies = {e.goal: ResearchPolicy(**e.reference.model_dump()) for e in load_dataset("researcher_agent").examples}

    def answer(body: dict[str, Any]) -> Reply:
        asked = _GOAL.search(body["messages"][1]["content"])
        assert asked, body["messages"][1]
        return policies[asked["goal"]](body)

    return answer


def test_the_suite_replays_its_committed_sessions_offline(tmp_path: Path, block_internet: None) -> None:
    results = _cmo(["--no-llm", "--jobs", "2", "--out", str(tmp_path / "run")])
    suite = results["suites"]["researcher_agent"]
    assert results["llm"] == {} and results["replay_misses"] == []
    assert all(e["passed"] for e in suite["examples"]), [e["failures"] for e in suite["examples"]]
    aggregates = suite["aggregates"]
    assert aggregates["recall"] >= 0.9 and aggregates["precision"] >= 0.9
    assert 0 < aggregates["budget_units"] <= 60 * aggregates["examples"] and aggregates["steps"] <= 12
    first = suite["examples"][0]
    assert first["outputs"]["open_ended"] and first["outputs"]["trail"][0]["tool"] == "search_repositories"
    assert all(r["reason"] for r in first["outputs"]["relevant"])


def test_a_live_model_is_recorded_and_replayed_without_network(tmp_path: Path) -> None:
    with ScriptedOpenAIServer(_reference_player()) as server:
        env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": server.base_url, "CMO_MODEL": "scripted"}
        live = _cmo(["--jobs", "2", "--out", str(tmp_path / "live")], env)
    assert live["config"]["model"] == "scripted" and live["llm"]["requests"] == len(server.requests) > 0
    assert (tmp_path / "live" / RECORDING).is_file()
    again = _cmo(["--replay", str(tmp_path / "live"), "--out", str(tmp_path / "again")])
    assert again["replay_misses"] == []
    assert again["suites"]["researcher_agent"]["aggregates"] == live["suites"]["researcher_agent"]["aggregates"]
