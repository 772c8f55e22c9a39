"""Finalize: the run's summary (SPEC's `campaign.completed` data plus run facts) and the artifacts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from langgraph.runtime import Runtime

from agents.context import Context
from agents.state import State
from foundation.artifacts import ARTIFACTS, contactable, write_artifacts
from foundation.events import CAMPAIGN_COMPLETED, emit
from foundation.schemas.run import EnrichmentPaths, LLMUsage, RunSummary

AGENT = "finalize"


def finalize(state: State, runtime: Runtime[Context]) -> dict:
    run, plan = state["run"], state["plan"]
    prospects = state.get("prospects", [])
    budget = runtime.context.github.budget.report()
    rest = (budget.core, budget.search)
    stops = state.get("stop_reasons", [])
    dropped = state.get("dropped", [])
    verdicts = [p.compliance.verdict for p in prospects if p.compliance]
    gate = runtime.context.gate
    summary = RunSummary(
        duration_seconds=round((datetime.now(UTC) - run.started_at).total_seconds()),
        prospects_found=len(prospects),
        emails_contactable=len(contactable(prospects)),
        artifacts=ARTIFACTS,
        run_id=run.run_id,
        status="refused" if plan.refusal else ("partial" if stops else "complete"),
        stop_reasons=sorted(set(stops)),
        goal=state["goal"],
        plan=plan,
        verdicts={v: verdicts.count(v) for v in ("approved", "needs_review", "rejected")},
        dropped={r: dropped.count(r) for r in sorted(set(dropped))},
        api_requests=sum(b.requests for b in rest),
        api_requests_saved_by_cache=sum(b.saved_by_cache for b in rest),
        api_retries=sum(b.retries for b in rest),
        budget=budget,
        enrichment=EnrichmentPaths(
            graphql=state.get("enriched_via", {}).get("graphql", 0),
            rest=state.get("enriched_via", {}).get("rest", 0),
            graphql_off="; ".join(dict.fromkeys(state.get("graphql_off", []))) or None,
        ),
        api_base=run.api_base,
        llm=run.llm,
        llm_usage=gate.usage() if gate is not None else LLMUsage(status="none"),
        sandbox=run.sandbox,
        prompt_version=run.prompt_version,
        research=state.get("research"),
    )
    if run.out_dir is not None:  # None: the caller stores the artifacts itself (the service)
        write_artifacts(Path(run.out_dir), prospects, summary)
    emit(CAMPAIGN_COMPLETED, AGENT, **summary.completed_event().model_dump(mode="json"))
    return {"summary": summary}
