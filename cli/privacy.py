"""Privacy commands of `cmo` (keys, suppressions, audit, erasure, retention), one module each."""

from __future__ import annotations

import typer


def register_privacy_commands(app: typer.Typer) -> None:
    """Attach the privacy command groups to the main `cmo` app."""
    from cli.audit import audit_app
    from cli.erase import erase, export, purge
    from cli.keys import keys_app
    from cli.suppress import suppress_app

    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")
    app.add_typer(suppress_app, name="suppress")
    for command in (erase, export, purge):
        app.command(command.__name__)(command)
