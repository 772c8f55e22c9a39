"""Shared text folding and tokenising, a phrase index, and company-name normalisation.

The goal parser, the location gazetteer (`tools.geo`) and the enricher must read text the same way:
"Zürich" is "zurich", "U.S." is one word, and a goal's "excluding Google" must match a profile's
"Google Inc." or "@google". Keeping the folding, tokenising and company keys in one module is what
makes those comparisons agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, Field

T = TypeVar("T")

# Letters that Unicode does not decompose into a base letter plus accents.
_EXTRA_FOLDS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "æ": "ae", "œ": "oe", "ı": "i", "’": "'", "‘": "'"})

_TOKEN = re.compile(
    r"(?P<abbr>(?<![\w.])(?:[^\W\d_]\.){1,3}[^\W\d_](?!\w)\.?)"  # U.S., U.S.A., D.C.
    r"|(?P<word>(?<!\w)(?i:\.net)\b|[^\W\d_](?:[^\W_]|['’](?=[^\W\d_]))*(?:\+\+|#)?)"
    r"|(?P<number>\d+(?:[.,]\d+)*)"
    r"|(?P<punct>[^\w\s])"
)

# Punctuation that may sit inside one phrase ("ci/cd", "Tel Aviv-Yafo", "St. Louis").
_JOINERS = frozenset("-/.'’")


def fold(text: str) -> str:
    """Lowercase without accents, so that spellings with and without diacritics compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_EXTRA_FOLDS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True, slots=True)
class Token:
    """One word, number or punctuation mark, with its folded key and its place in the text."""

    text: str
    key: str
    start: int
    end: int
    kind: Literal["word", "number", "punct"]

    @property
    def capitalised(self) -> bool:
        return self.text[:1].isupper()

    @property
    def all_caps(self) -> bool:
        letters = [ch for ch in self.text if ch.isalpha()]
        return bool(letters) and all(ch.isupper() for ch in letters)


