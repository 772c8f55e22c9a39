"""`cmo eval run | report | compare`: the evaluation harness on the command line.

The runner (and through it every agent and metric) is imported inside `run` only, so `cmo run`
and the other commands start, and keep working, whatever state the eval modules are in.

`run` takes the deterministic path unless a model is configured (OPENAI_API_KEY, or `--model`);
`--no-llm` forces it, which is what CI and `make eval` use. `compare` exits 1 when a gated metric
regressed beyond its tolerance, so it can gate a pull request.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from evals.compare import DEFAULT_GATES, compare_runs, parse_gates, print_comparison, write_markdown
from prompts import available_versions

if TYPE_CHECKING:
    from evals.recording import LLMSession
    from evals.runner import EvalConfig

eval_app = typer.Typer(help="Offline evaluation: run the suites, report on a run, compare two runs.", no_args_is_help=True)
console = Console(stderr=True)
EXIT_BAD_INPUT = 2
# The prompts each suite sends on the LLM path (a version must exist for every one of them).
SUITE_AGENTS = {
    "planner": ("planner",),
    "planner_fresh": ("planner",),
    "leads": ("planner", "copywriter", "compliance"),
    "researcher_agent": ("researcher_agent",),
    "semantic": ("planner", "copywriter", "compliance"),
    "messages": ("copywriter",),
    "compliance": ("compliance",),
    "do_not_contact": ("compliance",),
}
_GATES_HELP = ", ".join(f"{name}={delta}" for name, delta in DEFAULT_GATES.items())


def _fail(message: str) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(EXIT_BAD_INPUT)


def _suites(name: str | None) -> list[str] | None:
    from evals.datasets import SUITES

    if name is None:
        return None
    if name == "all":
        return list(SUITES)
    if name not in SUITES:
        _fail(f"unknown suite {name!r}; choose one of: {', '.join(SUITES)}, all")
    return [name]


@eval_app.command("run")
def run(
    suite: Annotated[
        str | None,
        typer.Option(
            "--suite",
            help="planner, planner_fresh, leads, researcher_agent, semantic, messages, compliance, do_not_contact or all (default all).",
        ),
    ] = None,
    prompts: Annotated[
        str | None, typer.Option("--prompts", help="Prompt version: prompts/<agent>/<VERSION>.md or CMO_PROMPTS_DIR.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Chat model name; implies the LLM path.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Run directory (default runs/eval-<timestamp>).")] = None,
    replay: Annotated[Path | None, typer.Option("--replay", help="Re-run a recorded LLM run with no network.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, max=64, help="Examples run in parallel (order is kept).")] = 1,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N examples per suite.")] = None,
    llm: Annotated[bool | None, typer.Option("--llm/--no-llm", help="Force the LLM or the deterministic path.")] = None,
) -> None:
    """Run evaluation suites and write results.json, report.md and report.html."""
    from evals.recording import LLMSession
    from evals.report import write_reports
    from evals.runner import prepare_run_dir, replay_config, run_eval
    from evals.suites import RESULTS

    run_dir = out or Path("runs") / f"eval-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    chosen = _suites(suite)
    session: LLMSession | None
    try:
        prepare_run_dir(run_dir, replay)
        if replay is not None:
            if prompts or model or llm is False:
                _fail("--replay re-sends the recorded requests: --prompts, --model and --no-llm cannot change them")
            overrides = {"jobs": jobs} | ({"suites": chosen} if chosen else {}) | ({"limit": limit} if limit else {})
            config, recording = replay_config(replay, overrides)
            session = LLMSession(run_dir, config.model, config.llm_base_url, "replay", replay=recording)
        else:
            config, session = _live_config(run_dir, chosen, prompts, model, jobs, limit, llm)
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    try:
        results = run_eval(config, run_dir, session, console)
    finally:
        if session is not None:
            session.close()
    md, html = write_reports(run_dir)
    _print_summary(results.model_dump(mode="json"))
    console.print(f"results: {run_dir / RESULTS}\nreport:  {md}  {html}")
    if results.replay_misses:
        missed = len(results.replay_misses)
        console.print(f"[bold red]replay incomplete:[/] {missed} example(s) sent requests the recording lacks")
        raise typer.Exit(1)


def _live_config(
    run_dir: Path,
    suites: list[str] | None,
    prompts: str | None,
    model: str | None,
    jobs: int,
    limit: int | None,
    llm: bool | None,
) -> tuple[EvalConfig, LLMSession | None]:
    """The config of a fresh run: the LLM path when a key is set (or asked for), else deterministic."""
    from evals.datasets import SUITES
    from evals.recording import LLMSession
    from evals.runner import EvalConfig
    from foundation.settings import Settings

    try:
        env = Settings()
    except ValidationError as exc:
        raise ValueError(f"invalid environment setting: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from exc
    use_llm = llm if llm is not None else (env.llm_enabled or model is not None)
    if use_llm and not env.llm_enabled:
        raise ValueError(
            "the LLM path needs OPENAI_API_KEY (and OPENAI_BASE_URL for a non-OpenAI endpoint); --no-llm runs without"
        )
    version = prompts or env.cmo_prompt_version
    agents = dict.fromkeys(agent for suite in suites or SUITES for agent in SUITE_AGENTS[suite]) if use_llm else {}
    for agent in agents:
        if version not in (have := available_versions(agent, env.cmo_prompts_dir)):
            raise ValueError(f"no prompt {version!r} for the {agent} (have {', '.join(have)}; see CMO_PROMPTS_DIR)")
    name = model or env.cmo_model
    config = EvalConfig(
        **({"suites": suites} if suites else {}),
        prompt_version=version,
        prompts_dir=str(env.cmo_prompts_dir) if env.cmo_prompts_dir else None,
        model=name if use_llm else "none",
        llm_base_url=env.openai_base_url if use_llm else None,
        jobs=jobs,
        limit=limit,
    )
    if not use_llm:
        return config, None
    assert env.openai_api_key is not None
    return config, LLMSession(run_dir, name, env.openai_base_url, env.openai_api_key.get_secret_value())


def _print_summary(results: dict) -> None:
    from evals.report import HEADLINE

    title = f"eval (model {results['config']['model']}, prompts {results['prompt_version']})"
    table = Table(title=title, title_justify="left")
    for column in ("suite", "passed", "headline"):
        table.add_column(column)
    for name, suite in results["suites"].items():
        passed = sum(e["passed"] for e in suite["examples"])
        values = suite["aggregates"]
        headline = ", ".join(f"{k} {values[k]}" for k in HEADLINE.get(name, ()) if k in values)
        table.add_row(name, f"{passed}/{len(suite['examples'])}", headline)
    console.print(table)


@eval_app.command("report")
def report(run_dir: Annotated[Path, typer.Argument(help="An eval run directory (holds results.json).")]) -> None:
    """Write report.md and a self-contained report.html for RUN_DIR."""
    from evals.report import write_reports
    from evals.suites import RESULTS

    if not (run_dir / RESULTS).is_file():
        _fail(f"{run_dir} has no {RESULTS} (is it an eval run directory?)")
    for path in write_reports(run_dir):
        typer.echo(path)


@eval_app.command("compare")
def compare(
    run_a: Annotated[Path, typer.Argument(help="The baseline run directory.")],
    run_b: Annotated[Path, typer.Argument(help="The candidate run directory (compare.md is written here).")],
    max_regression: Annotated[
        list[str] | None,
        typer.Option("--max-regression", help=f"METRIC=DELTA, repeatable; defaults: {_GATES_HELP}."),
    ] = None,
) -> None:
    """Compare RUN_B against RUN_A; exit 1 when a gated metric regressed beyond its tolerance."""
    from evals.suites import RESULTS

    try:
        gates = parse_gates(max_regression or [])
        a, b = (json.loads((run / RESULTS).read_text(encoding="utf-8")) for run in (run_a, run_b))
    except ValueError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot read {exc.filename}: {exc.strerror}")
    comparison = compare_runs(a, b, gates, names=(str(run_a), str(run_b)))
    print_comparison(comparison, Console())
    console.print(f"written: {write_markdown(comparison, run_b)}")
    raise typer.Exit(1 if comparison.failed_gates else 0)
