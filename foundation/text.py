"""Text folding shared by every reader of names: the goal parser, the gazetteer and the company table.

"Zürich" and "Zurich", "Straße" and "STRASSE" must compare equal wherever a goal is matched against
a profile or the sandbox's truth, so there is one `fold`; it lives here because the sandbox reads
company names too and may import only the foundation. `subject_words` is the same idea for what a
repository is about: its name, topics and description read as words that compare equal whatever
their case, separators ("wasm-runtime", "wasm_runtime") or number ("runtimes"). Camel case is not split:
"WebAssembly" and "GraphQL" are one word in a goal as in a description.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Letters that Unicode does not decompose into a base letter plus accents.
_EXTRA_FOLDS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "æ": "ae", "œ": "oe", "ı": "i", "’": "'", "‘": "'"})


def fold(text: str) -> str:
    """Lowercase without accents, so that spellings with and without diacritics compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_EXTRA_FOLDS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_SUBJECT_WORD = re.compile(r"[a-z0-9][a-z0-9+#]*")


def singular(word: str) -> str:
    """A crude English singular ("libraries" -> "library", "runtimes" -> "runtime"; "redis" and
    "bioinformatics" stay).

    Applied to both sides of every comparison, so its misses ("matches" -> "matche") still compare
    equal; it never has to be right, only the same.
    """
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ics")):
        return word[:-1]
    return word


@lru_cache(maxsize=1 << 14)  # every domain of the vocabulary reads the same description
def subject_words(text: str | None) -> str:
    """`text` as space-padded singular words ("Fast WASM-Runtimes" -> " fast wasm runtime "), so a
    phrase matches whole words only: " react " is in " react component " but not in " reactive "."""
    return " " + " ".join(singular(word) for word in _SUBJECT_WORD.findall(fold(text or ""))) + " "


def is_one_header_line(text: str) -> bool:
    """Whether `text` can be a mail header value as it is: no control character (CR, LF, NUL, ...) and
    no other line or paragraph separator (U+2028, U+2029): each would split the header or be refused."""
    return not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text)
