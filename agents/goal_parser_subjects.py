"""What a goal is about: the subjects it names, how they combine, and its words outside the vocabulary.

`goal_parser_reading` finds where the goal names vocabulary domains; this module decides what they
mean together, the way the words are joined:
- next to each other, or joined by filler ("Vue design systems", "security tools for Kubernetes"):
  one subject that needs both (`vue+ui_components`); also across role words ("React developers
  who build component libraries");
- joined by "and", "or", a comma or a slash ("databases or CLI tools"): alternatives; a framework
  listed before a sibling's phrase shares its head ("React or Vue component libraries" is
  react_components or vue+ui_components);
- after "like", "such as", "(" ...: examples of the broader subject before them ("web frameworks
  like Django" stays web frameworks).
A named member narrows its broader domain ("Kotlin Android" is android, never iOS; "mobile" with
"Flutter" is Flutter), and a subject after a negation is left out, never targeted.

A word the vocabulary does not know is kept as a keyword (a repo must name it) where it stands as
a subject would: shaped like a technology name ("WebAssembly", "gRPC", "RAG"), right before a
subject, software or role word ("Tauri apps", "Neovim plugin authors"), right after a subject
("Terraform providers"), before the language it is built in ("bioinformatics pipelines in Python"),
or after "of", "on", "behind" ... following a role, software or filler word ("maintainers of
WebAssembly runtimes", "people working on Tauri"; not "the land of beer").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import product
from typing import Literal

from agents.goal_parser_reading import Reading
from foundation.text import singular
from foundation.vocabulary import Vocabulary, load_vocabulary

Join = Literal["next", "or", "example", "far"]
_LIST_JOINS = frozenset({",", "/", "&", "+", "and", "or", "nor", "also", "plus", "as well as", "and/or"})
_CLAUSE_ENDS = frozenset(".;:!?")
# Items that do not separate two subjects: filler, languages, software words, unknown words.
_TRANSPARENT_KINDS = frozenset({"language", "software", "hint", "stop"})
_HEAD_KINDS = frozenset({"domain", "software", "hint", "role", "people"})
_RESTRICTED_PREPOSITIONS = frozenset({"to", "for"})
_MAX_SUBJECTS = 8


@dataclass
class Subjects:
    """The audience's subject fields, read from one goal."""

    domains: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    exclude_domains: list[str] = field(default_factory=list)
    exclude_keywords: list[str] = field(default_factory=list)


def read_subjects(reading: Reading) -> Subjects:
    """The subjects `reading` names (see the module docstring); keyword words leave `reading.ignored`."""
    vocabulary = load_vocabulary()
    subjects = Subjects(domains=_combine(reading, vocabulary))
    excluded = [vocabulary.subject([domain]) for _, domain in reading.excluded_subjects]
    subjects.exclude_domains = [d for d in dict.fromkeys(excluded) if d not in subjects.domains]
    subjects.exclude_keywords = list(dict.fromkeys(singular(word) for _, word in reading.excluded_words))
    used: set[int] = set()
    for run in _keyword_runs(reading):
        used.update(run)
        words = [singular(reading.key(reading.items[i])) for i in run]
        subjects.keywords += [w for w in words if w not in subjects.keywords]
        kept = (
            f"keywords {', '.join(words)} (a repo must name each"
            if len(words) > 1
            else f"keyword {words[0]} (a repo must name it"
        )
        reading.notes.append(
            f"'{reading.span_text(run[0], run[-1] + 1)}' is not in the vocabulary: kept as {kept} in its topics, name or description)"
        )
    dropped = {reading.surface(reading.items[i]) for i in used}
    reading.ignored = [word for word in reading.ignored if word not in dropped]
    if subjects.exclude_domains or subjects.exclude_keywords:
        shown = ", ".join(subjects.exclude_domains + subjects.exclude_keywords)
        reading.notes.append(f"left out: repos about {shown}")
    return subjects


# ---- domains ------------------------------------------------------------------------------------


def _join(reading: Reading, left: int, right: int) -> Join:
    """How the subject at item `right` is joined to the one at item `left`, read back from `right`."""
    index = reading.index
    for j in range(right - 1, left, -1):
        item = reading.items[j]
        key, text = reading.key(item), reading.tokens[item.start].text
        if key in _LIST_JOINS or text in _LIST_JOINS:
            return "or"
        if key in index.example_markers or text in index.example_markers:
            return "example"
        if text in _CLAUSE_ENDS:
            return "far"
        if item.meanings and not item.kinds() <= _TRANSPARENT_KINDS:
            return "far"
    return "next"


