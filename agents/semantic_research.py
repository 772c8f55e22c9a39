"""The researcher's semantic step: relevance of each found repo to the goal's subject, the searches an
open-ended subject needs, and the merge of near-duplicate repos before mining.

Why beside the topic rules and not instead of them: for a goal in the vocabulary ("Python ML
maintainers") the rules already say exactly which repos count, so the score only annotates them
(the trace names the weakest matches); for an open-ended goal ("developers building local-first sync
engines") the rules can only search the goal's words literally and keep everything that names them,
so there the score decides: a repo is kept when it is close enough to the subject, mined closest
first, and the audience's subject becomes the kept repos (as the researcher agent's judgement does).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from agents.context import Context
from foundation.events import reasoning
from foundation.schemas import SearchPlan, SearchQuery
from foundation.schemas.github import RepoInfo
from foundation.text import singular
from foundation.vocabulary import load_vocabulary
from tools.semantic import EmbeddingFailed, Relevance, duplicates, relevance, repo_record, repo_text
from tools.vectors.base import Embedder, VectorRecord

AGENT = "researcher"
# Words of an open-ended goal never worth a search of their own.
_FILLER = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "for",
        "to",
        "in",
        "on",
        "with",
        "who",
        "that",
        "build",
        "building",
        "builders",
        "work",
        "working",
        "apps",
        "app",
        "people",
    ]
)
MAX_WORD_SEARCHES = 6
MAX_TOPIC_SEARCHES = 6
WEAKEST_SHOWN = 3


class SemanticOutcome(BaseModel):
    """What the semantic step decided: the repos kept (closest first for an open-ended goal), their
    scores, and which copies were merged into which repo."""

    kept: dict[str, RepoInfo]
    order: list[str] = Field(default_factory=list, description="mining order; empty: the usual order")
    scores: dict[str, Relevance] = Field(default_factory=dict)
    merged: dict[str, str] = Field(default_factory=dict)


def subject_text(plan: SearchPlan, goal: str = "") -> str:
    """The goal's subject in words: the domains' labels and the keywords, or, for an open-ended goal,
    the words the planner could not place; in the goal's own order when it is given (the planner
    lists keywords and ignored words apart, and "offline-first" must stay a pair)."""
    vocabulary = load_vocabulary()
    audience = plan.audience
    labels = [vocabulary.domains[d].label for part in audience.domains for d in part.split("+") if d in vocabulary.domains]
    words = list(audience.keywords)
    if plan.open_ended:
        words += plan.ignored_terms
    if goal:
        text = goal.casefold()
        words.sort(key=lambda w: text.find(w.casefold()) if w.casefold() in text else len(text))
    return " ".join(dict.fromkeys([*labels, *words]))


def open_queries(plan: SearchPlan, goal: str = "") -> list[SearchQuery]:
    """Literal searches for an open-ended subject: adjacent word pairs as topic slugs ("local-first")
    and each content word in names, descriptions and topics; the relevance score sorts them out."""
    words = [w for w in subject_text(plan, goal).split() if w.isascii() and w.replace("-", "").isalnum()]
    content = [singular(w) for w in words if w.casefold() not in _FILLER]
    pairs = [f"topic:{a}-{b}" for a, b in itertools.pairwise(words) if a not in _FILLER and b not in _FILLER]
    terms = [*pairs, *(f"{w} in:name,description,topics" for w in dict.fromkeys(content))][: MAX_WORD_SEARCHES + len(pairs)]
    return [SearchQuery(q=_with_languages(t, plan), max_results=100, purpose="open-ended subject") for t in terms]


def feedback_queries(
    plan: SearchPlan, scores: dict[str, Relevance], repos: dict[str, RepoInfo], done: set[str]
) -> list[SearchQuery]:
    """Topics of the repos closest to the subject, searched next (they name the subject in GitHub's
    own words, which a goal's few words may not)."""
    closest = sorted((s for s in scores.values() if s.relevant), key=lambda s: -s.score)[:10]
    topics = [t for s in closest for t in repos[s.repo].topics]
    ranked = sorted(dict.fromkeys(topics), key=lambda t: -topics.count(t))
    queries = [
        SearchQuery(q=_with_languages(f"topic:{t}", plan), max_results=100, purpose="topic of close repos") for t in ranked
    ]
    return [q for q in queries if q.q not in done][:MAX_TOPIC_SEARCHES]


def _with_languages(term: str, plan: SearchPlan) -> str:
    languages = plan.audience.languages
    language = f" language:{languages[0]}" if len(languages) == 1 and " " not in languages[0] else ""
    return f"{term}{language} archived:false"


def score(ctx: Context, plan: SearchPlan, repos: dict[str, RepoInfo]) -> dict[str, Relevance]:
    """Each repo's relevance to the subject (empty without an embedder or a subject)."""
    subject = subject_text(plan)
    if ctx.embedder is None or not subject or not repos:
        return {}
    try:
        return relevance(ctx.embedder, subject, {name: repo_text(repo) for name, repo in repos.items()})
    except EmbeddingFailed as exc:
        reasoning(AGENT, f"no semantic relevance ({exc}): the topic rules alone decide")
        return {}


def decide(ctx: Context, plan: SearchPlan, kept: dict[str, RepoInfo], scores: dict[str, Relevance]) -> SemanticOutcome:
    """Keep, drop and order by relevance (open-ended goals) or annotate (vocabulary goals); then merge copies."""
    if not scores:
        return SemanticOutcome(kept=kept)
    if plan.open_ended:
        for name, s in sorted(scores.items(), key=lambda item: -item[1].score):
            verdict = "relevant" if s.relevant else "not relevant"
            reasoning(
                AGENT, f"{name}: {verdict} ({s.score:.2f}), closest: {s.closest!r}", repo=name, relevant=s.relevant, score=s.score
            )
        kept = {name: repo for name, repo in kept.items() if scores[name].relevant}
    else:
        weakest = sorted((scores[name] for name in kept), key=lambda s: s.score)[:WEAKEST_SHOWN]
        if weakest:
            shown = "; ".join(f"{s.repo} {s.score:.2f} ({s.closest!r})" for s in weakest)
            reasoning(
                AGENT, f"semantic match to the subject {subject_text(plan)!r} of the {len(kept)} kept repos; weakest: {shown}"
            )
    merged = merge_copies(ctx, kept)
    kept = {name: repo for name, repo in kept.items() if name not in merged}
    order = sorted(kept, key=lambda name: -scores[name].score) if plan.open_ended else []
    return SemanticOutcome(kept=kept, order=order, scores=scores, merged=merged)


def store(ctx: Context, agent: str, records: list[VectorRecord]) -> None:
    """Upsert `records` into the run's vector store, in its namespace. A store that fails (a remote
    index unreachable) costs the run its stored vectors, not its results: one reasoning line says so."""
    if ctx.vectors is None or not records:
        return
    try:
        ctx.vectors.upsert(ctx.vector_namespace, records)
    except Exception as exc:
        reasoning(agent, f"{len(records)} vectors not stored in {ctx.vectors.name} ({type(exc).__name__})")


def merge_copies(ctx: Context, repos: dict[str, RepoInfo]) -> dict[str, str]:
    """Near-duplicate repos (renamed copies, mirrors) -> the one mined in their place; stores every
    repo's vector with its provenance when a vector store is configured."""
    if ctx.embedder is None or not repos:
        return {}
    try:
        return _merge_copies(ctx, ctx.embedder, repos)
    except EmbeddingFailed as exc:
        reasoning(AGENT, f"near-duplicate repos not merged ({exc})")
        return {}


def _merge_copies(ctx: Context, embedder: Embedder, repos: dict[str, RepoInfo]) -> dict[str, str]:
    names = list(repos)
    if ctx.vectors is not None:
        vectors = embedder.embed([repo_text(repos[n]) for n in names])
        now = datetime.now(UTC)
        store(ctx, AGENT, [repo_record(repos[n], v, now) for n, v in zip(names, vectors, strict=True)])
    merged = duplicates(list(repos.values()), embedder)
    if merged:
        pairs = ", ".join(f"{copy} -> {kept}" for copy, kept in sorted(merged.items()))
        reasoning(AGENT, f"merged {len(merged)} near-duplicate repos before mining (same text and name or description): {pairs}")
    return merged
