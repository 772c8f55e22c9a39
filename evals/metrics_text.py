"""Deterministic metrics of an outreach draft: groundedness, length, spam phrases, reading level, recency.

Every metric reads only what the copywriter wrote: the compliance footer below the `--` signature
separator is appended by code (sender address, retention days, opt-out link), so its numbers, links
and legal wording are neither the draft's claims nor its style, and `strip_footer` drops it first.
Groundedness applies the copywriter's own claim checks (`agents.copywriter`), so the evaluation
measures exactly the rule the copywriter enforces, but counts claims instead of stopping at a problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from agents.copy_templates import personalization_facts
from agents.grounding import (
    EMAIL,
    NUMBER,
    URL,
    achievement_claims,
    claim_problems,
    fact_problems,
    greeting_claim,
    known_names,
    number_key,
    reference_text,
    repo_claims,
)
from foundation.profile_text import GENERIC_GREETING
from foundation.schemas import Message, Prospect

_SIGNATURE_SEPARATOR = re.compile(r"^-- ?$", re.MULTILINE)
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n")
_READING_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_VOWEL_GROUP = re.compile(r"[aeiouy]+")

SPAM_PHRASES: tuple[str, ...] = (
    "act now",
    "100% free",
    "guaranteed",
    "limited time",
    "click here",
    "risk-free",
    "winner",
    "urgent",
    "no obligation",
    "$$$",
    "!!!",
    "buy now",
    "order now",
    "call now",
    "apply now",
    "don't miss out",
    "once in a lifetime",
    "exclusive deal",
    "special promotion",
    "free gift",
    "cash bonus",
    "double your",
    "earn money",
    "make money",
    "no strings attached",
    "no catch",
    "best price",
    "congratulations",
    "you have been selected",
    "while supplies last",
    "offer expires",
    "instant access",
    "miracle",
    "what are you waiting for",
    "100% satisfied",
    "dear friend",
    "this won't last",
)


def strip_footer(body: str) -> str:
    """The body above its last `--` signature separator line (all of it when there is none)."""
    separators = list(_SIGNATURE_SEPARATOR.finditer(body))
    return body[: separators[-1].start()].rstrip() if separators else body


def _written(message: Message) -> str:
    """Subject and footer-less body: everything the copywriter (template or model) wrote."""
    return f"{message.subject}\n{strip_footer(message.body)}"


def groundedness(message: Message, prospect: Prospect) -> dict[str, Any]:
    """Share of the draft's checkable claims that trace to the prospect's evidence bundle.

    Claims: each fact in `facts_used` (its source must name real evidence and its words appear in
    the evidence), and in subject and body each distinct link (must appear in the evidence), email
    address (never allowed), repository name (owner/name, `code` name or word beside "repository":
    must be a known repo, owner, language, login or company), number (must appear in the evidence,
    "1,200" = "1200") and achievement ("award", "won": must appear in the evidence); and whom the
    greeting names, if anyone (the quotable first or full name). `score` = grounded / checked, 1.0
    when nothing is checkable; `ungrounded` lists the failing claims.
    """
    reference = reference_text(prospect)
    text = _written(message)
    prose = URL.sub(" ", EMAIL.sub(" ", text))
    known = known_names(prospect)
    allowed_numbers = {number_key(n) for n in NUMBER.findall(reference)}
    claims = [(f"fact {f.name}={f.value!r}", not fact_problems(f, prospect, reference)) for f in message.facts_used]
    claims += [(f"link {u}", not claim_problems(u, prospect, reference)) for u in dict.fromkeys(URL.findall(text))]
    claims += [(f"email {e}", False) for e in dict.fromkeys(EMAIL.findall(text))]
    claims += [(f"repository {r}", r in known) for r in sorted(repo_claims(prose))]
    claims += [(f"number {n}", number_key(n) in allowed_numbers) for n in dict.fromkeys(NUMBER.findall(prose))]
    claims += [(f"achievement {word}", word.lower() in reference) for word in achievement_claims(prose)]
    greeting = greeting_claim(strip_footer(message.body), prospect)
    if greeting is not None and greeting[0].casefold() not in ("", GENERIC_GREETING):
        claims.append((f"greeting {greeting[0]}", greeting[1]))
    grounded = sum(ok for _, ok in claims)
    return {
        "score": round(grounded / len(claims), 4) if claims else 1.0,
        "checked": len(claims),
        "ungrounded": [label for label, ok in claims if not ok],
    }


def length_words(body: str) -> int:
    """Whitespace-separated words above the footer: the count the copywriter's `MAX_WORDS` limits."""
    return len(strip_footer(body).split())


