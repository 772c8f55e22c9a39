"""Approved leads with real drafts (the copywriter's footer, signed one-click links) for the sending tests."""

from __future__ import annotations

import json
from pathlib import Path

from agents.copy_templates import SenderIdentity, footer, opt_out_headers
from foundation.schemas import ComplianceReview, Message, Prospect
from foundation.schemas.prospect import PERSON_REVIEW
from privacy.optout import LinkSigner

POSTAL = "Acme DevTools, 1 Main St, Springfield, OR 97477, USA"
SENDER_EMAIL = "ada@acme-devtools.io"
PUBLIC_URL = "https://cmo.acme-devtools.io"
SIGNER = LinkSigner(f"{PUBLIC_URL}/unsubscribe/", "ten_test", b"k" * 32)
IDENTITY = SenderIdentity("Ada Sender", "Acme DevTools", None, POSTAL, SIGNER.base_url, SIGNER)


def lead(
    login: str,
    email: str | None = None,
    *,
    verdict: str = "approved",
    by_person: bool = False,
    github_id: int | None = None,
    subject: str = "Your work on fastgrad",
) -> Prospect:
    """A lead of `login` (email `<login>@example-devs.org` unless given) with a draft as the pipeline writes it."""
    prospect = Prospect(
        id=f"gh_{login}",
        username=login,
        name=login.title(),
        email=email if email is not None else f"{login}@example-devs.org",
        github_id=github_id,
    )
    body = f"Hi {login.title()},\n\nI came across your commits to alice/fastgrad.\n\n{footer(prospect, IDENTITY)}"
    reasons = [f"{PERSON_REVIEW}: approved by a person (key key_1)"] if by_person else []
    return prospect.model_copy(
        update={
            "message": Message(subject=subject, body=body, headers=opt_out_headers(prospect, IDENTITY)),
            "compliance": ComplianceReview(verdict=verdict, reasons=reasons),  # type: ignore[arg-type]
        }
    )


def with_follow_ups(prospect: Prospect, days: tuple[int, ...] = (3, 7), *, verdict: str = "approved") -> Prospect:
    """`prospect` with the template follow-ups of `days`, each reviewed with `verdict`."""
    from agents.follow_ups import template_follow_ups

    steps = [
        fu.model_copy(update={"compliance": ComplianceReview(verdict=verdict)})  # type: ignore[arg-type]
        for fu in template_follow_ups(prospect, list(days), IDENTITY)
    ]
    return prospect.model_copy(update={"follow_ups": steps})


def write_run(run_dir: Path, leads: list[Prospect], run_id: str = "cmo_test_run") -> Path:
    """A run directory as `cmo run` leaves it (the two files `cmo send` reads)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "leads_full.json").write_text(json.dumps([p.model_dump(mode="json") for p in leads]), encoding="utf-8")
    (run_dir / "summary.json").write_text(json.dumps({"run_id": run_id}), encoding="utf-8")
    return run_dir


def sends(run_dir: Path) -> list[dict]:
    path = run_dir / "sends.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
