"""Which step of a prospect's sequence `cmo send` may send now, from the outbox's record of the steps.

Step 1 is the first message (`Prospect.message`), steps 2, 3, ... its follow-ups (`Prospect.follow_ups`,
drafted and reviewed by the run). A prospect's next step is the first one not yet sent:
- step 1 is due at once (as before sequences existed);
- step N is due only when step N-1 was `sent` at least `delay_days` earlier (by the outbox's record
  of when it was sent, against the sender's clock), and only when its own review approved it;
- no step is due once any step of the prospect bounced, was complained about or was replied to
  (`StepRecord.stops_sequence`), or after a step the server rejected for its content: a follow-up
  to a message the person never got would refer to nothing.
A step claimed but not settled (`pending`) is in doubt and holds the rest of the sequence back.
Suppression, erasure, objections and earlier bounces of the address are checked at send time for
every step, as for the first (`tools.mail.dispatch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from foundation.schemas import Prospect
from tools.mail.outbox import DAY, StepRecord

Kind = Literal["due", "waiting", "in_doubt", "ended", "held"]


@dataclass(frozen=True)
class NextStep:
    """What to do about one prospect now: send `draft` as `step` (due), wait until `due_at` (seconds
    since the epoch), report `step` in doubt, or nothing because the sequence `ended` (`reason`) or its
    next step is `held` (not approved)."""

    kind: Kind
    step: int
    draft: Prospect | None = None
    due_at: float | None = None
    reason: str | None = None


def next_step(prospect: Prospect, history: dict[int, StepRecord], now: float, *, follow_ups: bool = True) -> NextStep:
    """The next step of an approved prospect's sequence (see the module docstring)."""
    for earlier in history.values():
        if (stop := earlier.stops_sequence) is not None:
            return NextStep("ended", max(history), reason=stop)
    steps = [1, *(fu.step for fu in prospect.follow_ups)] if follow_ups else [1]
    for position, step in enumerate(steps):
        record = history.get(step)
        if record is not None and record.status == "pending":
            return NextStep("in_doubt", step)
        if record is not None and record.status == "rejected":
            return NextStep("ended", step, reason="rejected")
        if record is not None and record.status == "sent":
            continue
        if step == 1:
            return NextStep("due", 1, draft=prospect)
        follow_up = prospect.follow_ups[position - 1]
        if follow_up.compliance is None or follow_up.compliance.verdict != "approved":
            return NextStep("held", step, reason="follow_up_not_approved")
        sent_at = history[steps[position - 1]].finished_at or 0.0
        due_at = sent_at + follow_up.delay_days * DAY
        if now < due_at:
            return NextStep("waiting", step, due_at=due_at)
        return NextStep("due", step, draft=prospect.model_copy(update={"message": follow_up.message}))
    return NextStep("ended", steps[-1], reason="finished")
