"""The suppression list: people who asked not to be contacted, checked wherever a prospect can surface.

GitHub's Acceptable Use Policy (§8) and CAN-SPAM require honouring "do not contact" and opt-out
requests, so the list is loaded strictly: a malformed row stops the run with the file and line
instead of silently letting a suppressed person through.

Two sources are merged into one `SuppressionList`, with one matching API (`contains`):
- the operator's file (`CMO_SUPPRESSION_FILE`), held as plaintext sets;
- a tenant's list in the service database, held only as keyed blind indexes (HMAC of the
  normalised value) plus the tenant's hashing function, so the pipeline never needs the plaintext
  of people who objected or were erased.

File format (CSV, UTF-8, header required):

    kind,value
    github_id,583231
    login,octocat
    email,someone@example.com
    domain,example.org

A value that starts with a quote before `=`, `+`, `-` or `@` loses that one quote, as every CSV we
write is neutralised against formula injection (`foundation.csv_cells`) and must read back as it was.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from foundation.csv_cells import restore_cell

if TYPE_CHECKING:
    from foundation.schemas import Prospect

SuppressionKind = Literal["github_id", "login", "email", "domain"]
KINDS: tuple[SuppressionKind, ...] = ("github_id", "login", "email", "domain")
Hasher = Callable[[str], str]  # normalised value -> blind index (a tenant's keyed HMAC)

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_LOGIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38})$")  # GitHub: letters, digits, hyphens; 39 at most
_EMAIL_LOCAL = re.compile(r"^[^\s@\"(),:;<>\[\]\\]{1,64}$")
_MAX_EMAIL = 254


class SuppressionFileError(ValueError):
    """The suppression file is missing or has a row we cannot trust (names the file and line)."""


def normalize_entry(kind: str, value: str) -> tuple[SuppressionKind, str]:
    """The canonical (kind, value) of one entry: lowercased, trimmed, checked against its kind's shape.

    Raises ValueError with a message fit for the user (callers add where the value came from).
    The canonical form is what the blind index hashes, so every writer and reader must go through it.
    """
    kind, value = kind.strip().lower(), value.strip().lower()
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (use one of {', '.join(KINDS)})")
    if not value:
        raise ValueError(f"empty value for kind {kind!r}")
    if kind == "github_id":
        if not value.isascii() or not value.isdigit():
            raise ValueError(f"github_id must be a number, found {value!r}")
        value = str(int(value))
    elif kind == "login" and not _LOGIN.match(value):
        raise ValueError(f"{value!r} is not a GitHub login (letters, digits and hyphens, at most 39)")
    elif kind == "email":
        local, _, domain = value.rpartition("@")
        if len(value) > _MAX_EMAIL or not _EMAIL_LOCAL.match(local) or not _DOMAIN.match(domain):
            raise ValueError(f"{value!r} is not an email address")
    elif kind == "domain":
        value = value.removeprefix("@")
        if not _DOMAIN.match(value):
            raise ValueError(f"{value!r} is not a domain name")
    return kind, value  # `kind in KINDS` narrowed it to a SuppressionKind


def identifiers(
    *, github_id: int | None = None, login: str | None = None, email: str | None = None
) -> Iterator[tuple[SuppressionKind, str]]:
    """The normalised (kind, value) pairs a person is looked up by: an email also yields its domain
    and every parent domain (a suppressed `corp.com` covers `dev@eu.corp.com`)."""
    if github_id is not None:
        yield "github_id", str(github_id)
    if login:
        yield "login", login.strip().lower()
    if not email:
        return
    address = email.strip().lower()
    yield "email", address
    labels = address.rpartition("@")[2].split(".")
    for i in range(len(labels) - 1):
        yield "domain", ".".join(labels[i:])


@dataclass(frozen=True)
class BlindIndexes:
    """Suppressed identifiers known only by their blind index, with the function that made them."""

    hasher: Hasher
    entries: frozenset[tuple[SuppressionKind, str]]

    def has(self, kind: SuppressionKind, value: str) -> bool:
        return (kind, self.hasher(value)) in self.entries


@dataclass(frozen=True)
class SuppressionList:
    """Suppressed GitHub ids, logins, emails and email domains (plaintext, lowercased), plus any
    number of blind-indexed lists (a tenant's, from the service database)."""

    github_ids: frozenset[int] = field(default_factory=frozenset)
    logins: frozenset[str] = field(default_factory=frozenset)
    emails: frozenset[str] = field(default_factory=frozenset)
    domains: frozenset[str] = field(default_factory=frozenset)
    blind: tuple[BlindIndexes, ...] = ()

    @classmethod
    def empty(cls) -> SuppressionList:
        """No one suppressed (tests, and runs without `CMO_SUPPRESSION_FILE`)."""
        return cls()

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[SuppressionKind, str]]) -> SuppressionList:
        """A plaintext list from already normalised (kind, value) pairs."""
        by_kind: dict[SuppressionKind, set[str]] = {kind: set() for kind in KINDS}
        for kind, value in entries:
            by_kind[kind].add(value)
        return cls(
            github_ids=frozenset(int(value) for value in by_kind["github_id"]),
            logins=frozenset(by_kind["login"]),
            emails=frozenset(by_kind["email"]),
            domains=frozenset(by_kind["domain"]),
        )

    @classmethod
    def from_blind_indexes(cls, hasher: Hasher, entries: Iterable[tuple[SuppressionKind, str]]) -> SuppressionList:
        """A list of (kind, blind index) pairs; `hasher` turns a normalised value into its index."""
        return cls(blind=(BlindIndexes(hasher, frozenset(entries)),))

    @classmethod
    def load(cls, path: Path | None) -> SuppressionList:
        """Read a `kind,value` CSV; None means "no file configured" and gives an empty list."""
        if path is None:
            return cls.empty()
        if not path.is_file():
            raise SuppressionFileError(f"suppression file {path} does not exist (check CMO_SUPPRESSION_FILE)")
        with path.open(newline="", encoding="utf-8-sig") as handle:
            parsed = parse_csv(handle)
        if parsed.errors:
            line, why = parsed.errors[0]
            raise SuppressionFileError(f"{path}:{line}: {why}")
        return cls.from_entries(parsed.entries)

    def merged(self, other: SuppressionList) -> SuppressionList:
        """Everyone suppressed by either list (the operator's file and a tenant's database list)."""
        return SuppressionList(
            github_ids=self.github_ids | other.github_ids,
            logins=self.logins | other.logins,
            emails=self.emails | other.emails,
            domains=self.domains | other.domains,
            blind=self.blind + other.blind,
        )

    def contains(self, *, github_id: int | None = None, login: str | None = None, email: str | None = None) -> bool:
        """True when any identifier is suppressed; an email also matches its domain and parent domains."""
        return self._has_any(identifiers(github_id=github_id, login=login, email=email))

    def contains_prospect(self, prospect: Prospect) -> bool:
        """True when the prospect's id, email, login or any login merged into it is suppressed."""
        pairs = set(identifiers(github_id=prospect.github_id, email=prospect.email))
        pairs.update(pair for login in [prospect.username, *prospect.merged_logins] for pair in identifiers(login=login))
        return self._has_any(pairs)  # each identifier hashed once, however many logins were merged

    def _has_any(self, pairs: Iterable[tuple[SuppressionKind, str]]) -> bool:
        return any(self._has_plain(kind, value) or any(index.has(kind, value) for index in self.blind) for kind, value in pairs)

    def _has_plain(self, kind: SuppressionKind, value: str) -> bool:
        if kind == "github_id":
            return int(value) in self.github_ids
        return value in {"login": self.logins, "email": self.emails, "domain": self.domains}[kind]

    def __len__(self) -> int:
        plain = len(self.github_ids) + len(self.logins) + len(self.emails) + len(self.domains)
        return plain + sum(len(index.entries) for index in self.blind)


@dataclass
class ParsedCsv:
    """A `kind,value` CSV read to the end: normalised entries and every bad row, by line number."""

    entries: list[tuple[SuppressionKind, str]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)


def parse_csv(lines: Iterable[str]) -> ParsedCsv:
    """Read every row (blank ones skipped), so an importer can report all bad rows at once."""
    parsed = ParsedCsv()
    reader = csv.reader(lines)
    header = [cell.strip().lower() for cell in next(reader, [])]
    if header != ["kind", "value"]:
        parsed.errors.append((1, f"expected the header 'kind,value', found {','.join(header)!r}"))
        return parsed
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        try:
            parsed.entries.append(check_row(row))
        except ValueError as exc:
            parsed.errors.append((reader.line_num, str(exc)))
    return parsed


def check_row(row: list[str]) -> tuple[SuppressionKind, str]:
    """One `kind,value` data row, normalised; ValueError says what is wrong with it. A value our
    export neutralised against formula injection (`'=x@example.com`) reads back as it was."""
    if len(row) != 2:
        raise ValueError(f"expected 2 columns (kind,value), found {len(row)}")
    return normalize_entry(row[0], restore_cell(row[1]))
