"""The one definition of "a repository this audience is about", shared by the researcher (which
repos to mine), the enricher (where activity counts), the sandbox's truth and the evals.

A repo fits when it is not a fork or archived, its primary language is one of the audience's
languages (when it names any), and its subject is the audience's:
- it matches one of the audience's `domains` (each may require several parts: "react_components"
  is React AND a component-library signal; "vue+ui_components" is every part of both; see
  `Vocabulary.domain_matches`), or, with no domains, carries one of its raw `topics`;
- it names every one of the audience's `keywords` (subject words outside the vocabulary, such as
  "webassembly" and "runtime") in its topics, name or description;
- it matches none of `exclude_domains` and names none of `exclude_keywords`.
An audience with `subject_repos` (the researcher agent's judgement, repo by repo, for a goal outside
the vocabulary) replaces the first three rules with one: the repo is listed there.
Stars are a search filter, not part of the subject: activity in a small repo of the right subject
still counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from foundation.schemas.campaign import TargetAudience
from foundation.text import subject_words
from foundation.vocabulary import load_vocabulary


def language_fits(audience: TargetAudience, language: str | None) -> bool:
    return not audience.languages or (language or "").casefold() in {lang.casefold() for lang in audience.languages}


def names(keyword: str, topics: Iterable[str], name: str | None, description: str | None) -> bool:
    """Whether a repo names `keyword` (whole words, any case or number) in its topics, name or description."""
    wanted = subject_words(keyword)
    if wanted.strip() == "":
        return False
    return any(wanted in subject_words(text) for text in (*topics, name, description))


def subject_fits(audience: TargetAudience, topics: list[str], description: str | None, name: str | None = None) -> bool:
    """The audience's subject (see the module docstring); `name` is the repo's name, without its owner
    unless the audience lists `subject_repos` (which name repos by their full name)."""
    vocabulary = load_vocabulary()
    if audience.subject_repos:
        listed = (name or "").casefold() in {repo.casefold() for repo in audience.subject_repos}
        return listed and not _excluded(audience, topics, description, name)
    if audience.domains:
        fits = any(vocabulary.domain_matches(subject, topics, description) for subject in audience.domains)
    elif audience.topics:
        fits = bool(set(topics) & set(audience.topics))
    else:
        fits = True
    return (
        fits
        and all(names(keyword, topics, name, description) for keyword in audience.keywords)
        and not _excluded(audience, topics, description, name)
    )


def _excluded(audience: TargetAudience, topics: list[str], description: str | None, name: str | None) -> bool:
    vocabulary = load_vocabulary()
    return any(vocabulary.domain_matches(subject, topics, description) for subject in audience.exclude_domains) or any(
        names(keyword, topics, name, description) for keyword in audience.exclude_keywords
    )


def repo_fits(
    audience: TargetAudience,
    *,
    language: str | None,
    topics: list[str],
    description: str | None,
    name: str | None = None,
    fork: bool = False,
    archived: bool = False,
) -> bool:
    """README definition of a matching repo (language and subject; never a fork or archived repo).

    `name` is the repo's name (with or without its owner; with it, when the audience lists
    `subject_repos`); without it, keywords are looked for in topics and description only.
    """
    if fork or archived:
        return False
    short = name if audience.subject_repos else name.rsplit("/", 1)[-1] if name else None
    return language_fits(audience, language) and subject_fits(audience, topics, description, short)


class RepoFacts(Protocol):
    """What `fits` reads of a repo: the pipeline's `RepoInfo` and the sandbox's `Repo` both have it."""

    @property
    def full_name(self) -> str: ...
    @property
    def language(self) -> str | None: ...
    @property
    def topics(self) -> list[str]: ...
    @property
    def description(self) -> str | None: ...
    @property
    def fork(self) -> bool: ...
    @property
    def archived(self) -> bool: ...


def fits(audience: TargetAudience, repo: RepoFacts) -> bool:
    """`repo_fits` on a repo object: the one call the researcher, the enricher and the truth make."""
    return repo_fits(
        audience,
        language=repo.language,
        topics=repo.topics,
        description=repo.description,
        name=repo.full_name,
        fork=repo.fork,
        archived=repo.archived,
    )
