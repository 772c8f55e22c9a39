"""The shared folding (foundation.text) and tokenising and phrase index (tools.normalize)."""

from __future__ import annotations

from foundation.text import fold
from tools.normalize import PhraseIndex, tokenize


def test_fold_removes_accents_and_case() -> None:
    assert fold("Zürich") == "zurich"
    assert fold("São Paulo") == "sao paulo"
    assert fold("Łódź") == "lodz"
    assert fold("STRASSE") == fold("Straße")


def test_tokenize_keeps_language_names_and_abbreviations_whole() -> None:
    words = [t.text for t in tokenize("C++, C#, .NET, U.S.A. and node.js, let's go") if t.kind == "word"]
    assert words == ["C++", "C#", ".NET", "U.S.A.", "and", "node", "js", "let's", "go"]
    assert [t.key for t in tokenize("U.S.")] == ["us"]


def test_phrase_index_prefers_the_longest_phrase_and_crosses_in_word_punctuation() -> None:
    index: PhraseIndex[str] = PhraseIndex()
    index.add("machine", "a machine")
    index.add("machine learning", "ML")
    index.add("ci/cd", "CI")
    matches = index.scan(tokenize("Machine-learning and CI/CD, machine"))
    assert [m.meanings for m in matches] == [("ML",), ("CI",), ("a machine",)]
