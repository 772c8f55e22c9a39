"""`cmo db`, `cmo apikey` and `cmo serve`: the commands of the REST service (see api/README.md)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import bind_keys, console, fail, load_settings, service_call

if TYPE_CHECKING:
    from fastapi import FastAPI

db_app = typer.Typer(help="The service database: Postgres at DATABASE_URL, else SQLite under CMO_HOME.", no_args_is_help=True)


class KeyRoleOption(StrEnum):
    admin = "admin"
    member = "member"


apikey_app = typer.Typer(help="API keys of the REST service; each key belongs to one tenant.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target Alembic revision.")] = "head") -> None:
    """Apply the service's migrations (idempotent; run once per deployment, before `cmo serve`)."""
    from sqlalchemy.exc import DBAPIError

    from api.core.migrate import upgrade
    from storage.urls import describe

    settings = load_settings()
    try:
        upgrade(settings, revision)
    except DBAPIError as exc:
        fail(f"cannot migrate {describe(settings)}: {exc.orig}")
    console.print(f"database at revision {revision}: {describe(settings)}")


@apikey_app.command("create")
def apikey_create(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name (created if new).")],
    role: Annotated[
        KeyRoleOption, typer.Option("--role", help="admin keys may also read the audit trail.")
    ] = KeyRoleOption.member,
) -> None:
    """Create an API key for TENANT. The key is the last line of the output; only its hash is stored."""
    from api.services.tenants import issue_api_key

    name = tenant.strip()
    if not name or len(name) > 200:
        fail("--tenant must be 1 to 200 characters")
    issued = service_call(load_settings(), lambda database: issue_api_key(database, name, role.value))
    typer.echo(f"tenant: {issued.tenant_name} ({issued.tenant_id}{', new' if issued.tenant_created else ''}); role: {role.value}")
    typer.echo(f"key id: {issued.key_id} (revoke with `cmo apikey revoke {issued.key_id}`)")
    typer.echo("the key is shown only now; send it as `Authorization: Bearer <key>`:")
    typer.echo(issued.key)


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[str, typer.Argument(help="The key id printed by `cmo apikey create`.")]) -> None:
    """Revoke an API key: requests with it get 401 from now on."""
    from api.services.tenants import revoke_api_key

    if not service_call(load_settings(), lambda database: revoke_api_key(database, key_id)):
        fail(f"no active API key {key_id!r}")
    typer.echo(f"revoked {key_id}")


SERVE_WORKERS_INLINE_ENV = "CMO_SERVE_WORKERS_INLINE"  # how `--workers-inline` reaches the processes uvicorn spawns


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers_inline: Annotated[
        int | None,
        typer.Option("--workers-inline", min=0, help="Jobs this process runs at once (default: 1 without REDIS_URL, 0 with it)."),
    ] = None,
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            min=1,
            max=64,
            help="API processes sharing the port (needs DATABASE_URL and REDIS_URL when above 1; /metrics sums them all).",
        ),
    ] = 1,
    backlog: Annotated[
        int,
        typer.Option(
            "--backlog",
            min=64,
            max=65535,
            help="Connections the kernel holds until they are accepted (capped by net.core.somaxconn).",
        ),
    ] = 4096,
) -> None:
    """uvicorn calls the app factory itself, so pools open in the serving event loop (of each process)."""
    import os

    import uvicorn

    settings = load_settings()
    bind_keys(settings)  # missing keys or schema: one clear line before the server starts
    if processes > 1 and not (settings.uses_postgres and settings.redis_url):
        fail(
            "--processes above 1 needs DATABASE_URL (Postgres) and REDIS_URL: the embedded SQLite database and the "
            "in-process queue and event bus belong to one process"
        )
    if settings.uses_sandbox:
        console.print(
            "[yellow]GitHub:[/] no GITHUB_TOKEN, GitHub App or GITHUB_API_URL set: jobs use the built-in SANDBOX "
            "(generated data, not real people)"
        )
    if workers_inline is not None:
        os.environ[SERVE_WORKERS_INLINE_ENV] = str(workers_inline)
    if processes > 1:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_fresh_metrics_dir(settings.home))
    console.print(f"web app: http://{host}:{port}/ (sign in with a key from `cmo apikey create --tenant NAME`); API docs: /docs")
    # uvicorn's default backlog (2048) overflowed when 5,000 event streams connected within 2.5 s:
    # the kernel reset 550 of them before the busy server accepted them (bench/README.md).
    uvicorn.run(
        "cli.service:served_app",
        factory=True,
        host=host,
        port=port,
        workers=processes,
        log_config=None,
        access_log=False,
        backlog=backlog,
    )


