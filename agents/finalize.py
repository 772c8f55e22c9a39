"""Finalize: the summary (SPEC's `campaign.completed` data plus run facts) and the artifacts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from langgraph.runtime import Runtime

from agents.context import Context
from agents.state import State
from foundation.artifacts import LEADS_CONTACTABLE, LEADS_FULL, SUMMARY, TRACE, contactable, write_artifacts
from foundation.events import CAMPAIGN_COMPLETED, emit

AGENT = "finalize"


def finalize(state: State, runtime: Runtime[Context]) -> dict:
    run, plan = state["run"], state["plan"]
    prospects = state.get("prospects", [])
    api = runtime.context.github.budget.snapshot()
    stops = state.get("stop_reasons", [])
    verdicts = [p.compliance.verdict for p in prospects if p.compliance]
    summary = {
        "duration_seconds": round((datetime.now(UTC) - run.started_at).total_seconds(), 1),
        "prospects_found": len(prospects),
        "emails_contactable": len(contactable(prospects)),
        "conversion_rate": None,
        "artifacts": [LEADS_FULL, LEADS_CONTACTABLE, SUMMARY, TRACE],
        "run_id": run.run_id,
        "status": "refused" if plan.refusal else ("partial" if stops else "complete"),
        "stop_reasons": sorted(set(stops)),
        "goal": state["goal"],
        "plan": plan.model_dump(mode="json"),
        "verdicts": {v: verdicts.count(v) for v in ("approved", "needs_review", "rejected")},
        "dropped": {r: state.get("dropped", []).count(r) for r in sorted(set(state.get("dropped", [])))},
        "api_requests": api["api_requests"],
        "api_requests_saved_by_cache": api["api_requests_saved_by_cache"],
        "api_retries": api["retries"],
        "api_base": run.api_base,
        "llm": run.llm,
        "sandbox": run.sandbox,
        "prompt_version": run.prompt_version,
    }
    if run.out_dir is not None:  # None: the caller stores the artifacts itself (the service)
        write_artifacts(Path(run.out_dir), prospects, summary)
    emit(
        CAMPAIGN_COMPLETED,
        AGENT,
        **{k: summary[k] for k in ("duration_seconds", "prospects_found", "emails_contactable", "conversion_rate", "artifacts")},
    )
    return {"summary": summary}
