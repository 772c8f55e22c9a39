"""Semantic matching on top of an `Embedder`: what text stands for a repository or a person, how close
two things are, which sentence made a repo relevant, and which repos are copies of one another.

Pure functions over vectors (no store, no GitHub): the researcher's relevance, the lookalike ranking
and the duplicate merge share them, and the evals call them directly. Every text comes from GitHub
and is hostile: it is cleaned like anything else shown to a model (`research_tools.untrusted`), cut
short, and a profile's text never carries an e-mail address (a bio may hold one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
from pydantic import BaseModel, Field

from foundation.schemas.github import RepoInfo
from privacy.pii import replace_pii
from tools.research_tools import untrusted
from tools.vectors.base import Embedder, VectorRecord

README_CHARS = 600
BIO_CHARS = 300
# The offline model (a bag of token embeddings) gives cosine ~0.35 and up to what is about a subject and
# less to what only shares a word with it; measured on the sandbox's local-first repos (evals/suite_semantic.py).
RELEVANT_AT = 0.35
# Pseudo-relevance feedback (Rocchio): the subject's vector is moved toward the mean of its closest
# repos, because a few words of a goal ("local first sync engines") are a thin query and the repos
# that truly match share more words with each other ("CRDT", "offline", "replication") than with it.
FEEDBACK_REPOS = 10
# Two repos are copies when their texts are this close and their names or descriptions agree.
DUPLICATE_AT = 0.97
_SENTENCE = re.compile(r"(?<=[.!?:;])\s+|\n+")
_NAME_SPLIT = re.compile(r"[-_.]+")
_COPY_SUFFIX = re.compile(r"([-_.](mirror|copy|vendored|fork|old|backup|archive))+$", re.IGNORECASE)


class Relevance(BaseModel):
    """How close one repo is to the goal's subject, and the sentence of its text that is closest."""

    repo: str
    score: float = Field(description="cosine similarity of the repo's text to the subject (after feedback)")
    closest: str = Field(default="", description="the best-matching sentence of the description or README")
    relevant: bool = False


def without_emails(text: str) -> str:
    """`text` with every e-mail address cut out (profile vectors never derive from one)."""
    return replace_pii(text, lambda _: "", kinds=("email",))


def repo_text(repo: RepoInfo, readme: str | None = None) -> str:
    """Name (as words), description, topics and, when fetched, the start of the README."""
    parts = [" ".join(_NAME_SPLIT.split(repo.full_name.rsplit("/", 1)[-1])), repo.description or ""]
    if repo.topics:
        parts.append("Topics: " + ", ".join(t.replace("-", " ") for t in repo.topics) + ".")
    if readme:
        parts.append(untrusted(readme, README_CHARS) or "")
    return untrusted(" ".join(p.strip() for p in parts if p.strip()), 2 * README_CHARS) or repo.full_name


def profile_text(bio: str | None, repos: Sequence[RepoInfo], languages: Sequence[str]) -> str:
    """A person as text: bio (no e-mail), the descriptions and topics of their matched repos, languages."""
    parts = [without_emails(untrusted(bio, BIO_CHARS) or "")]
    for repo in repos:
        parts.append(repo.description or "")
        parts.append(" ".join(t.replace("-", " ") for t in repo.topics))
    if languages:
        parts.append("Languages: " + ", ".join(dict.fromkeys(languages)) + ".")
    text = " ".join(p.strip() for p in parts if p.strip())
    return untrusted(text, 4 * README_CHARS) or "developer"


def sentences(text: str) -> list[str]:
    """The sentences of a repo's text, the candidates for `Relevance.closest`."""
    return [s.strip() for s in _SENTENCE.split(text) if len(s.strip()) > 3]


def unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def centroid(vectors: Sequence[Sequence[float]]) -> list[float]:
    """The unit-length mean direction of `vectors` (a seed group's profile)."""
    return unit(np.asarray(vectors, dtype=np.float32).mean(axis=0)).tolist()


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return float(np.dot(unit(np.asarray(a, dtype=np.float32)), unit(np.asarray(b, dtype=np.float32))))


def relevance(embedder: Embedder, subject: str, texts: dict[str, str], threshold: float = RELEVANT_AT) -> dict[str, Relevance]:
    """Each repo's (name -> text) closeness to `subject`, with pseudo-relevance feedback, and the
    sentence of its text closest to the subject (what the trace shows as the reason)."""
    if not texts:
        return {}
    names = list(texts)
    matrix = np.asarray(embedder.embed([texts[n] for n in names]), dtype=np.float32)
    query = np.asarray(embedder.embed([subject])[0], dtype=np.float32)
    first = matrix @ query
    closest_repos = np.argsort(-first)[:FEEDBACK_REPOS]
    query = unit(query + matrix[closest_repos].mean(axis=0))
    scores = matrix @ query
    pieces = {n: sentences(texts[n]) or [texts[n]] for n in names}
    flat = [s for n in names for s in pieces[n]]
    sentence_scores = np.asarray(embedder.embed(flat), dtype=np.float32) @ query
    result, i = {}, 0
    for n, score in zip(names, scores, strict=True):
        own = sentence_scores[i : i + len(pieces[n])]
        best = pieces[n][int(np.argmax(own))]
        i += len(pieces[n])
        result[n] = Relevance(repo=n, score=round(float(score), 4), closest=best, relevant=float(score) >= threshold)
    return result


def duplicates(repos: Sequence[RepoInfo], vectors: Mapping[str, Sequence[float]]) -> dict[str, str]:
    """Copies (mirrors, vendored or backup copies) -> the repo kept in their place: a repo whose name is
    another's plus a copy marker (`-mirror`, `-copy`, `-vendored`, `-fork`, `-old`, `-backup`,
    `-archive`) and whose text is at least `DUPLICATE_AT` alike. Same name and description alone are
    not enough: thousands of unrelated repos are called `blog`, "Personal blog"."""
    by_name: dict[str, list[RepoInfo]] = {}
    for repo in repos:
        by_name.setdefault(_short(repo), []).append(repo)
    merged: dict[str, str] = {}
    for repo in sorted(repos, key=lambda r: r.full_name):
        stem = _COPY_SUFFIX.sub("", _short(repo))
        if stem == _short(repo):
            continue
        originals = [o for o in by_name.get(stem, []) if cosine(vectors[repo.full_name], vectors[o.full_name]) >= DUPLICATE_AT]
        if originals:
            merged[repo.full_name] = max(originals, key=lambda o: (o.stars, o.full_name)).full_name
    return merged


def _short(repo: RepoInfo) -> str:
    return repo.full_name.rsplit("/", 1)[-1].casefold()


def repo_record(repo: RepoInfo, vector: Sequence[float], fetched_at: datetime, source: str = "github") -> VectorRecord:
    """A repository's vector with its provenance (the text is not stored: it can be fetched again)."""
    return VectorRecord(
        id=f"repo:{repo.full_name.casefold()}",
        values=list(vector),
        metadata={"kind": "repository", "repo": repo.full_name, "source": source, "fetched_at": fetched_at.isoformat()},
    )


def profile_record(login: str, vector: Sequence[float], fetched_at: datetime, source: str = "github") -> VectorRecord:
    """A person's vector: personal data, tagged `person=<login lower>` so erasure and suppression find it."""
    return VectorRecord(
        id=f"profile:{login.casefold()}",
        values=list(vector),
        metadata={"kind": "profile", "person": login.casefold(), "source": source, "fetched_at": fetched_at.isoformat()},
    )
