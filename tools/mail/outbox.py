"""The outbox: each (campaign, prospect, step) is sent at most once, within the mailbox's caps.

One SQLite file, `$CMO_HOME/outbox.sqlite`, shared by every `cmo send` of this machine: caps and
warm-up are facts about a mailbox (a From address) across all its campaigns, and keeping them in the
same database as the claims lets one `BEGIN IMMEDIATE` transaction check the caps and claim the
message, so two concurrent senders can neither send one message twice nor overrun a cap together.
(Kept outside the run directory for that reason; the run directory gets `sends.jsonl`, the record
of what this run's sends did.)

Exactly once, and what happens on a crash:
1. `claim` writes the row as `pending` and commits, *before* the SMTP call;
2. `finish` records the outcome: `sent`, `bounced` (5xx for the recipient), `rejected` (5xx for the
   message) or `deferred` (nothing delivered: a 4xx or a connection that failed before the hand-over);
   only `deferred` rows may be claimed again, with the same Message-ID.
3. A process killed between 1 and 2 leaves `pending`: the message may or may not have left. It is
   never re-sent blindly; every later run reports it as `in_doubt` (at most once rather than at
   least once: a recipient who gets nothing can be written to again, one who gets the same cold
   email twice cannot be un-annoyed). Its stable Message-ID lets the operator look it up in the
   relay's logs and `resolve` it: delivered (`sent`) or not (`deferred`: sent again, same id).

Caps (0 turns one off): per mailbox `daily` messages in any 24 hours and `per_hour` in any hour;
`per_domain_per_hour` messages from one mailbox to one recipient domain in any hour (large providers
throttle senders that burst at them); and a warm-up for a new mailbox: `warmup_start` messages on the
day of its first send here, doubling every day until the daily cap (20, 40, 80, 160, ...).

Kill switch: once a campaign has `rate_min_sends` finished sends, a bounce rate above
`max_bounce_rate` or a complaint rate above `max_complaint_rate` pauses it for good (recorded here;
`cmo send` refuses a paused campaign). Bounces come from the SMTP answer or, after the relay
accepted a message, from a delivery status notification; complaints from feedback reports
(`tools.mail.inbox`). Hard-bounced, complaining and objecting addresses are remembered (as a SHA-256
of the address, enough to recognise it, not to list it) and never sent to again from this machine.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from foundation.settings import Settings

OUTBOX_FILE = "outbox.sqlite"
HOUR, DAY = 3600.0, 86400.0
Status = Literal["pending", "sent", "bounced", "rejected", "deferred"]
Outcome = Literal["sent", "bounced", "rejected", "deferred"]
BlockReason = Literal["bounce", "complaint", "objection"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sends (
    campaign TEXT NOT NULL,
    prospect_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    mailbox TEXT NOT NULL,
    domain TEXT NOT NULL,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'bounced', 'rejected', 'deferred')),
    detail TEXT,
    provider_id TEXT,
    claimed_at REAL NOT NULL,
    finished_at REAL,
    complained_at REAL,
    replied_at REAL,
    PRIMARY KEY (campaign, prospect_id, step)
);
CREATE INDEX IF NOT EXISTS sends_mailbox_time ON sends (mailbox, claimed_at);
CREATE TABLE IF NOT EXISTS mailboxes (mailbox TEXT PRIMARY KEY, first_send_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS blocked_addresses (
    address_sha256 TEXT PRIMARY KEY,
    reason TEXT NOT NULL CHECK (reason IN ('bounce', 'complaint')),
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS paused (campaign TEXT PRIMARY KEY, reason TEXT NOT NULL, at REAL NOT NULL);
-- Art. 21 objections read back from replies and mailto: unsubscribes (a table of its own: the CHECK
-- of blocked_addresses in existing outbox files predates this reason).
CREATE TABLE IF NOT EXISTS objections (address_sha256 TEXT PRIMARY KEY, at REAL NOT NULL);
"""


@dataclass(frozen=True)
class SendKey:
    campaign: str
    prospect_id: str
    step: int = 1


