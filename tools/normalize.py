"""Shared tokenising and a phrase index over `foundation.text.fold`.

The goal parser and the location gazetteer (`tools.geo`) must read text the same way: "Zürich" is
"zurich", "U.S." is one word, "machine learning" is one phrase. Company names are read by
`foundation.companies`, which the sandbox's ground truth shares.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from foundation.text import fold

T = TypeVar("T")

_TOKEN = re.compile(
    r"(?P<abbr>(?<![\w.])(?:[^\W\d_]\.){1,3}[^\W\d_](?!\w)\.?)"  # U.S., U.S.A., D.C.
    r"|(?P<word>(?<!\w)(?i:\.net)\b|[^\W\d_](?:[^\W_]|['’](?=[^\W\d_]))*(?:\+\+|#)?)"
    r"|(?P<number>\d+(?:[.,]\d+)*)"
    r"|(?P<punct>[^\w\s])"
)

# Punctuation that may sit inside one phrase ("ci/cd", "Tel Aviv-Yafo", "St. Louis").
_JOINERS = frozenset("-/.'’")


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
