"""`RunSummary`: the JSON it writes is the contract summary.json, the job API and the
`campaign.completed` event had as plain dicts, and it survives a checkpoint."""

from __future__ import annotations

import json

from foundation.artifacts import ARTIFACTS, SUMMARY, render_artifacts
from foundation.schemas import SearchPlan, TargetAudience
from foundation.schemas.run import BucketUse, CampaignCompleted, GitHubBudget, RunSummary
from storage.checkpoints import serializer

BUDGET = GitHubBudget(
    core=BucketUse(requests=280, saved_by_cache=12, retries=0, remaining=4690),
    search=BucketUse(requests=30, saved_by_cache=0, retries=0, remaining=0),
    graphql=BucketUse(requests=0, saved_by_cache=0, retries=0, remaining=None),
    budget_units=310,
)
PLAN = SearchPlan(audience=TargetAudience(languages=["Python"], topics=["machine-learning"]), max_prospects=20)
FINISHED = RunSummary(
    duration_seconds=42.0,
    prospects_found=20,
    emails_contactable=7,
    artifacts=ARTIFACTS,
    run_id="cmo_20260105_120000_abcdef",
    status="partial",
    stop_reasons=["GitHub request budget spent"],
    goal="Find 20 Python maintainers in Zürich",
    plan=PLAN,
    verdicts={"approved": 7, "needs_review": 10, "rejected": 3},
    dropped={"inactive": 4, "not_a_person": 1},
    api_requests=310,
    api_requests_saved_by_cache=12,
    api_retries=0,
    budget=BUDGET,
    api_base="sandbox:42:1500:2026-01-05",
    llm="none",
    sandbox=True,
    prompt_version="v1",
)
SPEC_FIELDS = ["duration_seconds", "prospects_found", "emails_contactable", "conversion_rate", "artifacts"]


def test_summary_json_is_what_finalize_wrote_as_a_dict() -> None:
    """Same keys, order and formatting as the dict `finalize` built before the summary was typed; the
    one deliberate addition since is `budget` (issue 10: GitHub's buckets), after the api_* totals it
    breaks down, which keep their meaning (api_requests = core + search requests)."""
    as_dict = {
        "duration_seconds": 42,
        "prospects_found": 20,
        "emails_contactable": 7,
        "conversion_rate": None,
        "artifacts": ["leads_full.json", "leads_contactable.csv", "summary.json", "trace.jsonl"],
        "run_id": "cmo_20260105_120000_abcdef",
        "status": "partial",
        "stop_reasons": ["GitHub request budget spent"],
        "goal": "Find 20 Python maintainers in Zürich",
        "plan": PLAN.model_dump(mode="json"),
        "verdicts": {"approved": 7, "needs_review": 10, "rejected": 3},
        "dropped": {"inactive": 4, "not_a_person": 1},
        "api_requests": 310,
        "api_requests_saved_by_cache": 12,
        "api_retries": 0,
        "budget": {
            "core": {"requests": 280, "saved_by_cache": 12, "retries": 0, "remaining": 4690},
            "search": {"requests": 30, "saved_by_cache": 0, "retries": 0, "remaining": 0},
            "graphql": {"requests": 0, "saved_by_cache": 0, "retries": 0, "remaining": None},
            "budget_units": 310,
        },
        "api_base": "sandbox:42:1500:2026-01-05",
        "llm": "none",
        "sandbox": True,
        "prompt_version": "v1",
    }
    expected = json.dumps(as_dict, indent=2, ensure_ascii=False, default=str) + "\n"
    assert render_artifacts([], FINISHED)[SUMMARY] == expected


def test_a_job_stopped_before_finalize_has_no_run_facts_in_its_json() -> None:
    stopped = RunSummary(
        duration_seconds=3.5,
        prospects_found=2,
        emails_contactable=0,
        artifacts=ARTIFACTS,
        run_id="cmo_x",
        status="cancelled",
        goal="g",
    )
    assert list(stopped.model_dump(mode="json")) == [*SPEC_FIELDS, "run_id", "status", "stop_reasons", "goal"]
    assert stopped.model_dump(mode="json")["conversion_rate"] is None, "SPEC's null stays"
    corrected = stopped.model_copy(update={"prospects_found": 1, "suppressed_after_run": 1})
    assert corrected.model_dump(mode="json")["suppressed_after_run"] == 1


def test_campaign_completed_is_exactly_specs_data() -> None:
    event = FINISHED.completed_event()
    assert type(event) is CampaignCompleted
    assert event.model_dump(mode="json") == {
        "duration_seconds": 42,
        "prospects_found": 20,
        "emails_contactable": 7,
        "conversion_rate": None,
        "artifacts": ARTIFACTS,
    }
    assert list(CampaignCompleted.model_fields) == SPEC_FIELDS


def test_erased_leads_come_off_the_counts_never_below_zero() -> None:
    recounted = FINISHED.without_leads(found=1, contactable=9)
    assert type(recounted) is RunSummary and recounted.plan == PLAN
    assert (recounted.prospects_found, recounted.emails_contactable) == (19, 0)


def test_a_checkpoint_keeps_the_summary_typed() -> None:
    serde = serializer()
    restored = serde.loads_typed(serde.dumps_typed({"summary": FINISHED}))["summary"]
    assert isinstance(restored, RunSummary) and restored == FINISHED


def test_a_summary_stored_as_a_dict_is_read_back_as_the_same_summary() -> None:
    """jobs.summary, summary.json and checkpoints written before the summary was typed hold dicts."""
    assert RunSummary.model_validate(json.loads(render_artifacts([], FINISHED)[SUMMARY])) == FINISHED


def test_a_summary_written_before_buckets_still_reads() -> None:
    """summary.json files and job rows from before `budget` existed have none; it stays absent."""
    old = json.loads(render_artifacts([], FINISHED)[SUMMARY])
    del old["budget"]
    read = RunSummary.model_validate(old)
    assert read.budget is None and "budget" not in read.model_dump(mode="json")
    assert read == FINISHED.model_copy(update={"budget": None})