@dataclass(frozen=True)
class Caps:
    daily: int = 200
    per_hour: int = 50
    per_domain_per_hour: int = 10
    warmup_start: int = 20
    max_bounce_rate: float = 0.03
    max_complaint_rate: float = 0.001
    rate_min_sends: int = 20

    @classmethod
    def from_settings(cls, settings: Settings) -> Caps:
        return cls(
            daily=settings.cmo_send_daily_cap,
            per_hour=settings.cmo_send_per_hour,
            per_domain_per_hour=settings.cmo_send_per_domain_per_hour,
            warmup_start=settings.cmo_send_warmup_start,
            max_bounce_rate=settings.cmo_send_max_bounce_rate,
            max_complaint_rate=settings.cmo_send_max_complaint_rate,
            rate_min_sends=settings.cmo_send_rate_min_sends,
        )


# What stops a prospect's sequence, read from any of its steps' rows (the contract with whatever
# records what came back: `tools.mail.inbox` today, SES notifications later): the `status` column
# says `bounced` (or another value of `STOP_STATUSES`), or `replied_at` / `complained_at` is set.
STOP_STATUSES = frozenset({"bounced", "replied", "complained"})


@dataclass(frozen=True)
class StepRecord:
    """One claimed step of a prospect's sequence, as the outbox has it."""

    status: str
    finished_at: float | None
    replied_at: float | None
    complained_at: float | None

    @property
    def stops_sequence(self) -> str | None:
        """Why no later step may be sent after this one: the person replied, complained or bounced."""
        if self.replied_at is not None:
            return "replied"
        if self.complained_at is not None:
            return "complained"
        return self.status if self.status in STOP_STATUSES else None


class NotClaimed(Exception):
    """The message cannot be claimed now; `code` says why (sends.jsonl's reason), `stops_run` whether
    no other message of the run can be claimed either (a mailbox cap, a paused campaign)."""

    def __init__(self, code: str, detail: str, *, stops_run: bool) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.stops_run = stops_run


