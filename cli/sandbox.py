"""`cmo sandbox ...`: serve the GitHub sandbox on a port, or print a built-in goal's ground truth."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Annotated

import typer

sandbox_app = typer.Typer(help="The offline GitHub sandbox: a generated world behind GitHub's REST API.", no_args_is_help=True)

Seed = Annotated[int, typer.Option(help="World seed: same seed, same world.")]
Users = Annotated[int, typer.Option(min=50, help="Number of people in the world.")]


@sandbox_app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0 picks a free one).")] = 8765,
    seed: Seed = 7,
    users: Users = 1500,
    latency_ms: Annotated[int, typer.Option(min=0, help="Added latency per request.")] = 0,
    error_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Fraction of requests answered 502.")] = 0.0,
) -> None:
    """Serve the sandbox until Ctrl-C."""
    from sandbox.generator import generate_world
    from sandbox.goals import BUILTIN_GOALS
    from sandbox.server import SandboxServer

    started = time.perf_counter()
    world = generate_world(seed=seed, users=users)
    built = time.perf_counter() - started
    try:
        server = SandboxServer(world, host=host, port=port, latency_ms=latency_ms, error_rate=error_rate).start()
    except OSError as exc:
        typer.secho(f"error: cannot listen on {host}:{port}: {exc.strerror}", fg="red", err=True)
        raise typer.Exit(2) from exc
    people = len(world.users)
    orgs = sum(a.type == "Organization" for a in world.accounts.values())
    typer.echo(
        f"GitHub sandbox at {server.url}  (seed {seed}: {people} people, {orgs} orgs, "
        f"{len(world.repos)} repos; built in {built:.1f}s)"
    )
    typer.echo(f'Point cmo at it:  GITHUB_API_URL={server.url} cmo run "{BUILTIN_GOALS["python-ml"].goal}"')
    typer.echo(f"Ground truth:     {server.url}/_sandbox/truth/<goal>  (goals: {', '.join(BUILTIN_GOALS)})")
    typer.echo("Ctrl-C stops it.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.stop()


@sandbox_app.command("truth")
def truth_command(
    goal_name: Annotated[str, typer.Argument(help="A built-in goal's name (python-ml, ...; an unknown name lists them all).")],
    seed: Seed = 7,
    users: Users = 1500,
) -> None:
    """Print the logins that truly match a built-in goal, one per line."""
    from sandbox.generator import generate_world
    from sandbox.goals import BUILTIN_GOALS
    from sandbox.truth import identity_groups, truth

    goal = BUILTIN_GOALS.get(goal_name)
    if goal is None:
        typer.secho(f"error: unknown goal {goal_name!r}; known: {', '.join(BUILTIN_GOALS)}", fg="red", err=True)
        raise typer.Exit(2)
    world = generate_world(seed=seed, users=users)
    logins = sorted(truth(world, goal.audience, datetime.now(UTC)), key=str.casefold)
    typer.echo(f"# {goal.name}: {goal.goal!r} -> {len(logins)} people (seed {seed}, {users} users)", err=True)
    grouped = {login: group for group in identity_groups(world) for login in group}
    for login in logins:
        others = sorted(grouped.get(login, {login}) - {login})
        typer.echo(login + (f"  (also {', '.join(others)})" if others else ""))


@sandbox_app.command("personas")
def personas_command(
    seed: Seed = 7,
    users: Users = 1500,
    per_persona: Annotated[int, typer.Option("--per-persona", min=1, max=50, help="Logins listed per persona.")] = 3,
) -> None:
    """Seed logins for lookalike goals: a few people of each (hidden) persona who own repositories.

    The sandbox's people are generated, so `cmo run "Find developers like @alice, @bob"` finds no
    such seeds there; these do: `cmo run "Find developers like @a, @b and @c"` with three of one line."""
    from sandbox.generator import generate_world

    world = generate_world(seed=seed, users=users)
    owners = {repo.owner for repo in world.repos.values() if not repo.fork and not repo.archived and repo.contributors}
    by_persona: dict[str, list[str]] = {}
    for login, persona in sorted(world.personas.items(), key=lambda item: item[0].casefold()):
        if login in owners:
            by_persona.setdefault(persona, []).append(login)
    typer.echo(f"# people of each persona who own repositories (seed {seed}, {users} users)", err=True)
    for persona, logins in sorted(by_persona.items()):
        typer.echo(f"{persona}: {', '.join(logins[:per_persona])}")
