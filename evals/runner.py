"""Run evaluation suites into a run directory: `results.json` plus, on the LLM path, `llm_recording.jsonl`.

Examples run in dataset order; with `jobs > 1` they run concurrently but their results keep that
order, and each example talks to the model through its own recording scope, so a replay of a
parallel run still gives every example its own answers. The run's date is fixed in the config
(`today`) and reused by a replay, since the planner tells the model the date.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from pydantic import BaseModel, Field
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from evals import (
    suite_compliance,
    suite_do_not_contact,
    suite_leads,
    suite_messages,
    suite_planner,
    suite_planner_fresh,
    suite_researcher_agent,
    suite_semantic,
)
from evals.datasets import SUITES, Suite, load_dataset
from evals.metrics import latency_stats, llm_usage
from evals.recording import RECORDING, LLMSession, Replay
from evals.suites import RESULTS, ExampleResult, SuiteContext, SuiteResult, scope

SCHEMA_VERSION = 1
SUITE_MODULES: dict[str, ModuleType] = {
    "planner": suite_planner,
    "planner_fresh": suite_planner_fresh,
    "leads": suite_leads,
    "researcher_agent": suite_researcher_agent,
    "semantic": suite_semantic,
    "messages": suite_messages,
    "compliance": suite_compliance,
    "do_not_contact": suite_do_not_contact,
}
T = TypeVar("T")
R = TypeVar("R")


class EvalConfig(BaseModel):
    """Everything that decides a run's outcome; a replay copies it from its source run."""

    suites: list[Suite] = Field(default_factory=lambda: list(SUITES))
    prompt_version: str = "v1"
    prompts_dir: str | None = None
    model: str = Field(default="none", description="'none' on the deterministic path")
    llm_base_url: str | None = None
    replay_source: str | None = None
    jobs: int = Field(default=1, ge=1)
    limit: int | None = Field(default=None, ge=1, description="first N examples per suite")
    today: date = Field(default_factory=lambda: datetime.now(UTC).date())


class RunResults(BaseModel):
    schema_version: int = SCHEMA_VERSION
    created_at: datetime
    config: EvalConfig
    git_commit: str
    datasets: dict[str, str]
    prompt_version: str
    suites: dict[str, SuiteResult]
    llm: dict[str, Any] = Field(default_factory=dict, description="requests, tokens, cost and latency")
    replay_misses: list[str] = Field(default_factory=list, description="scopes whose request was not recorded")
    seconds: float = 0.0


