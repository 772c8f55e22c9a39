"""`cmo`: run a goal, resume a run, print the schemas, serve the GitHub sandbox.

User errors end as one red line and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import logging
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from cli.common import EXIT_BAD_INPUT, EXIT_OK, EXIT_PARTIAL, console, fail, load_campaign, load_settings
from cli.privacy import register_privacy_commands
from cli.review import review
from cli.sandbox import sandbox_app
from cli.send import register_send_command
from cli.service import register_service_commands
from cli.sync import register_sync_commands
from evals.cli import eval_app
from foundation.limits import MAX_PROSPECTS

if TYPE_CHECKING:
    from foundation.schemas.run import RunSummary
    from foundation.settings import Settings
    from graph.runner import JobResult


class Research(StrEnum):
    """`--research`: the values of CMO_RESEARCH."""

    auto = "auto"
    agent = "agent"
    rules = "rules"


app = typer.Typer(
    help="cmo-agent: find developer prospects on GitHub and draft reviewed outreach.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(sandbox_app, name="sandbox", help="The offline GitHub sandbox (a local GitHub REST server).")
app.add_typer(eval_app, name="eval", help="Offline evaluation harness: run suites, report, compare runs.")


def _announce(settings: Settings) -> None:
    if settings.uses_sandbox:
        console.print(
            "[yellow]GitHub:[/] no GITHUB_TOKEN, GitHub App or GITHUB_API_URL set: using the built-in SANDBOX "
            "(generated data, not real people)"
        )
    else:
        who = (
            f"GitHub App {settings.github_app_id}"
            if settings.uses_github_app
            else "token"
            if settings.github_token
            else "anonymous"
        )
        console.print(f"[green]GitHub:[/] {settings.github_api_url or 'https://api.github.com'} ({who})")
    if settings.llm_enabled:
        console.print(
            f"[green]LLM:[/] {settings.cmo_model} at {settings.openai_base_url or 'api.openai.com'} "
            f"(timeout {settings.cmo_llm_timeout_seconds:g} s, {settings.cmo_llm_max_retries} retries, "
            f"{settings.cmo_llm_structured_output})"
        )
    else:
        console.print("[yellow]LLM:[/] none (no OPENAI_API_KEY): every agent runs its deterministic path")
        if settings.cmo_research == "agent":
            console.print("[yellow]research:[/] the researcher agent needs a model; the deterministic researcher runs")
    from tools.vectors.factory import embedder_note

    console.print(embedder_note(settings))


def _finish(result: JobResult, as_json: bool) -> None:
    from cli.display import leads_table

    s = result.summary
    if as_json:
        typer.echo(json.dumps(s.model_dump(mode="json"), indent=2))
    else:
        if s.status == "refused":
            console.print(f"[bold red]refused:[/] {s.plan.refusal if s.plan else ''}")
        else:
            Console().print(leads_table(result.prospects))
            console.print(
                f"[bold]{s.prospects_found} leads[/], {s.emails_contactable} contactable "
                f"({s.verdicts}); {s.api_requests} GitHub requests{_per_bucket(s)} "
                f"(+{s.api_requests_saved_by_cache} answered from cache) in {s.duration_seconds}s"
            )
            if s.prospects_found and not s.emails_contactable and not _approvable(result):
                console.print(
                    "[yellow]hint:[/] no draft can be approved without a sender postal address and a real opt-out link: "
                    "set CMO_SENDER_POSTAL_ADDRESS and CMO_UNSUBSCRIBE_URL (or the campaign's sender profile)"
                )
            if s.enrichment is not None and s.enrichment.graphql_off:
                console.print(f"enriched over REST ({s.enrichment.rest} people): {escape(s.enrichment.graphql_off)}")
            if s.status == "partial":
                console.print(f"[yellow]partial:[/] {'; '.join(s.stop_reasons)}")
        if (line := _model_line(s)) is not None:
            console.print(line, highlight=False)
        console.print(f"artifacts: {result.out_dir}")
    raise typer.Exit(EXIT_BAD_INPUT if s.status == "refused" else EXIT_PARTIAL if s.status == "partial" else EXIT_OK)


def _model_line(s: RunSummary) -> Text | None:
    """One line when the model failed the run, wholly or in part: what failed and where the deterministic path ran."""
    usage = s.llm_usage
    if usage is None or usage.status not in ("failed -> deterministic", "partially used"):
        return None
    failures = ", ".join(f"{kind} x{count}" for kind, count in usage.failures.items()) or "no failed requests"
    failures += "; circuit breaker opened" if usage.breaker_opened else ""
    if usage.status == "failed -> deterministic":
        text = f"the model ({s.llm}) failed ({failures}): every agent ran its deterministic path"
    else:
        where = "; ".join(f"{f.agent} x{f.count} ({f.reason})" for f in usage.fallbacks)
        text = f"the model ({s.llm}) was partially used ({failures}); deterministic path for {where}"
    return Text.assemble(("LLM: ", "bold yellow"), text)


def _per_bucket(s: RunSummary) -> str:
    """' (core N, search M[, graphql P points]; U budget units)', or '' for a summary without a budget."""
    b = s.budget
    if b is None:
        return ""
    points = f", graphql {b.graphql.requests} points" if b.graphql.requests else ""
    return f" (core {b.core.requests}, search {b.search.requests}{points}; {b.budget_units} budget units)"


def _approvable(result: JobResult) -> bool:
    """False when every review names missing sender details (a set-up problem, not a lead problem)."""
    setup = ("missing_postal_address", "placeholder_unsubscribe_url")
    reviews = [p.compliance for p in result.prospects if p.compliance]
    return not reviews or not all(any(r.startswith(setup) for r in review.reasons) for review in reviews)


def _execute(job, as_json: bool, settings: Settings) -> None:
    from cli.display import LiveView
    from graph.runner import BadInput
    from privacy.crypto import KeyringError

    logging.getLogger("github").setLevel(logging.ERROR)
    try:
        if as_json or not console.is_terminal:
            result = job(_plain_observer(as_json))
        else:
            with LiveView(console) as view:
                result = job(view)
    except (BadInput, KeyringError) as exc:  # KeyringError: no key file (`cmo keys init`) or key table
        fail(str(exc))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: continue with `cmo resume <run id>`")
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug or an unexpected answer: one line, the run stays resumable
        if settings.cmo_debug:
            raise
        console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
            "the last checkpoint is kept: `cmo resume <run id>` retries; CMO_DEBUG=1 shows the traceback"
        )
        raise typer.Exit(1) from None
    _finish(result, as_json)


def _plain_observer(quiet: bool):
    """Without a terminal (CI, pipes) print one line per reasoning step and failed model request
    instead of a live panel."""
    from cli.display import model_failure_line

    def observe(event: dict) -> None:
        if quiet:
            return
        if event["event"] == "agent.reasoning":
            console.print(f"{event['agent']:>10}: {event['data'].get('text', '')}", highlight=False, markup=False)
        elif (line := model_failure_line(event)) is not None:
            console.print(f"{event['agent']:>10}: {line}", highlight=False, markup=False)

    return observe


@app.command()
def run(
    goal: Annotated[str, typer.Argument(help="Who you are looking for, in plain words.")],
    out: Annotated[Path | None, typer.Option("--out", help="Artifacts directory (default ./runs/<run id>/).")] = None,
    max_prospects: Annotated[int | None, typer.Option("--max-prospects", min=1, max=MAX_PROSPECTS)] = None,
    campaign: Annotated[Path | None, typer.Option("--campaign", help="Campaign Configuration JSON (SPEC).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print summary.json instead of the live view.")] = False,
    research: Annotated[
        Research | None,
        typer.Option(
            "--research",
            help="Who researches GitHub: agent (the model, with tools), rules, or auto (the agent for open-ended "
            "goals); overrides CMO_RESEARCH. The agent needs a model.",
        ),
    ] = None,
    no_follow_ups: Annotated[
        bool,
        typer.Option("--no-follow-ups", help="Draft the first message only: no follow-up steps (CMO_FOLLOW_UP_DAYS, campaign)."),
    ] = False,
    like: Annotated[
        str | None,
        typer.Option(
            "--like",
            help="Comma-separated GitHub logins: find developers like them (lookalikes; at most 20, never themselves).",
        ),
    ] = None,
) -> None:
    """Run GOAL: plan, research, enrich, draft, review, write artifacts."""
    from foundation.seeds import parse_seeds
    from graph.runner import new_run_id, run_job
    from sandbox import open_sandbox

    try:
        seeds = parse_seeds(like.split(",")) if like else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--like") from exc
    settings = load_settings()
    if research is not None:
        settings = settings.model_copy(update={"cmo_research": research.value})
    loaded = load_campaign(campaign) if campaign else None
    if no_follow_ups:  # wins over the setting and over the campaign file's own days
        settings = settings.model_copy(update={"cmo_follow_up_days": ""})
        if loaded is not None:
            loaded.campaign_settings.follow_up_days = []
    run_id = new_run_id()
    if not as_json:
        _announce(settings)
        console.print(f"run id: [bold]{run_id}[/] (resume an interrupted run with `cmo resume {run_id}`)")
    _execute(
        lambda observer: run_job(
            goal,
            settings,
            out_dir=out,
            campaign=loaded,
            max_prospects=max_prospects,
            observer=observer,
            run_id=run_id,
            sandbox=open_sandbox,
            lookalike_of=seeds,
        ),
        as_json,
        settings,
    )


@app.command()
def resume(
    run_id: Annotated[str, typer.Argument(help="The run id printed by `cmo run` (also in summary.json).")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Resume an interrupted run from its last checkpoint."""
    from graph.runner import resume_job
    from sandbox import open_sandbox

    settings = load_settings()
    _execute(lambda observer: resume_job(run_id, settings, observer=observer, sandbox=open_sandbox), as_json, settings)


@app.command()
def schema(
    name: Annotated[str, typer.Argument(help="prospect, campaign, plan, destination, mapping or all")] = "all",
) -> None:
    """Print the JSON Schemas of the data contract (and of a destination's config and field mapping)."""
    from pydantic import BaseModel

    from foundation.schemas import Campaign, Prospect, SearchPlan
    from tools.destinations.config import DestinationConfig
    from tools.destinations.mapping import FieldMapping

    models: dict[str, type[BaseModel]] = {
        "prospect": Prospect,
        "campaign": Campaign,
        "plan": SearchPlan,
        "destination": DestinationConfig,
        "mapping": FieldMapping,
    }
    if name != "all" and name not in models:
        fail(f"unknown schema {name!r}; choose one of: {', '.join(models)}, all")
    chosen = models if name == "all" else {name: models[name]}
    typer.echo(json.dumps({k: m.model_json_schema() for k, m in chosen.items()}, indent=2))


register_service_commands(app)
register_privacy_commands(app)
register_send_command(app)
app.command()(review)  # `cmo review`: the decisions `cmo send` sends by
register_sync_commands(app)
