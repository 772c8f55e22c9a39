"""`cmo review RUN_DIR`: a person approves or rejects a CLI run's drafts, so that `cmo send` sends them.

`cmo send` sends the leads of `leads_full.json` whose compliance verdict is `approved`; a run leaves
some `needs_review` (a rule or the model wants a person to look). This command records a person's
decision there, exactly as the service's review does (`agents.compliance.with_person_decision`):
the verdict becomes the decision and a `person_review` reason names who decided, which is also what
lets a role address (info@ ...) through `cmo send`. An approval never lifts a rule's rejection,
and a person suppressed or objecting since the run cannot be approved (`approval_refusal`).

Each decision, and each refusal, is appended to `RUN_DIR/reviews.jsonl` (when, who, what, why);
`leads_full.json` and `leads_contactable.csv` are rewritten to match (each atomically).
"""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.markup import escape

from cli.common import EXIT_OK, EXIT_PARTIAL, console, fail, load_campaign, load_settings
from foundation.artifacts import write_atomic

if TYPE_CHECKING:
    from foundation.schemas import Prospect

REVIEWS = "reviews.jsonl"


def _pending(prospects: list[Prospect]) -> None:
    """The drafts that wait for a person, with the reasons the rules gave."""
    waiting = [p for p in prospects if p.compliance is not None and p.compliance.verdict == "needs_review"]
    for prospect in waiting:
        flags = ", ".join(dict.fromkeys(r.split(":", 1)[0] for r in (prospect.compliance.reasons if prospect.compliance else [])))
        subject = prospect.message.subject if prospect.message else "(no draft)"
        console.print(f"{escape(prospect.id)}  {escape(repr(subject))}  [dim]{escape(flags)}[/]", highlight=False)
    console.print(f"{len(waiting)} drafts need review; decide with --id ID [--reject --reason ...] or --all-clean")


def review(
    run_dir: Annotated[Path, typer.Argument(help="A run's out directory (with leads_full.json).", file_okay=False)],
    ids: Annotated[list[str] | None, typer.Option("--id", help="A lead to decide on (repeatable).")] = None,
    all_clean: Annotated[
        bool, typer.Option("--all-clean", help="Approve every draft that needs review and no rule rejects.")
    ] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject the --id leads instead of approving them.")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (required to reject).")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who decides (default: the login name).")] = None,
    campaign: Annotated[Path | None, typer.Option("--campaign", help="The campaign JSON the run used.")] = None,
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Also honour this tenant's suppression list (service database).")
    ] = None,
) -> None:
    """Approve or reject RUN_DIR's drafts that need review (without --id or --all-clean: list them)."""
    from agents.compliance import approval_refusal, with_person_decision
    from cli.send import _load_run, people_not_to_contact
    from foundation.artifacts import LEADS_CONTACTABLE, LEADS_FULL, render_artifacts
    from foundation.schemas import Campaign

    prospects, _ = _load_run(run_dir)
    if not ids and not all_clean:
        _pending(prospects)
        raise typer.Exit(EXIT_OK)
    if ids and all_clean:
        fail("give either --id or --all-clean, not both")
    if all_clean and reject:
        fail("--all-clean approves; reject leads one by one with --id")
    if reject and not (reason or "").strip():
        fail("a rejection needs --reason: say why this lead must not be contacted")
    who = (by or getpass.getuser()).strip()
    if not who or any(c in who for c in "\r\n"):
        fail("--by: a name on one line")
    settings = load_settings()
    suppression = people_not_to_contact(settings, tenant)
    rules_campaign = load_campaign(campaign) if campaign else Campaign.model_validate({})
    by_id = {p.id: i for i, p in enumerate(prospects)}
    unknown = [i for i in ids or [] if i not in by_id]
    if unknown:
        fail(f"{run_dir} has no lead {unknown[0]!r} (ids look like gh_<login>; run `cmo review {run_dir}` to list them)")
    if all_clean:
        wanted = [p.id for p in prospects if p.compliance is not None and p.compliance.verdict == "needs_review"]
    else:
        wanted = list(dict.fromkeys(ids or []))
    decision: Literal["approved", "rejected"] = "rejected" if reject else "approved"
    refused = 0
    now = datetime.now(UTC).isoformat()
    with (run_dir / REVIEWS).open("a", encoding="utf-8") as log:
        for prospect_id in wanted:
            prospect = prospects[by_id[prospect_id]]
            refusal = [] if reject else approval_refusal(prospect, rules_campaign, suppression, settings)
            entry: dict[str, object] = {"at": now, "prospect_id": prospect_id, "decision": decision, "reason": reason, "by": who}
            if refusal:
                refused += 1
                entry |= {"outcome": "refused", "refused_because": refusal}
                console.print(f"[yellow]not approved[/] {escape(prospect_id)}: {escape('; '.join(refusal))}", highlight=False)
            else:
                prospects[by_id[prospect_id]] = with_person_decision(prospect, decision, f"{who}: cmo review")
                entry["outcome"] = decision
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")
    files = render_artifacts(prospects, None)
    for name in (LEADS_FULL, LEADS_CONTACTABLE):
        if (run_dir / name).exists():
            write_atomic(run_dir / name, files[name])
    console.print(f"{len(wanted) - refused} {decision}, {refused} refused; recorded in {run_dir / REVIEWS}")
    raise typer.Exit(EXIT_PARTIAL if refused else EXIT_OK)
