"""Do-not-contact bios: does a GitHub bio ask not to be contacted, in whatever words and language?

GitHub's Acceptable Use Policy and the GDPR (Art. 21) make a published "do not contact me" binding,
and people write it in countless ways: "No recruiters", "Sales pitches will be ignored", "Recruiter
messages go straight to /dev/null", "Keine Anfragen von Recruitern", "Pas de démarchage". A list of
whole phrases misses the next wording, so a bio is read as clauses, and inside one clause a refusal
must govern a target (the cues, per language, are in `agents/data/do_not_contact.yaml`):

- a strong refusal ("don't", "not interested in", "bitte keine") a few words before any target;
- a plain refusal ("no", "keine", "pas de", "sin", "sem") right before a strong target ("recruiters",
  "sales", "cold email") or a contact verb ("no me contactes"), or right before an ordinary noun that
  stands alone ("No DMs, please" but not "No job too small");
- a target followed by a refusal ("... will be ignored", "... -> trash", "Recruiters: no thanks"),
  also when the refusal is a clause of its own answering the previous one ("Short calls? No thanks.");
- an idiom holding both ("not looking", "DMs closed").

What follows a target must be glue (politeness, a preposition, a conjunction), another target or the
end of the phrase, so "No sales background" (a background is refused) does not count. Negations that
invite or describe ("don't hesitate to", "no soy reclutador") are removed before matching. The
dataset `evals/datasets/do_not_contact.yaml` measures all this; its holdout half was written and
committed before these rules were tuned, and a unit test holds them to it.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from foundation.text import fold

Rule = Literal["refusal before target", "target then refusal", "idiom"]
Kind = Literal["strong", "noun", "verb", "refuse_strong", "refuse_weak", "refuse_after"]

STRONG_GAP = 4  # words a strong refusal may stand before its target ("won't hop on a quick call")
WEAK_GAP = 2  # ... a plain refusal before a strong target ("keine Anfragen von Recruitern")
AFTER_GAP = 5  # ... a target before the refusal that follows it ("recruiters and crypto pitches will be ignored")

# Stop signs read as "no"; arrows as "->"; the other pictographs are dropped.
_STOP_EMOJI = re.compile("(?:\U0001f6ab|\u26d4|\u274c|\u2716|\U0001f645|\U0001f6d1)[\ufe0f\u200d\u2640\u2642]*")
_ARROW = re.compile(r"\s*(?:[\u2192\u27f6\u21d2\u2794\u279c\u27a1]\ufe0f?|=>|-{1,2}>)\s*")
_QUOTES = str.maketrans(
    dict.fromkeys('\u201c\u201d\u201e\u00ab\u00bb\u2039\u203a"', " ") | dict.fromkeys("\u2018\u2019\u02bc`\u00b4", "'")
)
_SEPARATORS = re.compile(r"\s+[-\u2013\u2014]\s+|[\u2013\u2014\u2022\u00b7\n]")
_OTHER_SYMBOLS = re.compile(r"[^\w\s'@=/:,.!?;|()>-]")
_CLAUSE_END = re.compile(r"[!?;|]+|\.(?=\s|$)")
_PHRASE_END = re.compile(r"[,:;/()=>]")
_WORD = re.compile(r"[\w']+")
# A cue starts and ends at a word edge, unless that edge is punctuation ("pas d'", "-> trash").
_OPEN, _CLOSE = r"(?:(?<!\w)|(?!\w))", r"(?:(?!\w)|(?<!\w))"


class _Targets(BaseModel):
    model_config = ConfigDict(extra="forbid")
    strong: list[str]
    nouns: list[str]
    verbs: list[str]


class _Before(BaseModel):
    model_config = ConfigDict(extra="forbid")
    strong: list[str]
    weak: list[str]


class _Language(BaseModel):
    """One language's cues (see the header of the YAML file for what each list means)."""

    model_config = ConfigDict(extra="forbid")
    targets: _Targets
    refuse_before: _Before
    refuse_after: list[str]
    phrases: list[str] = Field(default_factory=list)
    not_refusals: list[str] = Field(default_factory=list)
    glue: str
    breaks: list[str] = Field(default_factory=list)


