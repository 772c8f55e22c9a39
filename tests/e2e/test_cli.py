"""The `cmo` command as a user runs it: exit codes, clean errors, partial runs, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox import SandboxServer, generate_world

pytestmark = pytest.mark.slow
CMO = [sys.executable, "-m", "cli"]
GOAL = "Find Python maintainers active in ML"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "OPENAI_", "SANDBOX_"))}
    env.update({"CMO_HOME": str(tmp_path / "home"), "COLUMNS": "200", **extra})
    return env


def _cmo(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CMO, *args], env=_env(tmp_path, **env), capture_output=True, text=True, timeout=240)


def _one_clean_error(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert needle in result.stderr


def test_run_prints_progress_and_writes_the_four_artifacts(tmp_path: Path) -> None:
    result = _cmo(tmp_path, "run", GOAL, "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "SANDBOX" in result.stderr and "LLM:" in result.stderr
    assert "planner" in result.stderr and "leads" in result.stderr
    assert "Top 10" in result.stdout
    for name in ("leads_full.json", "leads_contactable.csv", "summary.json", "trace.jsonl"):
        assert (tmp_path / "out" / name).is_file()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["llm"] == "none" and summary["sandbox"] is True and summary["prospects_found"] > 0


def test_json_mode_prints_only_the_summary(tmp_path: Path) -> None:
    result = _cmo(tmp_path, "run", GOAL, "--json", "--out", str(tmp_path / "out"), "--max-prospects", "5")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["prospects_found"] <= 5 and summary["artifacts"][0] == "leads_full.json"


def test_an_unreachable_model_is_one_line_and_the_deterministic_path_runs(tmp_path: Path) -> None:
    """Nothing listens on 127.0.0.1:9: the planner's tries fail at once, the breaker opens, no agent waits."""
    model = {"OPENAI_API_KEY": "x", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "CMO_LLM_TIMEOUT_SECONDS": "2"}
    result = _cmo(tmp_path, "run", GOAL, "--out", str(tmp_path / "out"), "--max-prospects", "5", **model)
    assert result.returncode == 0, result.stderr
    assert "every agent ran its deterministic path" in " ".join(result.stderr.split())
    assert "circuit breaker open" in " ".join(result.stderr.split())
    usage = json.loads((tmp_path / "out" / "summary.json").read_text())["llm_usage"]
    assert usage["status"] == "failed -> deterministic" and usage["breaker_opened"] is True


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["run", "   "], {}, "goal is empty"),
        (["run", "best pizza in Rome"], {}, "refused"),
        (["run", GOAL, "--campaign", "/nonexistent/campaign.json"], {}, "cannot read campaign file"),
        (["run", GOAL], {"GITHUB_API_URL": "http://127.0.0.1:9"}, "cannot reach GitHub API"),
        (["resume", "cmo_no_such_run"], {}, "no run"),
        (["schema", "nonsense"], {}, "unknown schema"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], env: dict[str, str], needle: str) -> None:
    _one_clean_error(_cmo(tmp_path, *args, **env), needle)


def test_invalid_campaign_file_names_the_field(tmp_path: Path) -> None:
    campaign = tmp_path / "campaign.json"
    campaign.write_text(json.dumps({"target_audience": {"stars_range": "lots"}}))
    _one_clean_error(_cmo(tmp_path, "run", GOAL, "--campaign", str(campaign)), "target_audience.stars_range")


def test_bad_token_is_exit_2(tmp_path: Path) -> None:
    with SandboxServer(generate_world(seed=7, users=1500), token="right") as server:
        result = _cmo(tmp_path, "run", GOAL, GITHUB_API_URL=server.url, GITHUB_TOKEN="wrong")
    _one_clean_error(result, "refused the token")


def test_spent_budget_is_partial_exit_3_with_artifacts(tmp_path: Path) -> None:
    result = _cmo(tmp_path, "run", GOAL, "--out", str(tmp_path / "out"), GITHUB_MAX_REQUESTS="20")
    assert result.returncode == 3, result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "partial" and "core request budget (20)" in summary["stop_reasons"][0]
    assert (tmp_path / "out" / "leads_full.json").is_file()
    budget = summary["budget"]
    assert budget["core"]["requests"] == 20
    assert budget["core"]["requests"] + budget["search"]["requests"] == summary["api_requests"]
    assert budget["budget_units"] == summary["api_requests"] + budget["graphql"]["requests"]


@pytest.mark.parametrize(
    ("limits", "bucket"),
    [({"search_limit": 1}, "search"), ({"core_limit": 15}, "core")],
)
def test_a_spent_rate_limit_bucket_is_partial_exit_3_naming_it(tmp_path: Path, limits: dict[str, int], bucket: str) -> None:
    """GitHub's own limit of one bucket runs dry and its reset is further off than we may wait."""
    with SandboxServer(generate_world(seed=7, users=1500), **limits) as server:
        out = tmp_path / "out"
        result = _cmo(tmp_path, "run", GOAL, "--out", str(out), GITHUB_API_URL=server.url, GITHUB_MAX_WAIT_SECONDS="0")
    assert result.returncode == 3, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "partial"
    assert any(f"GitHub {bucket} rate limit reached" in reason for reason in summary["stop_reasons"])
    assert summary["budget"][bucket]["remaining"] == 0
    assert {p.name for p in out.iterdir()} >= {"leads_full.json", "leads_contactable.csv", "summary.json"}
    assert f"{bucket} {summary['budget'][bucket]['requests']}" in result.stderr, "the final line breaks it down"
    if bucket == "search":  # the core bucket still has budget: the repos found are researched and enriched
        assert summary["budget"]["core"]["requests"] > 0 and summary["prospects_found"] > 0


def test_schema_prints_json_schemas(tmp_path: Path) -> None:
    result = _cmo(tmp_path, "schema")
    schemas = json.loads(result.stdout)
    assert {"prospect", "campaign", "plan"} <= set(schemas)
    assert "developer_profile" in schemas["prospect"]["properties"]


def test_killed_run_resumes_with_the_same_leads(tmp_path: Path) -> None:
    reference = _cmo(tmp_path, "run", GOAL, "--json", "--out", str(tmp_path / "reference"), GITHUB_GRAPHQL="false")
    assert reference.returncode == 0, reference.stderr
    # REST: one enricher branch per person, so the kill lands mid-wave.
    env = _env(tmp_path, SANDBOX_LATENCY_MS="25", CMO_HOME=str(tmp_path / "home2"), GITHUB_GRAPHQL="false")
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [*CMO, "run", GOAL, "--json", "--out", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    trace = out / "trace.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        lines = trace.read_text().splitlines() if trace.exists() else []
        if sum('"agent.finished"' in line and '"enricher"' in line for line in lines) >= 5:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_id = json.loads(lines[0])["run_id"]
    assert not (out / "summary.json").exists(), "the run finished before it could be killed"

    resumed = subprocess.run([*CMO, "resume", run_id, "--json"], env=env, capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr
    leads = [p["id"] for p in json.loads((out / "leads_full.json").read_text())]
    expected = [p["id"] for p in json.loads((tmp_path / "reference" / "leads_full.json").read_text())]
    assert leads == expected
    assert json.loads(resumed.stdout)["api_requests"] < json.loads(reference.stdout)["api_requests"]
