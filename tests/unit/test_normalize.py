"""Company keys, display names and matching; the shared folding and tokenising (tools.normalize)."""

from __future__ import annotations

import pytest

from tools.normalize import (
    PhraseIndex,
    canonical_company,
    company_directory,
    company_matches,
    display_company,
    fold,
    tokenize,
)

CANONICAL = [
    ("Google", "google"),
    ("Google Inc.", "google"),
    ("Google LLC", "google"),
    ("@google", "google"),
    ("  @Google  ", "google"),
    ("Alphabet", "google"),
    ("@google @kubernetes", "google"),
    ("Google (ex-Meta)", "google"),
    ("ex-Meta, Google", "google"),
    ("Facebook", "meta"),
    ("Meta Platforms, Inc.", "meta"),
    ("Meta Platforms Inc", "meta"),
    ("AWS", "amazon"),
    ("Amazon Web Services", "amazon"),
    ("MSFT", "microsoft"),
    ("Microsoft Research", "microsoft"),
    ("Microsoft Corporation", "microsoft"),
    ("DeepMind", "deepmind"),
    ("Google DeepMind", "deepmind"),
    ("Red Hat, Inc.", "red hat"),
    ("RedHat", "red hat"),
    ("Acme GmbH", "acme"),
    ("Acme GmbH & Co. KG", "acme"),
    ("Acme Ltd", "acme"),
    ("Acme Corp.", "acme"),
    ("Acme Co.", "acme"),
    ("Acme S.A.", "acme"),
    ("The Linux Foundation", "linux foundation"),
    ("Zürich Insurance", "zurich insurance"),
    ("Stripe | Payments", "stripe"),
    ("Working at @stripe", "stripe"),
]


@pytest.mark.parametrize(("raw", "key"), CANONICAL, ids=[raw for raw, _ in CANONICAL])
def test_canonical_company(raw: str, key: str) -> None:
    assert canonical_company(raw) == key


@pytest.mark.parametrize("raw", [None, "", "   ", "@", "()", "-"])
def test_no_company(raw: str | None) -> None:
    assert canonical_company(raw) is None
    assert display_company(raw) is None


DISPLAY = [
    ("Google Inc.", "Google"),
    ("@microsoft", "Microsoft"),
    ("facebook", "Meta"),
    ("Meta Platforms, Inc.", "Meta"),
    ("aws", "Amazon"),
    ("@google @kubernetes", "Google"),
    ("Acme Labs GmbH", "Acme Labs"),
    ("Initech, Inc.", "Initech"),
    ("@tiny-startup", "tiny-startup"),
    ("Hugging Face", "Hugging Face"),
]


@pytest.mark.parametrize(("raw", "shown"), DISPLAY, ids=[raw for raw, _ in DISPLAY])
def test_display_company(raw: str, shown: str) -> None:
    assert display_company(raw) == shown


@pytest.mark.parametrize(
    ("raw", "names", "expected"),
    [
        ("@Google", ["Google"], True),
        ("Facebook", ["Meta"], True),
        ("Meta Platforms, Inc.", ["Microsoft", "Meta"], True),
        ("Amazon Web Services", ["Amazon"], True),
        ("DeepMind", ["Google"], False),
        ("Googleplex Fans", ["Google"], False),
        ("Acme Corp", ["acme"], True),
        (None, ["Google"], False),
        ("Google", [], False),
    ],
)
def test_company_matches(raw: str | None, names: list[str], expected: bool) -> None:
    assert company_matches(raw, names) is expected


def test_groups_expand_to_display_names() -> None:
    directory = company_directory()
    assert directory.members("faang") == ["Meta", "Apple", "Amazon", "Netflix", "Google"]
    assert set(directory.members("big tech")) == {"Meta", "Apple", "Amazon", "Netflix", "Google", "Microsoft"}


def test_every_alias_points_at_a_known_company() -> None:
    directory = company_directory()
    assert set(directory.alias_to_key.values()) <= set(directory.companies)
    for group in directory.groups.values():
        assert set(group.members) <= set(directory.companies)


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
