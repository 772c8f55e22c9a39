"""The run's files: leads_full.json, leads_contactable.csv, summary.json (trace.jsonl is streamed).

Written atomically (temp file + rename), so an interrupted run never leaves a half-written artifact
and a resumed run simply rewrites them. The CSV is for spreadsheets, and its names, companies,
locations and drafts come from strangers' profiles: `foundation.csv_cells` neutralises every text cell.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from foundation.csv_cells import csv_text
from foundation.schemas import Prospect
from foundation.schemas.run import RunSummary

LEADS_FULL = "leads_full.json"
LEADS_CONTACTABLE = "leads_contactable.csv"
SUMMARY = "summary.json"
TRACE = "trace.jsonl"
ARTIFACTS = [LEADS_FULL, LEADS_CONTACTABLE, SUMMARY, TRACE]  # a run's files, as its summary lists them
CSV_COLUMNS = [
    "id",
    "username",
    "name",
    "email",
    "company",
    "location",
    "country",
    "score",
    "signals",
    "subject",
    "body",
    "variant",
]


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def contactable(prospects: list[Prospect]) -> list[Prospect]:
    return [p for p in prospects if p.compliance and p.compliance.verdict == "approved"]


def leads_csv(prospects: list[Prospect]) -> str:
    rows = [
        {
            "id": p.id,
            "username": p.username,
            "name": p.name or "",
            "email": p.email or "",
            "company": p.company or "",
            "location": p.location or "",
            "country": p.country or "",
            "score": p.score,
            "signals": ";".join(p.signal_names()),
            "subject": p.message.subject if p.message else "",
            "body": p.message.body if p.message else "",
            "variant": p.message.variant if p.message else "",
        }
        for p in contactable(prospects)
    ]
    return csv_text(CSV_COLUMNS, rows)


def render_artifacts(prospects: list[Prospect], summary: RunSummary | None) -> dict[str, str]:
    """The computed artifacts' contents, by name (the service stores them without a file); summary.json
    only with a summary (the service rewrites the files of a job that may have none)."""
    leads = [p.model_dump(mode="json") for p in prospects]
    files = {LEADS_FULL: json.dumps(leads, indent=2, ensure_ascii=False) + "\n", LEADS_CONTACTABLE: leads_csv(prospects)}
    if summary is not None:
        files[SUMMARY] = json.dumps(summary.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    return files


def write_artifacts(out_dir: Path, prospects: list[Prospect], summary: RunSummary) -> None:
    """Write the three computed artifacts into the run's out directory."""
    for name, text in render_artifacts(prospects, summary).items():
        write_atomic(out_dir / name, text)
