"""Semantic matching on top of an `Embedder`: what text stands for a repository or a person, how close
two things are, which sentence made a repo relevant, and which repos are copies of one another.

Pure functions over vectors (no store, no GitHub): the researcher's relevance, the lookalike ranking
and the duplicate merge share them, and the evals call them directly. Every text comes from GitHub
and is hostile: it is cleaned like anything else shown to a model (`research_tools.untrusted`), cut
short, and a profile's text never carries an e-mail address (a bio may hold one).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
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
# Texts the run's embedder keeps vectors of (least recently used go first): ~6 KiB each at 1,536 floats.
REMEMBERED_TEXTS = 5_000
_SENTENCE = re.compile(r"(?<=[.!?:;])\s+|\n+")
_NAME_SPLIT = re.compile(r"[-_.]+")
_COPY_SUFFIX = re.compile(r"([-_.](mirror|copy|vendored|fork|old|backup|archive))+$", re.IGNORECASE)


class EmbeddingFailed(RuntimeError):
    """The embedder could not answer (endpoint down or refusing, timeout): semantic matching steps
    aside for the run, which says so, instead of failing it."""


class GuardedEmbedder:
    """The run's `Embedder`: every failure is one `EmbeddingFailed`, so callers catch one type, and
    after the first one it is not asked again in the run (a dead endpoint would cost a timeout per
    call). It also remembers what it embedded: the researcher, the duplicate merge and the lookalike
    ranking embed the same repository texts, which cost a paid endpoint 3-5 requests per text a run."""

    def __init__(self, inner: Embedder, remember: int = REMEMBERED_TEXTS) -> None:
        self.inner = inner
        self.name = inner.name
        self.offline = inner.offline
        self.failure: str | None = None
        self._remember = remember
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if self.failure is not None:
            raise EmbeddingFailed(self.failure)
        missing = list(dict.fromkeys(text for text in texts if text not in self._vectors))
        if missing:
            try:
                fresh = self.inner.embed(missing)
            except Exception as exc:
                self.failure = f"{self.name}: {type(exc).__name__}: {str(exc)[:200]}"
                raise EmbeddingFailed(self.failure) from exc
            for text, vector in zip(missing, fresh, strict=True):
                self._vectors[text] = np.asarray(vector, dtype=np.float32)
        vectors = []
        for text in texts:
            self._vectors.move_to_end(text)
            vectors.append(self._vectors[text].tolist())
        while len(self._vectors) > self._remember:  # after reading: a call longer than the memory still gets all its vectors
            self._vectors.popitem(last=False)
        return vectors


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
    """Name (as words), description, topics and, when fetched, the start of the README; e-mail
    addresses cut out (repo vectors carry the owner, and the text may go to an embeddings endpoint)."""
    parts = [" ".join(_NAME_SPLIT.split(repo.full_name.rsplit("/", 1)[-1])), without_emails(repo.description or "")]
    if repo.topics:
        parts.append("Topics: " + ", ".join(t.replace("-", " ") for t in repo.topics) + ".")
    if readme:
        parts.append(untrusted(without_emails(readme), README_CHARS) or "")
    return untrusted(" ".join(p.strip() for p in parts if p.strip()), 2 * README_CHARS) or repo.full_name


def profile_text(bio: str | None, repos: Sequence[RepoInfo], languages: Sequence[str]) -> str:
    """A person as text: bio, the descriptions and topics of their matched repos, languages; every
    e-mail address cut out of all of it, before any text is shortened (a cut address would survive)."""
    parts = [untrusted(without_emails(bio or ""), BIO_CHARS) or ""]
    for repo in repos:
        parts.append(repo.description or "")
        parts.append(" ".join(t.replace("-", " ") for t in repo.topics))
    if languages:
        parts.append("Languages: " + ", ".join(dict.fromkeys(languages)) + ".")
    text = without_emails(" ".join(p.strip() for p in parts if p.strip()))
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
        result[n] = Relevance(
            repo=n, score=round(float(score), 4), closest=without_emails(best), relevant=float(score) >= threshold
        )
    return result


def duplicates(repos: Sequence[RepoInfo], embedder: Embedder) -> dict[str, str]:
    """Copies (mirrors, vendored or backup copies) -> the repo kept in their place: a repo whose name is
    another's plus a copy marker (`-mirror`, `-copy`, `-vendored`, `-fork`, `-old`, `-backup`,
    `-archive`) and whose description, topics and README (the name left out) are at least
    `DUPLICATE_AT` alike. Same name and description alone are not enough: thousands of unrelated
    repos are called `blog`, "Personal blog"."""
    by_name: dict[str, list[RepoInfo]] = {}
    for repo in repos:
        by_name.setdefault(_short(repo), []).append(repo)
    pairs = [
        (repo, original)
        for repo in sorted(repos, key=lambda r: r.full_name)
        if (stem := _COPY_SUFFIX.sub("", _short(repo))) != _short(repo)
        for original in by_name.get(stem, [])
    ]
    if not pairs:
        return {}
    involved = list({r.full_name: r for pair in pairs for r in pair}.values())
    vectors = dict(zip([r.full_name for r in involved], embedder.embed([_content(r) for r in involved]), strict=True))
    merged: dict[str, RepoInfo] = {}
    for repo, original in pairs:  # several originals of one name: the most starred is kept
        if cosine(vectors[repo.full_name], vectors[original.full_name]) < DUPLICATE_AT:
            continue
        current = merged.get(repo.full_name)
        if current is None or (original.stars, original.full_name) > (current.stars, current.full_name):
            merged[repo.full_name] = original
    return {copy: original.full_name for copy, original in merged.items()}


def _content(repo: RepoInfo) -> str:
    """What a copy shares with its original: description and topics (its name differs)."""
    topics = " ".join(t.replace("-", " ") for t in repo.topics)
    return untrusted(without_emails(f"{repo.description or ''} {topics}"), 2 * README_CHARS) or repo.full_name


def _short(repo: RepoInfo) -> str:
    return repo.full_name.rsplit("/", 1)[-1].casefold()


def repo_record(repo: RepoInfo, vector: Sequence[float], fetched_at: datetime, source: str = "github") -> VectorRecord:
    """A repository's vector with its provenance (the text is not stored: it can be fetched again).
    Its name starts with the owner's login, so it is tagged `person=<owner>` too: erasing or retiring
    that person (an organisation is never one) removes their repositories' vectors with their profile."""
    return VectorRecord(
        id=f"repo:{repo.full_name.casefold()}",
        values=list(vector),
        metadata={
            "kind": "repository",
            "repo": repo.full_name,
            "person": repo.full_name.split("/", 1)[0].casefold(),
            "source": source,
            "fetched_at": fetched_at.isoformat(),
        },
    )


def profile_record(login: str, vector: Sequence[float], fetched_at: datetime, source: str = "github") -> VectorRecord:
    """A person's vector: personal data, tagged `person=<login lower>` so erasure and suppression find it."""
    return VectorRecord(
        id=f"profile:{login.casefold()}",
        values=list(vector),
        metadata={"kind": "profile", "person": login.casefold(), "source": source, "fetched_at": fetched_at.isoformat()},
    )