class _CueFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    languages: dict[str, _Language]


@dataclass(frozen=True)
class _Cues:
    """Every language's cues of one kind as one compiled pattern (bios mix languages)."""

    strong_target: re.Pattern[str]
    noun: re.Pattern[str]
    verb: re.Pattern[str]
    strong_refusal: re.Pattern[str]
    weak_refusal: re.Pattern[str]
    after: re.Pattern[str]
    phrase: re.Pattern[str]
    not_refusal: re.Pattern[str]
    glue: re.Pattern[str]
    breaks: re.Pattern[str]


@dataclass(frozen=True)
class OptOut:
    """Why a bio reads as do-not-contact: which rule fired and the (folded) words it fired on."""

    rule: Rule
    evidence: str


def _alternation(fragments: list[str], whole: bool = False) -> re.Pattern[str]:
    """One pattern matching any fragment at word edges (longest first), or a whole word if `whole`."""
    ordered = sorted(set(fragments), key=len, reverse=True) or [r"(?!)"]
    body = "|".join(f"(?:{fragment})" for fragment in ordered)
    return re.compile(rf"(?:{body})\Z" if whole else rf"{_OPEN}(?:{body}){_CLOSE}")


@cache
def _cues() -> _Cues:
    text = resources.files("agents").joinpath("data/do_not_contact.yaml").read_text(encoding="utf-8")
    languages = list(_CueFile.model_validate(yaml.safe_load(text)).languages.values())

    def every(pick: Callable[[_Language], list[str]], whole: bool = False) -> re.Pattern[str]:
        return _alternation([fragment for language in languages for fragment in pick(language)], whole)

    return _Cues(
        strong_target=every(lambda lang: lang.targets.strong),
        noun=every(lambda lang: lang.targets.nouns),
        verb=every(lambda lang: lang.targets.verbs),
        strong_refusal=every(lambda lang: lang.refuse_before.strong),
        weak_refusal=every(lambda lang: lang.refuse_before.weak),
        after=every(lambda lang: lang.refuse_after),
        phrase=every(lambda lang: lang.phrases),
        not_refusal=every(lambda lang: lang.not_refusals),
        glue=every(lambda lang: lang.glue.split(), whole=True),
        breaks=every(lambda lang: lang.breaks),
    )


def normalise(text: str) -> str:
    """Folded text with stop emoji as "no", straight quotes, "->" arrows and "|" between bio parts."""
    text = unicodedata.normalize("NFKC", text)
    text = _STOP_EMOJI.sub(" no ", text)
    text = _ARROW.sub(" -> ", text.translate(_QUOTES))
    text = _SEPARATORS.sub(" | ", text)
    text = fold(text).replace("e-mail", "email")
    text = _OTHER_SYMBOLS.sub(" ", text)
    return " ".join(text.split())


def clauses(text: str) -> list[str]:
    """The clauses of a normalised bio: split at sentence ends, bars and contrastive conjunctions."""
    cues = _cues()
    text = cues.not_refusal.sub(" | ", text)
    text = cues.breaks.sub(" | ", text)
    return [part.strip() for part in _CLAUSE_END.split(text) if part.strip()]


def find_opt_out(bio: str | None) -> OptOut | None:
    """The first sign that `bio` asks not to be contacted, or None."""
    if not bio or not bio.strip():
        return None
    previous: _Clause | None = None
    for text in clauses(normalise(bio)):
        clause = _Clause.read(text)
        found = clause.idiom() or clause.refusal_before_target() or clause.target_then_refusal()
        if found or (previous and (found := clause.answers(previous))):
            return found
        previous = clause
    return None


@dataclass(frozen=True)
class _Span:
    kind: Kind
    start: int
    end: int