def address_digest(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


def warm_allowance(caps: Caps, first_send_at: float | None, now: float) -> int | None:
    """Messages a mailbox may send in 24 hours: the daily cap, or less while it warms up (the day of
    its first send, `first_send_at`, allows `warmup_start`, doubling daily); None: no limit."""
    cap = caps.daily or None
    if not caps.warmup_start:
        return cap
    day = int((now - first_send_at) // DAY) if first_send_at is not None else 0
    warm = caps.warmup_start * 2 ** min(day, 30)
    return warm if cap is None else min(cap, warm)


@dataclass(frozen=True)
class CapCheck:
    """One cap a claim must be under: fewer than `limit` of the mailbox's claims in the last `window`
    seconds (to the recipient's domain only, when `to_domain`), else `refusal()`."""

    window: float
    to_domain: bool
    limit: int
    code: str
    detail: str
    stops_run: bool

    def refusal(self) -> NotClaimed:
        return NotClaimed(self.code, self.detail, stops_run=self.stops_run)


def cap_checks(caps: Caps, mailbox: str, daily: int | None, domain: str = "one recipient domain") -> list[CapCheck]:
    """The caps a claim from `mailbox` is checked against, in order, `daily` being its allowance today
    (`warm_allowance`). Both outboxes (this one and the service's) count their own rows against them."""
    checks = []
    if daily is not None:
        checks.append(
            CapCheck(DAY, False, daily, "daily_cap", f"{mailbox} has sent its {daily} messages of the last 24 hours", True)
        )
    if caps.per_hour:
        detail = f"{mailbox} has sent its {caps.per_hour} messages of the last hour"
        checks.append(CapCheck(HOUR, False, caps.per_hour, "hourly_cap", detail, True))
    if caps.per_domain_per_hour:
        detail = f"{caps.per_domain_per_hour} messages to {domain} in the last hour"
        checks.append(CapCheck(HOUR, True, caps.per_domain_per_hour, "domain_throttled", detail, False))
    return checks


def over_limits(caps: Caps, bounced: int, complained: int, total: int) -> str | None:
    """Why the kill switch pauses a campaign with these counts of finished sends, or None."""
    if total < caps.rate_min_sends:
        return None
    reasons = [
        f"{name} rate {count}/{total} = {count / total:.1%} is above {limit:.1%}"
        for name, count, limit in (("bounce", bounced, caps.max_bounce_rate), ("complaint", complained, caps.max_complaint_rate))
        if count / total > limit
    ]
    return "; ".join(reasons) or None


class OutboxStore(Protocol):
    """What `tools.mail.dispatch` needs of an outbox: the CLI's SQLite file (`Outbox`) or the
    service's database (`api.services.send_outbox`)."""

    def status(self, key: SendKey) -> Status | None: ...
    def message_id(self, key: SendKey) -> str | None: ...
    def history(self, campaign: str, prospect_id: str) -> dict[int, StepRecord]: ...
    def paused(self, campaign: str) -> str | None: ...
    def claim(self, key: SendKey, *, mailbox: str, domain: str, message_id: str) -> None: ...
    def finish(self, key: SendKey, outcome: Outcome, *, detail: str | None = None, provider_id: str | None = None) -> None: ...
    def block_address(self, address: str, reason: BlockReason) -> None: ...
    def blocked(self, address: str) -> BlockReason | None: ...
    def pause_if_over(self, campaign: str) -> str | None: ...


class Outbox:
    """The outbox file; `clock` (seconds since the epoch) is for tests of windows and warm-up."""

    def __init__(self, path: Path, caps: Caps, *, clock: Callable[[], float] = time.time) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.caps = caps
        self._clock = clock
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a claim must be on disk before the SMTP call
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def status(self, key: SendKey) -> Status | None:
        row = self._db.execute(
            "SELECT status FROM sends WHERE campaign = ? AND prospect_id = ? AND step = ?",
            (key.campaign, key.prospect_id, key.step),
        ).fetchone()
        return row[0] if row else None

    def message_id(self, key: SendKey) -> str | None:
        """The Message-ID the claimed message was (or is being) sent with."""
        row = self._db.execute(
            "SELECT message_id FROM sends WHERE campaign = ? AND prospect_id = ? AND step = ?",
            (key.campaign, key.prospect_id, key.step),
        ).fetchone()
        return row[0] if row else None

    def history(self, campaign: str, prospect_id: str) -> dict[int, StepRecord]:
        """Every claimed step of one prospect's sequence in the campaign, by step number."""
        rows = self._db.execute(
            "SELECT step, status, coalesce(finished_at, claimed_at), replied_at, complained_at FROM sends "
            "WHERE campaign = ? AND prospect_id = ?",
            (campaign, prospect_id),
        ).fetchall()
        return {row[0]: StepRecord(row[1], row[2], row[3], row[4]) for row in rows}

    def paused(self, campaign: str) -> str | None:
        row = self._db.execute("SELECT reason FROM paused WHERE campaign = ?", (campaign,)).fetchone()
        return row[0] if row else None

    def claim(self, key: SendKey, *, mailbox: str, domain: str, message_id: str) -> None:
        """Mark the message `pending` if the caps allow; `NotClaimed` otherwise."""
        now = self._clock()
        with self._write() as db:
            reason = self.paused(key.campaign)
            if reason is not None:
                raise NotClaimed("campaign_paused", f"the campaign is paused: {reason}", stops_run=True)
            status = self.status(key)
            if status not in (None, "deferred"):
                raise NotClaimed("in_doubt" if status == "pending" else "already_sent", f"already {status}", stops_run=False)
            self._check_caps(db, mailbox, domain, now)
            db.execute(
                "INSERT INTO sends (campaign, prospect_id, step, mailbox, domain, message_id, status, claimed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT (campaign, prospect_id, step) DO UPDATE SET "
                "status = 'pending', mailbox = excluded.mailbox, domain = excluded.domain, claimed_at = excluded.claimed_at, "
                "detail = NULL, finished_at = NULL",
                (key.campaign, key.prospect_id, key.step, mailbox, domain, message_id, now),
            )
            db.execute("INSERT OR IGNORE INTO mailboxes (mailbox, first_send_at) VALUES (?, ?)", (mailbox, now))

    def _check_caps(self, db: sqlite3.Connection, mailbox: str, domain: str, now: float) -> None:
        def count(since: float, *, to_domain: bool = False) -> int:
            query = "SELECT count(*) FROM sends WHERE mailbox = ? AND claimed_at > ?"
            args: tuple[object, ...] = (mailbox, since)
            if to_domain:
                query, args = query + " AND domain = ?", (*args, domain)
            return int(db.execute(query, args).fetchone()[0])

        for check in cap_checks(self.caps, mailbox, self.daily_allowance(mailbox, now), domain):
            if count(now - check.window, to_domain=check.to_domain) >= check.limit:
                raise check.refusal()

    def daily_allowance(self, mailbox: str, now: float | None = None) -> int | None:
        """Messages the mailbox may send in 24 hours today: the cap, or less while it warms up (None: no limit)."""
        now = self._clock() if now is None else now
        row = self._db.execute("SELECT first_send_at FROM mailboxes WHERE mailbox = ?", (mailbox,)).fetchone()
        return warm_allowance(self.caps, row[0] if row else None, now)

    def finish(self, key: SendKey, outcome: Outcome, *, detail: str | None = None, provider_id: str | None = None) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE sends SET status = ?, detail = ?, provider_id = ?, finished_at = ? "
                "WHERE campaign = ? AND prospect_id = ? AND step = ?",
                (outcome, detail, provider_id, self._clock(), key.campaign, key.prospect_id, key.step),
            )

    def resolve(self, campaign: str, message_id: str, outcome: Literal["sent", "deferred"]) -> bool:
        """Settle an in-doubt (`pending`) message of the campaign by its Message-ID, as the operator
        found it in the relay's log; False when the campaign has no such message in doubt."""
        with self._write() as db:
            changed = db.execute(
                "UPDATE sends SET status = ?, detail = 'resolved by the operator', finished_at = ? "
                "WHERE campaign = ? AND message_id = ? AND status = 'pending'",
                (outcome, self._clock(), campaign, message_id),
            ).rowcount
        return changed == 1

    def block_address(self, address: str, reason: BlockReason) -> None:
        """Never mail this address again from here: it hard-bounced, its owner complained or objected."""
        with self._write() as db:
            if reason == "objection":
                db.execute(
                    "INSERT OR IGNORE INTO objections (address_sha256, at) VALUES (?, ?)",
                    (address_digest(address), self._clock()),
                )
                return
            db.execute(
                "INSERT OR IGNORE INTO blocked_addresses (address_sha256, reason, at) VALUES (?, ?, ?)",
                (address_digest(address), reason, self._clock()),
            )

    def blocked(self, address: str) -> BlockReason | None:
        digest = address_digest(address)
        if self._db.execute("SELECT 1 FROM objections WHERE address_sha256 = ?", (digest,)).fetchone():
            return "objection"
        row = self._db.execute("SELECT reason FROM blocked_addresses WHERE address_sha256 = ?", (digest,))
        found = row.fetchone()
        return found[0] if found else None

    def find(self, message_id: str) -> tuple[SendKey, Status] | None:
        """The message we sent with this Message-ID (what a bounce, complaint or reply names)."""
        row = self._db.execute(
            "SELECT campaign, prospect_id, step, status FROM sends WHERE message_id = ?", (message_id.strip(),)
        ).fetchone()
        return (SendKey(row[0], row[1], row[2]), row[3]) if row else None

    def mark(self, key: SendKey, event: Literal["bounced", "complained", "replied"]) -> bool:
        """Record what came back for a message: a bounce after the relay had accepted it (a DSN),
        a complaint (a feedback report) or a reply. False when it was recorded before."""
        where = "WHERE campaign = ? AND prospect_id = ? AND step = ?"
        args = (key.campaign, key.prospect_id, key.step)
        with self._write() as db:
            if event == "bounced":
                query = (
                    f"UPDATE sends SET status = 'bounced', detail = 'delivery status notification' {where} AND status = 'sent'"
                )
                return db.execute(query, args).rowcount == 1
            column = f"{event}_at"
            return db.execute(f"UPDATE sends SET {column} = ? {where} AND {column} IS NULL", (self._clock(), *args)).rowcount == 1

    def rates(self, campaign: str) -> tuple[int, int, int]:
        """(bounced, complained, finished sends) of the campaign; finished = sent, bounced or rejected."""
        row = self._db.execute(
            "SELECT sum(status = 'bounced'), count(complained_at), count(*) FROM sends "
            "WHERE campaign = ? AND status IN ('sent', 'bounced', 'rejected')",
            (campaign,),
        ).fetchone()
        return int(row[0] or 0), int(row[1]), int(row[2])

    def pause_if_over(self, campaign: str) -> str | None:
        """The kill switch: pause the campaign for good when its bounce or complaint rate is over the
        limit (once it has `rate_min_sends` finished sends); the reason it is paused, or None."""
        reason = over_limits(self.caps, *self.rates(campaign))
        if reason is not None:
            with self._write() as db:
                db.execute(
                    "INSERT OR IGNORE INTO paused (campaign, reason, at) VALUES (?, ?, ?)", (campaign, reason, self._clock())
                )
        return self.paused(campaign)
