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
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True)  # one line, however narrow the terminal
    raise typer.Exit(EXIT_BAD_INPUT)


def bind_keys(settings: Settings) -> None:
    """Give the service database's encrypted columns their keyring, for a command that reads or
    writes personal data through the ORM; missing keys (`cmo keys init`) are one red line."""
    from api.core.encrypted_types import bind_keyring
    from cmo.privacy.crypto import KeyringError
    from cmo.privacy.keys import get_keyring

    try:
        bind_keyring(get_keyring(settings))
    except KeyringError as exc:
        fail(str(exc))


def load_settings() -> Settings:
    """The environment's settings; an invalid value is a user error, not a crash."""
    try:
        return Settings()
    except ValidationError as exc:
        fail(f"invalid environment setting: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
