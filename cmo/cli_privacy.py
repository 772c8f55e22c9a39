"""Privacy commands of `cmo` (keys, suppressions, audit, erasure, retention), one module each."""

from __future__ import annotations

import typer


def register_privacy_commands(app: typer.Typer) -> None:
    """Attach the privacy command groups to the main `cmo` app."""
