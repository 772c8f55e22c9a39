"""The goal parser's phrase index: every phrase it knows, from the vocabulary, gazetteer and company table.

One index over all kinds (languages, domains, places, companies, roles, filler) lets a single
longest-first scan decide what each stretch of the goal means, so "React component libraries" is one
domain and not "React" plus two unknown words. Typo and plural repair happen here too, before the
scan, because they must use the same word list the scan matches against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from foundation.companies import company_directory
from foundation.vocabulary import load_vocabulary
from tools.geo import PlaceRef, gazetteer
from tools.normalize import PhraseIndex, Token, phrase_key

MeaningKind = Literal[
    "language",
    "domain",
    "role",
    "people",
    "place",
    "company",
    "group",
    "exclude",
    "exclude_known",
    "include",
    "include_known",
    "stars",
    "activity",
    "scope",
    "software",
    "hint",
    "private",
    "stop",
]

_FUZZY_MIN_LENGTH = 5
_FUZZY_LONG_WORD = 10  # from this length two edits are forgiven, below it one
# Typos are repaired only towards these kinds: a place or a private-data word reached by accident
# ("recipe" -> Recife, "doing" -> doxxing) would change the goal far more than an unrepaired typo.
_FUZZY_KINDS = frozenset({"language", "domain", "role", "company", "group"})
_FUZZY_MIN_COMPANY = 6  # "apply" must not become Apple


@dataclass(frozen=True, slots=True)
class Meaning:
    """One reading of a phrase; `value` is the language, domain, role, company key, qualifier ..."""

    kind: MeaningKind
    value: str = ""
    place: PlaceRef | None = None


@dataclass(frozen=True)
class GoalIndex:
    """Phrase index plus the word sets the parser's rules consult."""

    phrases: PhraseIndex[Meaning]
    stop_words: frozenset[str]
    known_words: frozenset[str]
    fuzzy_targets: dict[str, tuple[str, ...]]
    char_triggers: dict[str, Meaning]
    followers: frozenset[str]
    prepositions: frozenset[str]
    company_followers: frozenset[str]
    ambiguous_languages: dict[str, list[list[str]]]
    example_markers: frozenset[str]
    place_only_triggers: frozenset[str]
    subject_triggers: frozenset[str]
    not_subjects: frozenset[str]
    subject_prepositions: frozenset[str]

    def correct(self, tokens: Sequence[Token], skip: frozenset[int]) -> tuple[list[Token], list[str]]:
        """Repair possessives, plurals and typos of unknown words; notes say what was read how."""
        fixed: list[Token] = []
        notes: list[str] = []
        for i, token in enumerate(tokens):
            key = token.key
            if i in skip or token.kind != "word" or key in self.known_words or key in self.stop_words:
                fixed.append(token)
                continue
            base = key[:-2] if key.endswith(("'s", "’s")) else key
            if base in self.known_words:
                fixed.append(replace(token, key=base))
            elif len(base) > 3 and base.endswith("s") and base[:-1] in self.known_words:
                fixed.append(replace(token, key=base[:-1]))
            elif not _inner_capital(token.text) and (guess := self._typo(base)):
                fixed.append(replace(token, key=guess))
                notes.append(f"'{token.text}' read as '{guess}' (typo)")
            else:
                fixed.append(token)
        return fixed, notes

    def _typo(self, word: str) -> str | None:
        """The known word within an edit or two of `word`, starting with the same letter.

        Ties count only when every tied word means the same ("contributed" -> "contribute" or
        "contributes"); otherwise guessing could change the goal.
        """
        if len(word) < _FUZZY_MIN_LENGTH or not word.isalpha():
            return None
        limit = 2 if len(word) >= _FUZZY_LONG_WORD else 1
        nearby = [c for c in self.fuzzy_targets.get(word[0], ()) if abs(len(c) - len(word)) <= limit]
        scored = [(d, c) for c in nearby if (d := _edit_distance(word, c, limit)) <= limit]
        if not scored:
            return None
        best = min(distance for distance, _ in scored)
        closest = [candidate for distance, candidate in scored if distance == best]
        readings = {self.phrases.get((candidate,)) for candidate in closest}
        unambiguous = len(closest) == 1 or (len(readings) == 1 and () not in readings)
        return closest[0] if unambiguous else None