def git_commit() -> str:
    """The checked-out commit, or "unknown" outside a git checkout (or without git)."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() or "unknown"


def load_results(run_dir: Path) -> RunResults:
    path = run_dir / RESULTS
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} has no {RESULTS} (is it an eval run directory?)")
    return RunResults.model_validate_json(path.read_text(encoding="utf-8"))


def ordered_map(function: Callable[[T], R], items: Sequence[T], jobs: int, done: Callable[[], None]) -> list[R]:
    """`function` over `items`, up to `jobs` at a time, results in input order; `done` after each item."""
    if jobs <= 1:
        results = []
        for item in items:
            results.append(function(item))
            done()
        return results
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="eval") as pool:
        futures = [pool.submit(function, item) for item in items]
        for future in futures:
            future.add_done_callback(lambda _: done())
        return [future.result() for future in futures]


def run_eval(config: EvalConfig, run_dir: Path, session: LLMSession | None = None, console: Console | None = None) -> RunResults:
    """Run `config.suites` into `run_dir` (on the model of `session`, if any) and write `results.json`."""
    run_dir.mkdir(parents=True, exist_ok=True)
    ctx = SuiteContext(
        run_dir=run_dir,
        today=config.today,
        prompt_version=config.prompt_version,
        prompts_dir=Path(config.prompts_dir) if config.prompts_dir else None,
        session=session,
    )
    started = time.perf_counter()
    suites: dict[str, SuiteResult] = {}
    progress = Progress(
        TextColumn("[bold]{task.description:<11}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=False,
    )
    with progress:
        for suite in config.suites:
            dataset = load_dataset(suite)
            examples = dataset.examples[: config.limit]
            task = progress.add_task(suite, total=len(examples))
            suites[suite] = _run_suite(suite, dataset.version, examples, ctx, config.jobs, partial(progress.advance, task))
    misses = sorted(set(session.replay.misses)) if session and session.replay else []
    for scope_name in misses:
        suite_name, example_id = scope_name.split("/", 1)
        for result in suites[suite_name].examples:
            if result.id == example_id:
                result.passed = False
                result.failures.append("replay: a request was not in the recording, so this is not a faithful replay")
    results = RunResults(
        created_at=datetime.now(UTC),
        config=config,
        git_commit=git_commit(),
        datasets={name: result.dataset_version for name, result in suites.items()},
        prompt_version=config.prompt_version,
        suites=suites,
        llm=llm_summary(session.recorder.exchanges(), config.model) if session else {},
        replay_misses=misses,
        seconds=round(time.perf_counter() - started, 2),
    )
    (run_dir / RESULTS).write_text(results.model_dump_json(indent=1), encoding="utf-8")
    return results


def _run_suite(
    suite: str, version: str, examples: list[Any], ctx: SuiteContext, jobs: int, done: Callable[[], None]
) -> SuiteResult:
    module = SUITE_MODULES[suite]

    def one(example: Any) -> ExampleResult:
        started = time.perf_counter()
        result: ExampleResult = module.evaluate(example, ctx)
        result.seconds = round(time.perf_counter() - started, 3)
        return result

    started = time.perf_counter()
    results = ordered_map(one, examples, jobs, done)
    if ctx.session is not None:
        usage = _usage_by_scope(ctx.session.recorder.exchanges(), ctx.session.model)
        for result in results:
            result.outputs["llm"] = usage.get(scope(suite, result.id), llm_usage([]))
    return SuiteResult(
        suite=suite,
        dataset_version=version,
        examples=results,
        aggregates=module.aggregate(results),
        advisory=list(module.ADVISORY),
        latency_s=latency_stats(result.seconds for result in results),
        seconds=round(time.perf_counter() - started, 2),
    )


def _usage_record(exchange: dict[str, Any], model: str) -> dict[str, Any]:
    """An exchange as a `llm_usage` record: the model that answered and its token counts."""
    response = exchange.get("response")
    answered_by = response.get("model") if isinstance(response, dict) else None
    return {"model": answered_by or model, **(exchange.get("usage") or {})}


def _usage_by_scope(exchanges: list[dict[str, Any]], model: str) -> dict[str, dict[str, Any]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for exchange in exchanges:
        grouped.setdefault(exchange["scope"], []).append(exchange)
    return {
        name: {**llm_usage(_usage_record(e, model) for e in items), "requests": len(items)} for name, items in grouped.items()
    }


def llm_summary(exchanges: list[dict[str, Any]], model: str) -> dict[str, Any]:
    """Requests, errors, tokens, estimated cost and per-request latency of a whole run."""
    return {
        "requests": len(exchanges),
        "errors": sum(e["status"] >= 400 for e in exchanges),
        **llm_usage(_usage_record(e, model) for e in exchanges),
        "latency_s": latency_stats(e["latency_s"] for e in exchanges),
    }


def prepare_run_dir(run_dir: Path, replay_source: Path | None) -> None:
    """Refuse to overwrite a finished run or the run being replayed; start from an empty recording."""
    if replay_source is not None and run_dir.resolve() == replay_source.resolve():
        raise ValueError("--out must differ from the --replay run directory (the replay writes its own results)")
    if (run_dir / RESULTS).exists():
        raise ValueError(f"{run_dir} already holds an eval run; choose a new --out directory")
    (run_dir / RECORDING).unlink(missing_ok=True)


def replay_config(source: Path, overrides: dict[str, Any]) -> tuple[EvalConfig, Replay]:
    """The source run's config (same suites, prompts, model, limit and date) with `overrides` applied."""
    recorded = load_results(source).config
    config = recorded.model_copy(update={"replay_source": str(source), **overrides})
    return config, Replay.from_run(source)
