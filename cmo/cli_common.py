"""What every `cmo` command shares: the stderr console, one-line failures, validated settings."""

from __future__ import annotations

from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from cmo.runner import EXIT_BAD_INPUT
from cmo.settings import Settings

console = Console(stderr=True)


def fail(message: str) -> NoReturn:
    """A user error: one red line on stderr and exit code 2, never a traceback."""
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(EXIT_BAD_INPUT)


def load_settings() -> Settings:
    """The environment's settings; an invalid value is a user error, not a crash."""
    try:
        return Settings()
    except ValidationError as exc:
        fail(f"invalid environment setting: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
