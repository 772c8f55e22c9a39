"""`cli.common`: how the CLI reports a user error."""

from __future__ import annotations

import pytest
import typer

from cli.common import fail


def test_an_error_message_is_printed_as_text_not_markup(capsys: pytest.CaptureFixture[str]) -> None:
    """Messages quote vendors' and GitHub's words: a stray `[/` raised rich's MarkupError instead."""
    with pytest.raises(typer.Exit) as exited:
        fail("HubSpot said: property [/bold] is [red]unknown")
    assert exited.value.exit_code == 2
    assert "property [/bold] is [red]unknown" in capsys.readouterr().err