def _normalise(text: str) -> str:
    """Lowercase, straight apostrophes, hyphens as spaces, single spaces: "Risk-Free" finds "risk free"."""
    return " ".join(text.lower().replace("\u2019", "'").replace("-", " ").split())


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    """The phrase as whole words where it starts/ends with a word character ("winner" not "winners")."""
    norm = _normalise(phrase)
    start = r"(?<!\w)" if norm[0].isalnum() else ""
    end = r"(?!\w)" if norm[-1].isalnum() else ""
    return re.compile(start + re.escape(norm) + end)


def spam_phrases(text: str, extra: Iterable[str] = ()) -> list[str]:
    """The spam-trigger phrases (`SPAM_PHRASES` plus `extra`) the text contains above its footer.

    Matching ignores case and treats hyphens as spaces; a phrase that starts or ends with a letter
    or digit only matches whole words. Phrases are returned as listed, each once, in list order.
    """
    haystack = _normalise(strip_footer(text))
    phrases = dict.fromkeys([*SPAM_PHRASES, *extra])
    return [phrase for phrase in phrases if phrase.strip() and _phrase_pattern(phrase).search(haystack)]


def syllables(word: str) -> int:
    """Heuristic syllable count: vowel groups (y included), minus a silent final "e" (not "-le"), at least 1."""
    word = word.lower()
    count = len(_VOWEL_GROUP.findall(word))
    if count > 1 and word.endswith("e") and not word.endswith("le"):
        count -= 1
    return max(count, 1)


def reading_level(text: str) -> float | None:
    """Flesch-Kincaid grade of the text above its footer; None when it has no words.

    grade = 0.39 * words/sentences + 11.8 * syllables/words - 15.59, with words the alphabetic
    tokens, sentences the stretches between ". ! ?" (followed by a space or the end) and line
    breaks that contain a word (so "Hi Alice," is one), and `syllables` the heuristic above.
    """
    written = strip_footer(text)
    sentences = [s for s in _SENTENCE_END.split(written) if _READING_WORD.search(s)]
    words = _READING_WORD.findall(written)
    if not words:
        return None
    total = sum(syllables(word) for word in words)
    return round(0.39 * len(words) / len(sentences) + 11.8 * total / len(words) - 15.59, 2)


def _names(text: str, repo: str) -> bool:
    """Whether the text names the repo as `owner/name` or as its bare name, as a whole word."""
    bare = repo.rsplit("/", 1)[-1]
    return any(re.search(rf"(?<![\w.-]){re.escape(n)}(?![\w-])", text, re.IGNORECASE) for n in (repo, bare))


def mentions_recent_project(message: Message, prospect: Prospect) -> dict[str, Any]:
    """Whether the draft names one of the prospect's evidence repos, and whether the most recent one.

    Evidence repos are those of the prospect's signals' evidence; the most recent is the one the
    copywriter's `recent_project` fact picks (latest date, the most personal kind on a tie). A repo
    is named by `owner/name` or its bare name as a whole word. `mentioned` is the pass/fail; `named`
    lists the evidence repos found, `most_recent` the preferred one (None without evidence repos).
    """
    text = _written(message)
    repos = dict.fromkeys(e.repo for s in prospect.signals for e in s.evidence if e.repo)
    recent = personalization_facts(prospect).get("recent_project")
    most_recent = recent.value if recent else None
    named = [repo for repo in repos if _names(text, repo)]
    return {
        "mentioned": bool(named),
        "mentions_most_recent": most_recent in named,
        "named": named,
        "most_recent": most_recent,
    }