def tokenize(text: str) -> list[Token]:
    """Split text into tokens; "C++", "C#", ".NET", "U.S." and "let's" stay single words."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "punct"
        surface = match.group()
        key = fold(surface).replace(".", "") if kind == "abbr" else fold(surface)
        tokens.append(Token(surface, key, match.start(), match.end(), "word" if kind == "abbr" else kind))  # type: ignore[arg-type]
    return tokens


def phrase_key(text: str) -> tuple[str, ...]:
    """The word keys of a phrase, as `PhraseIndex` stores and matches them."""
    return tuple(token.key for token in tokenize(text) if token.kind != "punct")


@dataclass(frozen=True, slots=True)
class PhraseMatch(Generic[T]):
    """Tokens `start:end` (end exclusive) read as one phrase with these meanings."""

    start: int
    end: int
    meanings: tuple[T, ...]


Accept = Callable[[Sequence[Token], int, int, tuple[T, ...]], tuple[T, ...]]


@dataclass
class PhraseIndex(Generic[T]):
    """Multi-word phrases -> meanings, matched longest-first so "machine learning" beats "machine"."""

    entries: dict[tuple[str, ...], list[T]] = field(default_factory=dict)
    max_words: int = 1

    def add(self, phrase: str | tuple[str, ...], meaning: T) -> None:
        key = phrase_key(phrase) if isinstance(phrase, str) else phrase
        if not key:
            return
        meanings = self.entries.setdefault(key, [])
        if meaning not in meanings:
            meanings.append(meaning)
        self.max_words = max(self.max_words, len(key))

    def get(self, words: tuple[str, ...]) -> tuple[T, ...]:
        return tuple(self.entries.get(words, ()))

    def words(self) -> Iterable[str]:
        """Every single word that appears in some phrase (for typo correction)."""
        return {word for key in self.entries for word in key}

    def scan(
        self, tokens: Sequence[Token], accept: Accept[T] | None = None, skip: frozenset[int] = frozenset()
    ) -> list[PhraseMatch[T]]:
        """Longest-first matches over `tokens`; `accept` may veto meanings given the surface text."""
        found: list[PhraseMatch[T]] = []
        i = 0
        while i < len(tokens):
            if tokens[i].kind == "punct" or i in skip:
                i += 1
                continue
            spans = self._spans(tokens, i, skip)
            for end, words in reversed(spans):
                meanings = self.get(words)
                if meanings and accept is not None:
                    meanings = accept(tokens, i, end, meanings)
                if meanings:
                    found.append(PhraseMatch(i, end, meanings))
                    i = end
                    break
            else:
                i += 1
        return found

    def _spans(self, tokens: Sequence[Token], start: int, skip: frozenset[int]) -> list[tuple[int, tuple[str, ...]]]:
        """(end, words) for each phrase length from `start`, crossing only in-word punctuation."""
        spans: list[tuple[int, tuple[str, ...]]] = []
        words: list[str] = []
        j = start
        while j < len(tokens) and len(words) < self.max_words and j not in skip:
            token = tokens[j]
            if token.kind == "punct":
                if token.text not in _JOINERS or not words:
                    break
            else:
                words.append(token.key)
                spans.append((j + 1, tuple(words)))
            j += 1
        return spans


# ---------------------------------------------------------------------------------------------
# Companies


class CompanyEntry(BaseModel):
    display: str
    aliases: list[str] = Field(default_factory=list)
    note: str | None = None


class CompanyGroup(BaseModel):
    display: str
    aliases: list[str]
    members: list[str]


class CompanyFile(BaseModel):
    version: int
    companies: dict[str, CompanyEntry]
    groups: dict[str, CompanyGroup]
    legal_suffixes: list[str]


@dataclass(frozen=True)
class CompanyDirectory:
    """`tools/data/companies.yaml` with the lookups derived from it."""

    companies: dict[str, CompanyEntry]
    groups: dict[str, CompanyGroup]
    suffixes: tuple[tuple[str, ...], ...]
    alias_to_key: dict[str, str]

    def members(self, group: str) -> list[str]:
        """Display names of a group's companies, in the file's order."""
        return [self.companies[key].display for key in self.groups[group].members]


_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_SEPARATORS = re.compile(r"[,|;/·•]|\s[-–—]\s")
_FORMER = re.compile(r"\b(?:ex|former(?:ly)?|previously)\b", re.IGNORECASE)
_HANDLE = re.compile(r"@(\w[\w.\-]*)")


def company_key(text: str) -> str:
    """Folded words of a name without punctuation: "AT&T" -> "att", "Red-Hat" -> "red hat"."""
    squeezed = re.sub(r"[&.'’]", "", fold(text))
    return " ".join(re.sub(r"[\W_]+", " ", squeezed).split())


def _strip_suffixes(words: list[str], keys: list[str], suffixes: tuple[tuple[str, ...], ...]) -> list[str]:
    """Drop trailing legal-form words and a leading "the", never the whole name."""
    while True:
        while len(keys) > 1 and not keys[-1]:
            words, keys = words[:-1], keys[:-1]
        for suffix in suffixes:
            n = len(suffix)
            if len(keys) > n and tuple(keys[-n:]) == suffix:
                words, keys = words[:-n], keys[:-n]
                break
        else:
            break
    if len(keys) > 1 and keys[0] == "the":
        words = words[1:]
    return words


def _bare_key(name: str, suffixes: tuple[tuple[str, ...], ...]) -> str:
    keys = company_key(name).split()
    return " ".join(_strip_suffixes(keys, keys, suffixes))


@lru_cache(maxsize=1)
def company_directory() -> CompanyDirectory:
    raw = yaml.safe_load(resources.files("tools").joinpath("data/companies.yaml").read_text(encoding="utf-8"))
    data = CompanyFile.model_validate(raw)
    suffixes = tuple(sorted((tuple(s.split()) for s in data.legal_suffixes), key=len, reverse=True))
    alias_to_key: dict[str, str] = {}
    for key, entry in data.companies.items():
        for name in (key, entry.display, *entry.aliases):
            alias_to_key.setdefault(_bare_key(name, suffixes), key)
    return CompanyDirectory(data.companies, data.groups, suffixes, alias_to_key)


def _first_org(raw: str | None) -> str | None:
    """The first organisation named in a profile's company field, as written.

    "@google @kubernetes" -> "google"; "Google (ex-Meta)" -> "Google"; "ex-Meta, Google" -> "Google".
    """
    if not raw:
        return None
    for part in _SEPARATORS.split(_PARENS.sub(" ", raw)):
        current = _FORMER.split(part, maxsplit=1)[0]
        handle = _HANDLE.search(current)
        candidate = (handle.group(1) if handle else current).strip(" \t@.-_'\"")
        if company_key(candidate):
            return candidate
    return None


def canonical_company(raw: str | None) -> str | None:
    """A lowercase key that is equal for every spelling of one company ("Facebook, Inc." -> "meta")."""
    org = _first_org(raw)
    if org is None:
        return None
    directory = company_directory()
    key = _bare_key(org, directory.suffixes)
    return directory.alias_to_key.get(key, key) or None


def display_company(raw: str | None) -> str | None:
    """A clean name to show: the alias table's display name, else the name without legal suffix."""
    org = _first_org(raw)
    if org is None:
        return None
    directory = company_directory()
    key = canonical_company(org)
    if key in directory.companies:
        return directory.companies[key].display
    words = org.split()
    kept = _strip_suffixes(words, [company_key(word) for word in words], directory.suffixes)
    return " ".join(kept).strip(" ,.") or None


def company_matches(raw: str | None, names: list[str]) -> bool:
    """True when `raw` names the same company as one of `names` ("@Google" ~ "Google", "Facebook" ~ "Meta")."""
    key = canonical_company(raw)
    return key is not None and any(canonical_company(name) == key for name in names)
