"""A sync, whoever starts it (`cmo sync`, a service job): which leads go, what stops them, and what
pulled changes mean. Connectors stay unaware of suppression, verdicts and engagement.

- `eligible()`: the approved leads, or under `include_all` every lead with a verdict;
- `sync()`: suppressed people are never pushed (reported `skipped: suppressed`, nothing sent about
  them); the rest are mapped (only the mapping's fields leave) and pushed in `batch_size` chunks, with
  progress after each; a dry run calls nothing and reports which fields would leave;
- `interpret()`: a pulled change becomes a conversion (`stage_events`), an opt-out (`unsubscribed`,
  `bounced`: suppressions) or nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from foundation.schemas import Prospect
from tools.destinations.base import Destination, PushReport, RecordResult, RemoteChange
from tools.destinations.config import Conversion, DestinationConfig
from tools.destinations.http import batched
from tools.destinations.mapping import map_prospect
from tools.destinations.registry import mapping_for
from tools.suppression import SuppressionList

Progress = Callable[[int, int], None]  # (records done, records in all)
SUPPRESSED = "suppressed: never sent"


class SyncReport(BaseModel):
    destination: str
    platform: str
    dry_run: bool = False
    list_id: str | None = None
    results: list[RecordResult] = Field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(r.outcome for r in self.results))

    @property
    def failed(self) -> list[RecordResult]:
        return [r for r in self.results if r.outcome == "failed"]

    @property
    def delivered(self) -> list[RecordResult]:
        """Records the destination now holds (what erasure must reach)."""
        return [r for r in self.results if r.remote_id and r.outcome in ("created", "updated", "unchanged", "conflict")]


def eligible(prospects: Sequence[Prospect], *, include_all: bool = False) -> list[Prospect]:
    if include_all:
        return [p for p in prospects if p.compliance is not None]
    return [p for p in prospects if p.compliance is not None and p.compliance.verdict == "approved"]


def sync(
    destination: Destination,
    config: DestinationConfig,
    prospects: Sequence[Prospect],
    *,
    suppression: SuppressionList,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> SyncReport:
    report = SyncReport(destination=config.label, platform=config.platform, dry_run=dry_run)
    mapping = mapping_for(config)
    allowed: list[Prospect] = []
    for prospect in prospects:
        if suppression.contains_prospect(prospect):
            report.results.append(RecordResult(prospect_id=prospect.id, outcome="skipped", detail=SUPPRESSED))
        else:
            allowed.append(prospect)
    contacts = [map_prospect(p, mapping) for p in allowed]
    done = len(report.results)
    total = len(prospects)
    if dry_run:
        for contact in contacts:
            fields = sorted({*contact.fields, *contact.custom})
            report.results.append(
                RecordResult(
                    prospect_id=contact.prospect_id, outcome="skipped", detail=f"dry run: would send {', '.join(fields)}"
                )
            )
        if progress:
            progress(total, total)
        return report
    for chunk in batched(contacts, config.batch_size):
        pushed: PushReport = destination.push(chunk, list_name=config.list_name, policy=config.conflict_policy)
        report.results.extend(pushed.results)
        report.list_id = pushed.list_id or report.list_id
        done += len(chunk)
        if progress:
            progress(done, total)
    return report


Effect = Conversion | Literal["unsubscribed"]


def interpret(change: RemoteChange, config: DestinationConfig) -> Effect | None:
    """What a pulled change records: a conversion, an opt-out (unsubscribes and hard bounces both
    mean "never email again"), or nothing (a stage that is not a conversion)."""
    if change.kind in ("unsubscribed", "bounced"):
        return "unsubscribed"
    if change.kind in ("demo_booked", "trial_started", "contact_made"):
        return change.kind
    stages = {name.casefold(): event for name, event in config.stage_events.items()}
    return stages.get(change.value.casefold())
