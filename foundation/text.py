"""Text folding shared by every reader of names: the goal parser, the gazetteer and the company table.

"Zürich" and "Zurich", "Straße" and "STRASSE" must compare equal wherever a goal is matched against
a profile or the sandbox's truth, so there is one `fold`; it lives here because the sandbox reads
company names too and may import only the foundation.
"""

from __future__ import annotations

import unicodedata

# Letters that Unicode does not decompose into a base letter plus accents.
_EXTRA_FOLDS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "æ": "ae", "œ": "oe", "ı": "i", "’": "'", "‘": "'"})


def fold(text: str) -> str:
    """Lowercase without accents, so that spellings with and without diacritics compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_EXTRA_FOLDS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