def served_app() -> FastAPI:
    """The app of one `cmo serve` process (uvicorn imports this by name in each process it starts)."""
    import os

    from api.app import create_app
    from api.core.config import ApiConfig
    from sandbox import open_sandbox

    settings = load_settings()
    inline = os.environ.get(SERVE_WORKERS_INLINE_ENV)
    config = ApiConfig(
        workers_inline=int(inline) if inline is not None else None,
        tune_gc=True,
        github_sandbox=open_sandbox if settings.uses_sandbox else None,
    )
    return create_app(settings, config)


def _fresh_metrics_dir(home: Path) -> Path:
    """prometheus-client's multiprocess files: emptied at start, as its documentation asks, so the
    counters of an earlier run's processes are not added in."""
    import shutil

    directory = home / "metrics"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def worker(
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=256, help="Jobs this process runs at once.")] = 4,
    claim_idle: Annotated[
        float,
        typer.Option(
            "--claim-idle", min=1.0, help="Seconds of silence after which a worker counts as dead and its jobs are taken over."
        ),
    ] = 60.0,
    consumer_idle: Annotated[
        float,
        typer.Option(
            "--consumer-idle",
            min=1.0,
            help="Seconds after which a consumer with no pending job (a dead worker's) is removed from the group.",
        ),
    ] = 600.0,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=0,
            max=65535,
            help="Serve Prometheus metrics of this worker on this port (0: a free one, logged). Off by default.",
        ),
    ] = None,
    metrics_host: Annotated[str, typer.Option("--metrics-host", help="Interface of the metrics server.")] = "0.0.0.0",
    stream: Annotated[
        str, typer.Option("--stream", hidden=True, help="Redis Stream of jobs (tests use their own).")
    ] = "cmo:jobs",
    group: Annotated[str, typer.Option("--group", hidden=True, help="Consumer group of the workers.")] = "workers",
    heartbeat: Annotated[
        float, typer.Option("--heartbeat", hidden=True, min=0.1, help="Seconds between lease refreshes of a quiet job.")
    ] = 1.0,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox", help="Run jobs against the built-in GitHub sandbox (generated data) when no GitHub is configured."
        ),
    ] = False,
) -> None:
    """Run jobs from the Redis Stream (REDIS_URL) until SIGTERM/SIGINT; any number of these may run.

    Jobs of a dead worker resume from their last checkpoint; on a clean stop, running jobs are handed back at once.
    """
    import asyncio

    from api.core.config import ApiConfig
    from api.core.migrate import ensure_embedded_schema
    from api.services.worker import serve_worker
    from api.services.worker_metrics import MetricsUnavailable
    from sandbox import open_sandbox

    settings = load_settings()
    if not settings.redis_url:
        fail("`cmo worker` needs REDIS_URL (without Redis, `cmo serve` runs the jobs in its own process)")
    if settings.uses_sandbox and not sandbox:
        fail(
            "no GitHub is configured: set GITHUB_TOKEN or a GitHub App (GITHUB_APP_ID and its private key), and GITHUB_API_URL "
            "for GitHub Enterprise; or pass --sandbox to use generated data"
        )
    ensure_embedded_schema(settings)
    bind_keys(settings)
    config = ApiConfig(
        jobs_stream=stream,
        workers_group=group,
        worker_claim_idle_seconds=claim_idle,
        worker_consumer_idle_seconds=consumer_idle,
        worker_heartbeat_seconds=heartbeat,
        github_sandbox=open_sandbox if sandbox else None,
    )
    metrics = (metrics_host, metrics_port) if metrics_port is not None else None
    try:
        asyncio.run(serve_worker(settings, config, concurrency, metrics))
    except MetricsUnavailable as exc:
        fail(str(exc))


SERVE_HELP = (
    "Run the REST API (FastAPI on uvicorn; OpenAPI at /docs).\n\n"
    "Jobs are run by workers: with REDIS_URL, by `cmo worker` processes (and by this one with --workers-inline N); "
    "without Redis, by this process (one job at a time unless --workers-inline says otherwise)."
)


def register_service_commands(app: typer.Typer) -> None:
    """Attach the service commands to the main `cmo` app."""
    app.add_typer(db_app, name="db")
    app.add_typer(apikey_app, name="apikey")
    app.command(help=SERVE_HELP)(serve)
    app.command()(worker)