def _inner_capital(text: str) -> bool:
    """ "OpenAPI", "GraphQL": a product name written as its makers write it, never a typo to repair."""
    return any(ch.isupper() for ch in text[1:]) and any(ch.islower() for ch in text)


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from a to b; limit + 1 once past limit."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


@lru_cache(maxsize=1)
def goal_index() -> GoalIndex:
    """Build the index once from agents/data/vocabulary.yaml, tools/data/places.yaml and foundation/data/companies.yaml."""
    vocab = load_vocabulary()
    lex = vocab.goal_parser
    index: PhraseIndex[Meaning] = PhraseIndex()
    char_triggers: dict[str, Meaning] = {}
    fuzzy_words: set[str] = set()

    def add(phrase: str, meaning: Meaning) -> None:
        key = phrase_key(phrase)
        if not key:
            char_triggers[phrase] = meaning
            return
        index.add(key, meaning)
        if meaning.kind in _FUZZY_KINDS:
            minimum = _FUZZY_MIN_COMPANY if meaning.kind in ("company", "group") else _FUZZY_MIN_LENGTH
            fuzzy_words.update(word for word in key if len(word) >= minimum and word.isalpha())

    for language, aliases in vocab.languages.items():
        for alias in (language, *aliases):
            add(alias, Meaning("language", language))
    for name, domain in vocab.domains.items():
        for alias in (name.replace("_", " "), *domain.aliases):
            add(alias, Meaning("domain", name))
    for role, role_words in lex.roles.items():
        for word in role_words:
            add(word, Meaning("role", role))
    simple: list[tuple[MeaningKind, list[str]]] = [
        ("people", lex.people_words),
        ("software", lex.software_terms),
        ("hint", lex.software_hints),
        ("private", lex.private_data),
        ("stop", lex.stop_phrases),
        ("exclude", lex.company_triggers.exclude),
        ("exclude_known", lex.company_triggers.exclude_known_only),
        ("exclude_known", lex.place_exclusion_triggers),
        ("include", lex.company_triggers.include),
        ("include_known", lex.company_triggers.include_known_only),
    ]
    for kind, phrases in simple:
        for phrase in phrases:
            add(phrase, Meaning(kind, phrase))
    for phrase, stars in lex.star_phrases.items():
        add(phrase, Meaning("stars", stars))
    for phrase, days in lex.activity_phrases.items():
        add(phrase, Meaning("activity", str(days)))
    for phrase in lex.activity_anywhere:
        add(phrase, Meaning("scope", "anywhere"))
    for phrase in lex.activity_anywhere_after:
        add(phrase, Meaning("scope", "after"))
    for place_key, refs in gazetteer().index.entries.items():
        for ref in refs:
            index.add(place_key, Meaning("place", ref.name, ref))
    directory = company_directory()
    for company, entry in directory.companies.items():
        for name in (company, entry.display, *entry.aliases):
            add(name, Meaning("company", company))
    for group_key, group in directory.groups.items():
        for name in group.aliases:
            add(name, Meaning("group", group_key))

    stop_words = frozenset(lex.stop_words)
    buckets: dict[str, list[str]] = {}
    for word in sorted(fuzzy_words - stop_words):
        buckets.setdefault(word[0], []).append(word)
    all_role_words = {word for role_words in lex.roles.values() for word in role_words}
    return GoalIndex(
        phrases=index,
        stop_words=stop_words,
        known_words=frozenset(index.words()),
        fuzzy_targets={letter: tuple(ws) for letter, ws in buckets.items()},
        char_triggers=char_triggers,
        followers=frozenset(all_role_words | set(lex.people_words) | set(lex.language_followers)),
        prepositions=frozenset(lex.language_prepositions),
        company_followers=frozenset(lex.company_followers),
        ambiguous_languages=lex.ambiguous_languages,
        example_markers=frozenset(" ".join(phrase_key(m)) or m for m in lex.example_markers),
        not_subjects=frozenset(lex.not_subjects),
        place_only_triggers=frozenset(" ".join(phrase_key(t)) for t in (*lex.place_exclusion_triggers, *lex.place_only_triggers)),
        subject_triggers=frozenset(" ".join(phrase_key(t)) for t in lex.subject_triggers),
        subject_prepositions=frozenset(lex.subject_prepositions),
    )