def _combine(reading: Reading, vocabulary: Vocabulary) -> list[str]:
    """The target subjects: adjacent words need each other, lists are alternatives, far parts AND."""
    if not reading.subjects:
        return []
    clauses: list[list[list[str]]] = [[[reading.subjects[0][1]]]]  # AND of OR-lists of conjunctions
    example_of: list[str] | None = None
    for (left, _), (right, domain) in zip(reading.subjects, reading.subjects[1:], strict=False):
        join = _join(reading, left, right)
        alternatives = clauses[-1]
        if join == "example" or (join == "or" and example_of is not None):
            example_of = example_of or alternatives[-1]
            if vocabulary.subject(example_of) in vocabulary.broader(domain):
                reading.notes.append(f"'{reading.surface(reading.items[right])}' read as an example, not a limit")
                continue
            alternatives.append([domain])
            continue
        example_of = None
        if join == "next":
            alternatives[-1].append(domain)
        elif join == "or":
            alternatives.append([domain])
        else:
            clauses.append([[domain]])
    subjects: list[str] = []
    for choice in product(*(_share_heads(alternatives, vocabulary) for alternatives in clauses)):
        subjects.append(vocabulary.subject([key for conjunction in choice for key in conjunction]))
        if len(subjects) > _MAX_SUBJECTS:
            reading.notes.append("too many combinations of subjects: each is searched on its own")
            return _narrowest(list(dict.fromkeys(d for _, d in reading.subjects)), vocabulary)
    return _narrowest(list(dict.fromkeys(subjects)), vocabulary)


def _share_heads(alternatives: list[list[str]], vocabulary: Vocabulary) -> list[list[str]]:
    """ "React or Vue component libraries": a lone framework before its sibling's phrase takes that phrase's head."""
    shared = [list(conjunction) for conjunction in alternatives]
    for k in range(len(shared) - 2, -1, -1):
        lone, following = shared[k], shared[k + 1]
        if len(lone) == 1 and len(following) > 1 and _siblings(lone[0], following[0], vocabulary):
            shared[k] = lone + following[1:]
    return shared


def _siblings(a: str, b: str, vocabulary: Vocabulary) -> bool:
    """Two different members of one broader domain (React and Vue, Android and iOS)."""
    broader_a, broader_b = vocabulary.broader(a), vocabulary.broader(b)
    return a != b and a not in broader_b and b not in broader_a and bool(broader_a & broader_b)


def _narrowest(subjects: list[str], vocabulary: Vocabulary) -> list[str]:
    """Alternatives without those a named member narrows ("Flutter and mobile" is Flutter)."""
    implied = {b for subject in subjects for b in vocabulary.broader(subject)}
    return [subject for subject in subjects if subject not in implied]


# ---- keywords -----------------------------------------------------------------------------------


def _keyword_runs(reading: Reading) -> Iterator[list[int]]:
    """Runs of adjacent unknown words that stand where a subject would (see the module docstring)."""
    candidates = [i for i in reading.unknown if _could_name_subject(reading, i)]
    runs: list[list[int]] = []
    for i in candidates:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        if not _in_examples(reading, run[0]) and _subject_slot(reading, run):
            yield run


def _could_name_subject(reading: Reading, i: int) -> bool:
    token = reading.tokens[reading.items[i].start]
    key = token.key
    return len(key) > 1 and key.isalnum() and key not in reading.index.not_subjects and not key.isdigit()


def _tech_shaped(reading: Reading, i: int) -> bool:
    """ "WebAssembly", "gRPC", "k3s", "RAG": inner capitals, digits among letters, or a short acronym."""
    text = reading.tokens[reading.items[i].start].text
    inner_caps = any(ch.isupper() for ch in text[1:]) and any(ch.islower() for ch in text)
    digits = any(ch.isdigit() for ch in text) and any(ch.isalpha() for ch in text)
    acronym = text.isupper() and 2 <= len(text) <= 6
    return inner_caps or digits or acronym


def _subject_slot(reading: Reading, run: list[int]) -> bool:
    if any(_tech_shaped(reading, i) for i in run):
        return True
    before, after = run[0] - 1, run[-1] + 1
    if after < len(reading.items) and reading.items[after].kinds() & _HEAD_KINDS:
        return True
    if _language_follows(reading, after):
        return True
    if before < 0:
        return False
    kinds = reading.items[before].kinds()
    if "domain" in kinds:
        return True
    preposition = reading.key(reading.items[before])
    if preposition not in reading.index.subject_prepositions or before == 0:
        return False
    head = reading.items[before - 1]  # "maintainers of", "people working on"; not "the land of"
    if head.kinds() & _HEAD_KINDS:
        return True
    filler = _is_stop_word(reading, before - 1)
    return filler and preposition not in _RESTRICTED_PREPOSITIONS


def _is_stop_word(reading: Reading, i: int) -> bool:
    item = reading.items[i]
    return not item.meanings and reading.tokens[item.start].key in reading.index.stop_words


def _language_follows(reading: Reading, j: int) -> bool:
    """Item j starts "in Python", "written in Go", "using Rust" or names a language: what a subject is built in."""
    while j < len(reading.items) and reading.key(reading.items[j]) in reading.index.prepositions:
        j += 1
    return j < len(reading.items) and "language" in reading.items[j].kinds()


def _in_examples(reading: Reading, start: int) -> bool:
    """Whether the word at item `start` is listed as an example ("web frameworks like Phoenix")."""
    j = start - 1
    while j >= 0:
        item = reading.items[j]
        key, text = reading.key(item), reading.tokens[item.start].text
        if key in reading.index.example_markers or text in reading.index.example_markers:
            return True
        listed = key in _LIST_JOINS or text in _LIST_JOINS or j in reading.unknown or "domain" in item.kinds()
        if not listed:
            return False
        j -= 1
    return False
