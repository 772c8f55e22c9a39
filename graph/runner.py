"""Run (or resume) one job: set up GitHub, the model and the checkpointer, stream the graph.

The CLI and the tests both go through `run_job` / `resume_job`; every event the graph emits is
appended to `trace.jsonl` and handed to an optional observer (the live display).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from langchain_core.runnables import RunnableConfig

from agents.context import Context
from agents.model_calls import CallPolicy, ModelGate
from agents.state import State
from foundation.artifacts import TRACE
from foundation.events import EventSink
from foundation.schemas import Campaign, Prospect
from foundation.schemas.run import RunInfo, RunSummary
from foundation.settings import Settings
from graph.graph import build_graph
from graph.llm import describe, get_chat_model
from storage.checkpoints import open_checkpointer
from storage.keyring import LOCAL_TENANT, get_keyring
from tools.etag_cache import open_etag_cache
from tools.github import GitHubClient
from tools.github_app import AppCredentials
from tools.github_transport import RateBudget
from tools.semantic import GuardedEmbedder
from tools.suppression import SuppressionList
from tools.vectors.factory import LOCAL_NAMESPACE, open_embedder, open_vector_store

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

Observer = Callable[[dict[str, Any]], None]
# Starts a GitHub sandbox (seed, users, anchor day, latency in ms) for the run and yields its URL. The
# runner never imports the sandbox: an interface (`cmo run`, `cmo serve`, `cmo worker --sandbox`, the
# tests) hands one in, so a service without a GitHub token fails clearly instead of inventing data.
SandboxOpener = Callable[[int, int, date, int], AbstractContextManager[str]]
# The sandbox takes any token; like GitHub's, its GraphQL API takes no anonymous requests.
SANDBOX_TOKEN = "sandbox"


class BadInput(Exception):
    """Something the user can fix; the CLI prints it as one line and exits 2."""


@dataclass
class JobResult:
    run_id: str
    out_dir: Path | None  # None: nothing written (a service job; its artifacts are stored by the caller)
    summary: RunSummary
    prospects: list[Prospect]


def new_run_id() -> str:
    return f"cmo_{datetime.now(UTC):%Y%m%d_%H%M%S}_{secrets.token_hex(3)}"


def run_job(
    goal: str,
    settings: Settings,
    *,
    out_dir: Path | None = None,
    campaign: Campaign | None = None,
    max_prospects: int | None = None,
    observer: Observer | None = None,
    run_id: str | None = None,
    chat_model: BaseChatModel | None = None,
    events: EventSink | None = None,
    tenant_id: str | None = None,
    suppression: SuppressionList | None = None,
    files: bool = True,
    sandbox: SandboxOpener | None = None,
    lookalike_of: list[str] | None = None,
) -> JobResult:
    """Run one goal to the end. `lookalike_of` are seed logins (`--like`, the API's `lookalike_of`):
    the run finds people like them. `chat_model` overrides the model the settings would build; `events`
    (the service's worker) takes the graph's events in place of `trace.jsonl` and the observer;
    `files=False` writes nothing to disk (the service stores the results, encrypted, itself);
    `sandbox` may start the GitHub sandbox when the settings configure no GitHub."""
    if not goal.strip():
        raise BadInput('the goal is empty: say who you are looking for, e.g. "Find Python maintainers active in ML"')
    run_id = run_id or new_run_id()
    out = (out_dir or Path("runs") / run_id).resolve() if files else None
    with _environment(settings, None, sandbox) as (api_base, client):
        run = RunInfo(
            run_id=run_id,
            out_dir=str(out) if out else None,
            started_at=datetime.now(UTC),
            sandbox=api_base.startswith("sandbox:"),
            llm=describe(settings),
            prompt_version=settings.cmo_prompt_version,
            api_base=api_base,
            tenant_id=tenant_id,
        )
        inputs: State = {"run": run, "goal": goal.strip(), "campaign": campaign or Campaign(), "max_prospects": max_prospects}
        if lookalike_of:
            inputs["lookalike_of"] = list(lookalike_of)
        return _stream(settings, client, run, inputs, observer, chat_model, events, suppression)


def resume_job(
    run_id: str,
    settings: Settings,
    observer: Observer | None = None,
    events: EventSink | None = None,
    suppression: SuppressionList | None = None,
    tenant_id: str | None = None,
    sandbox: SandboxOpener | None = None,
) -> JobResult:
    """Continue an interrupted run from its last checkpoint (finished steps are not repeated).
    `tenant_id` is the service job's tenant, whose key encrypted the checkpoints (None: a CLI run)."""
    with open_checkpointer(settings, tenant_id or LOCAL_TENANT) as saver:
        snapshot = build_graph(saver).get_state({"configurable": {"thread_id": run_id}})
    if not snapshot.values:
        raise BadInput(f"no run {run_id!r} in {settings.database_url or settings.home / 'checkpoints.sqlite'}")
    run: RunInfo = snapshot.values["run"]
    with _environment(settings, run.api_base, sandbox) as (_, client):
        return _stream(settings, client, run, None, observer, None, events, suppression)


def _stream(
    settings: Settings,
    client: GitHubClient,
    run: RunInfo,
    inputs: State | None,
    observer: Observer | None,
    chat_model: BaseChatModel | None = None,
    events: EventSink | None = None,
    suppression: SuppressionList | None = None,
) -> JobResult:
    """`suppression` (a tenant's list) is merged with the file of CMO_SUPPRESSION_FILE."""
    out = Path(run.out_dir) if run.out_dir else None
    config: RunnableConfig = {"configurable": {"thread_id": run.run_id}, "max_concurrency": settings.github_concurrency}
    checkpointer = open_checkpointer(settings, run.tenant_id or LOCAL_TENANT)
    with checkpointer as saver, ExitStack() as files:
        trace = files.enter_context(_trace_file(out)) if out else None
        graph = build_graph(saver)
        snapshot = graph.get_state(config)
        if inputs is None and not (snapshot.next or snapshot.tasks):
            return _result(run, out, snapshot.values)
        llm = chat_model or get_chat_model(settings)
        resumed = snapshot.values if inputs is None else {}  # one gate a run: a resumed one counts on from its checkpoint
        embedder = GuardedEmbedder(open_embedder(settings))  # a failing endpoint costs the run its semantics, not the run
        context = Context(
            settings=settings,
            github=client,
            suppression=SuppressionList.load(settings.cmo_suppression_file).merged(suppression or SuppressionList.empty()),
            llm=llm,
            gate=ModelGate(llm, CallPolicy.from_settings(settings), seed=resumed.get("llm_usage")) if llm else None,
            prompt_version=settings.cmo_prompt_version,
            prompts_dir=settings.cmo_prompts_dir,
            events=events,
            embedder=embedder,
            vectors=open_vector_store(settings, embedder),
            vector_namespace=run.tenant_id or LOCAL_NAMESPACE,
        )
        for event in graph.stream(inputs, config, context=context, stream_mode="custom", durability="sync"):
            event["run_id"] = run.run_id
            if trace:
                trace.write(json.dumps(event, default=str) + "\n")
                trace.flush()
            if observer:
                observer(event)
        values = graph.get_state(config).values
    return _result(run, out, values)


def _result(run: RunInfo, out: Path | None, values: dict[str, Any]) -> JobResult:
    """The result of a finished run from its final state (validated: a checkpoint written before
    summaries were typed holds the summary as a plain dict)."""
    return JobResult(run.run_id, out, RunSummary.model_validate(values["summary"]), values.get("prospects", []))


def _trace_file(out: Path) -> TextIO:
    """The run's `trace.jsonl`, appended to (a resumed run continues it)."""
    out.mkdir(parents=True, exist_ok=True)
    return (out / TRACE).open("a", encoding="utf-8")


@contextmanager
def _environment(settings: Settings, api_base: str | None, sandbox: SandboxOpener | None) -> Iterator[tuple[str, GitHubClient]]:
    """The GitHub endpoint for this run: the configured API, or the sandbox the caller allows."""
    from tools.github_transport import GitHubError

    with ExitStack() as stack:
        if api_base is None and not settings.uses_sandbox:
            api_base = settings.github_api_url or "https://api.github.com"
        credentials: str | AppCredentials | None = None
        if api_base is None or api_base.startswith("sandbox:"):
            # The sandbox world is anchored to a day; a resumed run must see the world it started in.
            if api_base is None:
                seed, users = settings.sandbox_seed, settings.sandbox_users
                anchor = settings.sandbox_anchor or datetime.now(UTC).date()
            else:
                _, seed_text, users_text, day = api_base.split(":")
                seed, users, anchor = int(seed_text), int(users_text), date.fromisoformat(day)
            if sandbox is None:
                raise BadInput(
                    "no GitHub is configured: set GITHUB_TOKEN or a GitHub App (GITHUB_APP_ID and its private key), and "
                    "GITHUB_API_URL for GitHub Enterprise; the built-in sandbox of generated data runs only when asked for "
                    "(`cmo run`, `cmo serve`, `cmo worker --sandbox`)"
                )
            url = stack.enter_context(sandbox(seed, users, anchor, settings.sandbox_latency_ms))
            api_base = f"sandbox:{seed}:{users}:{anchor.isoformat()}"
            credentials = SANDBOX_TOKEN
        else:
            url = api_base
            credentials = _github_credentials(settings)
        client = GitHubClient(
            url,
            credentials,
            RateBudget(
                max_requests=settings.github_max_requests,
                max_search_requests=settings.github_max_search_requests,
                max_graphql_points=settings.github_max_graphql_points,
            ),
            open_etag_cache(settings.home, settings.redis_url, get_keyring(settings)),
            api_base,
            max_wait=settings.github_max_wait_seconds,
            concurrency=settings.github_concurrency,
            timeout=settings.github_timeout_seconds,
            graphql_cache_seconds=settings.github_graphql_cache_seconds,
        )
        try:
            client.check()
        except GitHubError as exc:
            raise BadInput(str(exc)) from exc
        yield api_base, client


def _github_credentials(settings: Settings) -> str | AppCredentials | None:
    """Who the run is on GitHub: the token's owner, a GitHub App's installation, or nobody.

    A token and an App together are refused rather than ranked: which identity (and which rate
    limit) a run spends must never be a guess. A half-configured App is refused too.
    """
    token = settings.github_token.get_secret_value() if settings.github_token else None
    if not settings.uses_github_app:
        return token
    if token:
        raise BadInput("both GITHUB_TOKEN and a GitHub App (GITHUB_APP_*) are set: unset one of them")
    app_id = (settings.github_app_id or "").strip()
    if not app_id:
        raise BadInput("a GitHub App needs GITHUB_APP_ID (its app ID or client ID) besides its private key")
    key, key_file = settings.github_app_private_key, settings.github_app_private_key_file
    if key is not None and key_file is not None:
        raise BadInput("set GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE, not both")
    if key_file is not None:
        try:
            pem = key_file.expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(
                f"cannot read GITHUB_APP_PRIVATE_KEY_FILE {key_file}: {getattr(exc, 'strerror', None) or exc}"
            ) from exc
    elif key is not None:
        pem = key.get_secret_value()
        if "\\n" in pem and "\n" not in pem:  # a PEM pasted into one line of .env or a CI secret
            pem = pem.replace("\\n", "\n")
    else:
        raise BadInput(
            f"GitHub App {app_id} needs its private key: GITHUB_APP_PRIVATE_KEY (the PEM text) or "
            "GITHUB_APP_PRIVATE_KEY_FILE (the .pem file GitHub generated)"
        )
    return AppCredentials(app_id=app_id, private_key=pem, installation_id=settings.github_app_installation_id)
