"""The suppression list: strict loading (file and line in every error) and case-insensitive matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from foundation.csv_cells import csv_text
from tools.suppression import SuppressionFileError, SuppressionList


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suppression.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_configured_means_empty_list() -> None:
    suppression = SuppressionList.load(None)
    assert suppression == SuppressionList.empty()
    assert len(suppression) == 0
    assert not suppression.contains(github_id=1, login="octocat", email="octocat@github.com")


def test_loads_every_kind_case_insensitively(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\ufeffKind,Value\ngithub_id,583231\nlogin,OctoCat\n\nemail,Someone@Example.com\ndomain,@BigCorp.io\n",
    )
    suppression = SuppressionList.load(path)
    assert len(suppression) == 4
    assert suppression.contains(github_id=583231, login=None, email=None)
    assert suppression.contains(github_id=None, login="octocat", email=None)
    assert suppression.contains(github_id=None, login=None, email="someone@example.COM")
    assert suppression.contains(github_id=None, login=None, email="ceo@bigcorp.io")
    assert suppression.contains(github_id=None, login=None, email="dev@eu.bigcorp.io"), "subdomains of a domain"
    assert not suppression.contains(github_id=1, login="hubot", email="someone@example.org")
    assert not suppression.contains(github_id=None, login=None, email="dev@notbigcorp.io")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(SuppressionFileError, match=r"nope\.csv"):
        SuppressionList.load(missing)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("login,value\nlogin,octocat\n", ":1:", "header"),
        ("kind,value\nlogin,octocat\nphone,555\n", ":3:", "unknown kind"),
        ("kind,value\ngithub_id,abc\n", ":2:", "must be a number"),
        ("kind,value\nlogin,octocat,extra\n", ":2:", "2 columns"),
        ("kind,value\nemail,not-an-email\n", ":2:", "not an email"),
        ("kind,value\ndomain,localhost\n", ":2:", "not a domain"),
        ("kind,value\nlogin,\n", ":2:", "empty value"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path: Path, text: str, where: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SuppressionFileError, match=message) as error:
        SuppressionList.load(path)
    assert f"{path}{where}" in str(error.value)


def test_a_file_neutralised_against_formula_injection_reads_back_exactly(tmp_path: Path) -> None:
    """Our exports prefix a quote to values a spreadsheet would run; loading takes exactly that quote off."""
    values = ["=1+1@evil.example", "+tag@corp.example", "-dash@corp.example", "'=quoted@corp.example"]
    path = tmp_path / "suppression.csv"
    path.write_text(csv_text(["kind", "value"], [{"kind": "email", "value": v} for v in values]), encoding="utf-8", newline="")
    assert "\nemail,'=1+1@evil.example" in path.read_text(encoding="utf-8").replace("\r\n", "\n")
    suppression = SuppressionList.load(path)
    assert suppression.emails == frozenset(values)
    assert not suppression.contains(email="'+tag@corp.example")
