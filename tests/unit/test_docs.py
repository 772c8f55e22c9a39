"""The README cannot drift from the code: every setting has a row in its Configuration table, and
every `cmo` command and sub-command a row in its Commands table (foundation/settings.py promises the first;
nothing enforced either before)."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from cli.main import app
from foundation.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def table_first_cells(section: str) -> list[str]:
    """The first cell of every row of the tables under the README's `## <section>` heading."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no '## {section}' section"
    cells = []
    for line in match.group(1).splitlines():
        if line.startswith("|") and not re.match(r"^\|\s*-", line):
            cells.append(re.split(r"(?<!\\)\|", line)[1].strip())
    return cells[1:] if cells else cells  # the header row


def code_spans(cells: list[str]) -> list[str]:
    return [span.replace("\\|", "|") for cell in cells for span in re.findall(r"`([^`]+)`", cell)]


def command_paths() -> list[tuple[str, ...]]:
    """Every visible top-level command, and every sub-command of the groups, of the `cmo` app."""
    root = typer.main.get_command(app)
    paths: list[tuple[str, ...]] = []
    for name, command in getattr(root, "commands", {}).items():
        if command.hidden:
            continue
        paths.append((name,))
        subcommands = getattr(command, "commands", None) or {}  # a group (typer vendors its own click)
        paths += [(name, sub) for sub, child in subcommands.items() if not child.hidden]
    return paths


def test_every_setting_has_a_row_in_the_configuration_table() -> None:
    documented = {
        name for span in code_spans(table_first_cells("Configuration")) for name in re.findall(r"[A-Z][A-Z0-9_]+", span)
    }
    missing = sorted(field.upper() for field in Settings.model_fields if field.upper() not in documented)
    assert not missing, f"settings without a row in README.md's Configuration table: {missing}"


def test_the_configuration_table_lists_no_setting_that_does_not_exist() -> None:
    documented = {span for span in code_spans(table_first_cells("Configuration")) if re.fullmatch(r"[A-Z][A-Z0-9_]+", span)}
    unknown = sorted(documented - {field.upper() for field in Settings.model_fields})
    assert not unknown, f"README.md's Configuration table documents variables Settings does not read: {unknown}"


def test_every_command_and_sub_command_has_a_row_in_the_commands_table() -> None:
    spans = [span.split() for span in code_spans(table_first_cells("Commands")) if span.startswith("cmo ")]
    paths = command_paths()
    assert ("keys", "rotate") in paths and ("purge",) in paths, "the app's commands were enumerated"

    def documented(path: tuple[str, ...]) -> bool:
        for words in spans:
            if words[1] != path[0]:
                continue
            if len(path) == 1:
                return True
            if len(words) < 3:
                continue
            # `cmo group sub ...`, or `cmo group a / b / c` listing several sub-commands in one row
            alternatives = {part for word in words[2:] for part in word.split("|") if part and part != "/"}
            if path[1] == words[2] or (path[1] in alternatives and "/" in words):
                return True
        return False

    missing = [" ".join(("cmo", *path)) for path in paths if not documented(path)]
    assert not missing, f"commands without a row in README.md's Commands table: {missing}"
