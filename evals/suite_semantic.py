"""Semantic suite: research relevance for open-ended subjects and lookalike quality, as whole runs on
the sandbox world with personas (`sandbox/personas.py`), scored with its hidden truth.

- relevance: the researcher's per-repo relevance lines (`agent.reasoning` with `repo`, `relevant`,
  `score`, emitted closest first) give the repos it kept in mining order; precision@k is the share of
  the first k (or all, when it kept fewer) that are about the planted subject. Recall (of the subject's
  live repos) is reported too.
- lookalike: the seeds are the first `seeds` members of the persona owning a live repo; precision@k
  is the share of the top k leads with the seeds' persona.

The researcher agent is switched off (`CMO_RESEARCH=rules`): the suite measures the embeddings path,
which a model would otherwise replace for open-ended goals. Offline embeddings (the shipped model).
"""

from __future__ import annotations

import json
from pathlib import Path
from statistics import fmean
from typing import Any

from evals.datasets import SemanticExample
from evals.suites import ExampleResult, SuiteContext
from foundation.artifacts import TRACE
from graph.runner import run_job
from sandbox import generate_world, open_sandbox, people_with_persona, persona_of, subject_repos
from sandbox.world import World

ADVISORY: tuple[str, ...] = ()


def kept_repos(trace: Path) -> list[str]:
    """The repos the researcher judged relevant, closest first (its per-repo relevance lines)."""
    kept = []
    for line in trace.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        data = event.get("data", {})
        if (
            event.get("event") == "agent.reasoning"
            and event.get("agent") == "researcher"
            and data.get("relevant")
            and "score" in data
        ):
            kept.append(data["repo"])
    return kept


def seed_logins(world: World, persona: str, count: int) -> list[str]:
    """The first `count` people of `persona` (world order) who own a live repo with contributors."""
    owners = {r.owner for r in world.repos.values() if not r.fork and not r.archived and r.contributors}
    return [login for login in people_with_persona(world, persona) if login in owners][:count]


def evaluate(example: SemanticExample, ctx: SuiteContext) -> ExampleResult:
    out = ctx.run_dir / "semantic" / example.id
    settings = ctx.settings(
        home=ctx.run_dir / "home" / f"semantic-{example.id}",
        sandbox_seed=example.seed,
        sandbox_users=example.users,
        cmo_research="rules",
        cmo_embeddings="offline",
    )
    world = generate_world(seed=example.seed, users=example.users)
    seeds = seed_logins(world, example.persona or "", example.seeds) if example.kind == "lookalike" else []
    goal = f"{example.goal} like {', '.join('@' + s for s in seeds)}" if seeds else example.goal
    job = run_job(goal, settings, out_dir=out, max_prospects=example.k, sandbox=open_sandbox)
    leads = [p.username for p in job.prospects]
    outputs: dict[str, Any] = {"goal": goal, "status": job.summary.status, "leads": len(leads)}
    if example.kind == "relevance":
        truth = subject_repos(world, example.subject or "")
        live = {name for name in truth if not world.repos[name].archived}
        kept = kept_repos(out / TRACE)
        top = kept[: example.k]
        score = round(sum(name in truth for name in top) / len(top), 4) if top else 0.0
        recall = round(len(live & set(kept)) / len(live), 4) if live else 0.0
        outputs |= {"kept": len(kept), "off_subject": [n for n in top if n not in truth][:20]}
        scores = {"precision_at_k": score, "recall": recall, "kept": len(kept)}
    else:
        shared = [login for login in leads[: example.k] if persona_of(world, login) == example.persona]
        score = round(len(shared) / min(example.k, len(leads)), 4) if leads else 0.0
        others: dict[str, int] = {}
        for login in leads[: example.k]:
            label = persona_of(world, login) or "none"
            if label != example.persona:
                others[label] = others.get(label, 0) + 1
        outputs |= {"seeds": seeds, "other_personas": others}
        scores = {"precision_at_k": score, "leads": len(leads)}
    failures = [f"precision@{example.k} {score} < {example.min_score}"] if score < example.min_score else []
    if job.summary.status != "complete":
        failures.append(f"run status {job.summary.status}: {job.summary.stop_reasons}")
    return ExampleResult(
        id=example.id,
        inputs=example.model_dump(exclude_defaults=True),
        outputs=outputs,
        scores=scores,
        passed=not failures,
        failures=failures,
        tags=[example.kind],
    )


def aggregate(results: list[ExampleResult]) -> dict[str, Any]:
    """Mean precision@k per kind (the issue's targets: relevance >= 0.85, lookalike persona share >= 0.80)."""
    if not results:
        return {"examples": 0}
    by_kind = {kind: [r.scores["precision_at_k"] for r in results if kind in r.tags] for kind in ("relevance", "lookalike")}
    relevance = [r.scores["recall"] for r in results if "relevance" in r.tags]
    return {
        "examples": len(results),
        "pass_rate": round(sum(r.passed for r in results) / len(results), 4),
        "relevance_precision_at_k": round(fmean(by_kind["relevance"]), 4) if by_kind["relevance"] else None,
        "relevance_recall": round(fmean(relevance), 4) if relevance else None,
        "lookalike_persona_share": round(fmean(by_kind["lookalike"]), 4) if by_kind["lookalike"] else None,
    }