@dataclass(frozen=True)
class _Clause:
    """One clause with its words and every cue found in it."""

    text: str
    spans: tuple[_Span, ...]
    targets: tuple[_Span, ...]
    word_spans: tuple[re.Match[str], ...]
    word_starts: tuple[int, ...]

    @classmethod
    def read(cls, text: str) -> _Clause:
        cues = _cues()
        kinds: tuple[tuple[Kind, re.Pattern[str]], ...] = (
            ("strong", cues.strong_target),
            ("noun", cues.noun),
            ("verb", cues.verb),
            ("refuse_strong", cues.strong_refusal),
            ("refuse_weak", cues.weak_refusal),
            ("refuse_after", cues.after),
        )
        spans = tuple(_Span(kind, m.start(), m.end()) for kind, p in kinds for m in p.finditer(text))
        targets = tuple(span for span in spans if span.kind in ("strong", "noun", "verb"))
        words = tuple(_WORD.finditer(text))
        return cls(text, spans, targets, words, tuple(m.start() for m in words))

    def of(self, *kinds: Kind) -> list[_Span]:
        return [span for span in self.spans if span.kind in kinds]

    def words(self, start: int, end: int) -> list[re.Match[str]]:
        """The words lying wholly between two character offsets."""
        first = bisect_left(self.word_starts, start)
        return [m for m in self.word_spans[first:] if m.start() < end and m.end() <= end]

    def idiom(self) -> OptOut | None:
        found = _cues().phrase.search(self.text)
        return OptOut("idiom", found.group(0)) if found else None

    def refusal_before_target(self) -> OptOut | None:
        for refusal in self.of("refuse_strong", "refuse_weak"):
            for target in self.targets:
                if target.start >= refusal.end and self._ends_phrase(target) and self._governs(refusal, target):
                    return OptOut("refusal before target", self.text[refusal.start : target.end])
        return None

    def target_then_refusal(self) -> OptOut | None:
        for refusal in self.of("refuse_after"):
            for target in self.targets:
                if target.end <= refusal.start and len(self.words(target.end, refusal.start)) <= AFTER_GAP:
                    return OptOut("target then refusal", self.text[target.start : refusal.end])
        return None

    def answers(self, previous: _Clause) -> OptOut | None:
        """This clause is only a refusal ("No thanks.") and the clause before names a target."""
        refusals = self.of("refuse_after")
        if not refusals or not previous.targets:
            return None
        first, last = refusals[0], refusals[-1]
        rest = self.words(0, first.start) + self.words(last.end, len(self.text))
        if not all(_is_glue(word.group(0)) for word in rest):
            return None
        return OptOut("target then refusal", f"{previous.text}? {self.text}")

    def _governs(self, refusal: _Span, target: _Span) -> bool:
        """Is `target` close enough to `refusal`, given how strong each is, to be what it refuses?"""
        between = self.words(refusal.end, target.start)
        if refusal.kind == "refuse_strong":
            return len(between) <= STRONG_GAP
        if _PHRASE_END.search(self.text, refusal.end, target.start):  # "no code, sales ..." refuses no sales
            return False
        if target.kind == "strong":
            return len(between) <= WEAK_GAP
        if target.kind == "verb":  # "no me contactes": only a pronoun between
            return all(_is_glue(word.group(0)) for word in between)
        return len(between) <= 1 and self._alone_in_phrase(refusal, target)

    def _ends_phrase(self, target: _Span) -> bool:
        """Next comes punctuation, glue, another cue or nothing ("No sales background" refuses a background)."""
        following = _WORD.search(self.text, target.end)
        if following is None or _PHRASE_END.search(self.text, target.end, following.start()):
            return True
        return _is_glue(following.group(0)) or any(span.start == following.start() for span in self.spans)

    def _alone_in_phrase(self, refusal: _Span, target: _Span) -> bool:
        """Only glue or other targets share the phrase with a plain refusal and a plain noun ("Please, no DMs")."""
        start = max((m.end() for m in _PHRASE_END.finditer(self.text, 0, refusal.start)), default=0)
        after = _PHRASE_END.search(self.text, target.end)
        rest = self.words(start, refusal.start) + self.words(target.end, after.start() if after else len(self.text))
        return all(_is_glue(w.group(0)) or any(t.start <= w.start() < t.end for t in self.targets) for w in rest)


def _is_glue(word: str) -> bool:
    return _cues().glue.match(word) is not None
