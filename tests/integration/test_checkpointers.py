"""The same run, interrupted and resumed, on every checkpointer (like langgraph's own tests)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from foundation.settings import Settings
from graph.runner import resume_job, run_job
from sandbox import open_sandbox

GOAL = "Find Python maintainers active in ML"


class Crash(Exception):
    """Raised from the observer to stop the stream mid-run, as a dying process would."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("migrated_postgres_url")  # the checkpoints' data keys live in the service schema


def _settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(cmo_home=tmp_path / "home", database_url=database_url, cmo_sender_postal_address="1 Main St, Springfield")


def test_interrupted_run_resumes_to_the_same_leads(tmp_path: Path, database_url: str | None) -> None:
    settings = _settings(tmp_path, database_url).model_copy(update={"github_graphql": False})
    reference = run_job(GOAL, settings, sandbox=open_sandbox, out_dir=tmp_path / "reference")

    finished: list[str] = []

    def crash_midway(event: dict[str, Any]) -> None:
        if event["event"] == "agent.finished" and event["agent"] == "enricher":
            finished.append(event["data"]["task"])
            if len(finished) == 20:
                raise Crash

    # Latency keeps most enricher branches in flight when the crash comes. REST: one branch per person
    # (the GraphQL path enriches a whole wave in one or two batches, leaving nothing in flight to crash).
    fresh = Settings(cmo_home=tmp_path / "home2", database_url=database_url, sandbox_latency_ms=20, github_graphql=False)
    with pytest.raises(Crash):
        run_job(
            GOAL,
            fresh,
            sandbox=open_sandbox,
            out_dir=tmp_path / "crashed",
            observer=crash_midway,
            run_id="cmo_crash_test_" + tmp_path.name[-8:],
        )
    # Forget the ETag cache, so any repeated GitHub call would be counted again.
    for path in (fresh.home / "cache").glob("github_etags.sqlite*"):
        path.unlink()
    resumed = resume_job("cmo_crash_test_" + tmp_path.name[-8:], fresh, sandbox=open_sandbox)

    assert resumed.summary.status == "complete"
    assert [p.id for p in resumed.prospects] == [p.id for p in reference.prospects]
    done_before_crash = len(reference.summary.plan.queries) + 20
    assert resumed.summary.api_requests <= reference.summary.api_requests - done_before_crash, "finished steps were repeated"
    assert (tmp_path / "crashed" / "leads_full.json").is_file()


def test_resuming_a_finished_run_changes_nothing(tmp_path: Path, database_url: str | None) -> None:
    settings = _settings(tmp_path, database_url)
    done = run_job(GOAL, settings, sandbox=open_sandbox, out_dir=tmp_path / "out", run_id="cmo_done_" + tmp_path.name[-8:])
    assert done.summary.api_base == f"sandbox:7:1500:{datetime.now(UTC).date().isoformat()}", "the world's day is kept"
    again = resume_job(done.run_id, settings, sandbox=open_sandbox)
    assert [p.id for p in again.prospects] == [p.id for p in done.prospects]
    assert again.summary == done.summary
