"""The suppression list: people who asked not to be contacted, checked before any message is approved.

GitHub's Acceptable Use Policy (§8) and CAN-SPAM require honouring "do not contact" and opt-out
requests, so the list is loaded strictly: a malformed row stops the run with the file and line
instead of silently letting a suppressed person through.

File format (CSV, UTF-8, header required):

    kind,value
    github_id,583231
    login,octocat
    email,someone@example.com
    domain,example.org
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

SuppressionKind = Literal["github_id", "login", "email", "domain"]
_KINDS: tuple[SuppressionKind, ...] = ("github_id", "login", "email", "domain")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


class SuppressionFileError(ValueError):
    """The suppression file is missing or has a row we cannot trust (names the file and line)."""


@dataclass(frozen=True)
class SuppressionList:
    """Suppressed GitHub ids, logins, emails and email domains (all text lowercased)."""

    github_ids: frozenset[int] = field(default_factory=frozenset)
    logins: frozenset[str] = field(default_factory=frozenset)
    emails: frozenset[str] = field(default_factory=frozenset)
    domains: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def empty(cls) -> SuppressionList:
        """No one suppressed (tests, and runs without `CMO_SUPPRESSION_FILE`)."""
        return cls()

    @classmethod
    def load(cls, path: Path | None) -> SuppressionList:
        """Read a `kind,value` CSV; None means "no file configured" and gives an empty list."""
        if path is None:
            return cls.empty()
        if not path.is_file():
            raise SuppressionFileError(f"suppression file {path} does not exist (check CMO_SUPPRESSION_FILE)")
        entries: dict[SuppressionKind, set[str]] = {kind: set() for kind in _KINDS}
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [cell.strip().lower() for cell in next(reader, [])]
            if header != ["kind", "value"]:
                raise SuppressionFileError(f"{path}:1: expected the header 'kind,value', found {','.join(header)!r}")
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                kind, value = _parse_row(row, f"{path}:{reader.line_num}")
                entries[kind].add(value)
        return cls(
            github_ids=frozenset(int(value) for value in entries["github_id"]),
            logins=frozenset(entries["login"]),
            emails=frozenset(entries["email"]),
            domains=frozenset(entries["domain"]),
        )

    def contains(self, *, github_id: int | None = None, login: str | None = None, email: str | None = None) -> bool:
        """True when any identifier is suppressed; an email also matches its domain and parent domains."""
        if github_id is not None and github_id in self.github_ids:
            return True
        if login and login.lower() in self.logins:
            return True
        if not email:
            return False
        address = email.strip().lower()
        if address in self.emails:
            return True
        domain = address.rpartition("@")[2]
        labels = domain.split(".")
        return any(".".join(labels[i:]) in self.domains for i in range(len(labels) - 1))

    def __len__(self) -> int:
        return len(self.github_ids) + len(self.logins) + len(self.emails) + len(self.domains)


def _parse_row(row: list[str], where: str) -> tuple[SuppressionKind, str]:
    """Validate one data row; `where` is "file:line" for the error message."""
    if len(row) != 2:
        raise SuppressionFileError(f"{where}: expected 2 columns (kind,value), found {len(row)}")
    kind, value = row[0].strip().lower(), row[1].strip().lower()
    if kind not in _KINDS:
        raise SuppressionFileError(f"{where}: unknown kind {kind!r} (use one of {', '.join(_KINDS)})")
    if not value:
        raise SuppressionFileError(f"{where}: empty value for kind {kind!r}")
    if kind == "github_id" and not value.isdigit():
        raise SuppressionFileError(f"{where}: github_id must be a number, found {value!r}")
    if kind == "email" and (value.count("@") != 1 or not all(value.split("@"))):
        raise SuppressionFileError(f"{where}: {value!r} is not an email address")
    if kind == "domain":
        value = value.removeprefix("@")
        if not _DOMAIN.match(value):
            raise SuppressionFileError(f"{where}: {value!r} is not a domain name")
    return cast(SuppressionKind, kind), value
