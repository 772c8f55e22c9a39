"""The one definition of "a repository this audience is about", shared by the researcher (which
repos to mine), the enricher (where activity counts), the sandbox's truth and the evals.

A repo fits when it is not a fork or archived, its primary language is one of the audience's
languages (when it names any), and its topics/description match the audience's subject (domains,
else topics). Stars are a search filter, not part of the subject: activity in a small repo of the
right subject still counts.
"""

from __future__ import annotations

from foundation.schemas.campaign import TargetAudience
from foundation.vocabulary import load_vocabulary


def language_fits(audience: TargetAudience, language: str | None) -> bool:
    return not audience.languages or (language or "").casefold() in {lang.casefold() for lang in audience.languages}


def subject_fits(audience: TargetAudience, topics: list[str], description: str | None) -> bool:
    """The audience's subject: a domain of the vocabulary, else any of its raw topics, else anything."""
    if audience.domains:
        vocabulary = load_vocabulary()
        return any(vocabulary.domain_matches(d, topics, description) for d in audience.domains if d in vocabulary.domains)
    if audience.topics:
        return bool(set(topics) & set(audience.topics))
    return True


def repo_fits(
    audience: TargetAudience,
    *,
    language: str | None,
    topics: list[str],
    description: str | None,
    fork: bool = False,
    archived: bool = False,
) -> bool:
    """README definition of a matching repo (language and subject; never a fork or archived repo)."""
    if fork or archived:
        return False
    return language_fits(audience, language) and subject_fits(audience, topics, description)
