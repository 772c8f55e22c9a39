"""Send a campaign's approved drafts: every check, the outbox claim, the transport, the record.

For each approved lead, in the run's ranked order, `send_campaign` takes the step of its sequence
that is due now (the first message, or a follow-up whose delay after the previous step has passed and
that no reply, bounce or complaint stopped: `tools.mail.sequence`), and:
1. skips what must not be sent, with a reason: contact no longer allowed, suppressed now (the
   operator's file and, given one, the tenant's list with its objections, unsubscribes, bounces,
   complaints and erasure tombstones), no or invalid address, an address that hard-bounced,
   complained or objected before, a disposable domain, a role account a person did not approve, no
   mail host (`CMO_SEND_CHECK_MX`), a draft that lost its postal address or opt-out link
   (`tools.mail.message`); and a recipient whose local time is outside `CMO_SEND_WINDOW`
   (`tools.mail.window`) waits, unclaimed, for a later run;
2. claims it in the outbox (caps, warm-up, a paused campaign: `tools.mail.outbox`);
3. sends it and records the outcome; a hard bounce remembers the address and may trip the kill switch.
   Up to `CMO_SEND_CONNECTIONS` messages are in flight at once, one per transport.

The run stops early (`SendReport.stopped`) on a mailbox cap, a paused campaign, a mail server that
cannot be used now or refuses our mailbox, and a message whose fate is unknown. A dry run does 1
and builds every message, but claims and sends nothing.
"""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import dns.asyncresolver
from pydantic import BaseModel, Field

from foundation.schemas import Campaign, Prospect
from foundation.settings import Settings
from tools.mail.checks import (
    CheckUnavailable,
    Undeliverable,
    check_mx,
    deliverable_address,
    is_disposable,
    is_role_account,
)
from tools.mail.message import DraftRefused, Sender, build_mail
from tools.mail.outbox import BlockReason, NotClaimed, OutboxStore, SendKey
from tools.mail.sender import MailSender, OutgoingMail, PermanentFailure, TransientFailure, UnknownOutcome
from tools.mail.sequence import next_step
from tools.mail.signing import DkimSigner
from tools.mail.window import SendWindow, recipient_zone
from tools.suppression import SuppressionList

SendStatus = Literal["sent", "bounced", "rejected", "deferred", "in_doubt", "skipped", "would_send"]
# Stops that are a configuration problem (exit 2 in the CLI), not a limit reached (exit 3).
CONFIG_STOPS = frozenset({"mailbox_refused"})
_BLOCKED: dict[BlockReason, tuple[str, str]] = {
    "bounce": ("bounced_before", "hard-bounced"),
    "complaint": ("complained_before", "complained"),
    "objection": ("objected_before", "objected (a reply or a mailto: unsubscribe)"),
}


class SendConfigError(ValueError):
    """Sending is not configured well enough to start (one line for the user)."""


class SendRecord(BaseModel):
    """One line of sends.jsonl: what one attempt did. Never a body or an address."""

    at: datetime
    prospect_id: str
    step: int
    status: SendStatus
    reason: str | None = None
    message_id: str | None = None
    provider_id: str | None = None
    detail: str | None = Field(default=None, description="The server's answer or the check's explanation.")


@dataclass
class SendReport:
    records: list[SendRecord] = field(default_factory=list)
    already_sent: int = 0  # prospects with nothing due now whose first message went out before
    not_approved: int = 0
    stopped: tuple[str, str] | None = None  # (code, explanation)
    waiting: list[tuple[int, datetime]] = field(default_factory=list)  # (step, when it is due) per prospect
    ended: Counter[str] = field(default_factory=Counter)  # sequences over, by why: replied, bounced, finished, ...
    held: Counter[int] = field(default_factory=Counter)  # follow-up steps not sent because not approved

    def counts(self) -> Counter[str]:
        return Counter(record.status for record in self.records)

    def by_step(self) -> dict[int, Counter[str]]:
        """The statuses of this run's records per sequence step."""
        steps: dict[int, Counter[str]] = {}
        for record in self.records:
            steps.setdefault(record.step, Counter())[record.status] += 1
        return dict(sorted(steps.items()))

    def skipped(self) -> Counter[str]:
        return Counter(record.reason or "" for record in self.records if record.status == "skipped")


@dataclass(frozen=True)
class SendPlan:
    """What a campaign is sent with."""

    campaign: str
    sender: Sender
    suppression: SuppressionList
    signer: DkimSigner | None = None
    resolver: dns.asyncresolver.Resolver | None = None  # set: check each domain's MX first
    follow_ups: bool = True  # False: first messages only (`cmo send --no-follow-ups`)
    window: SendWindow | None = None  # set: only inside the recipient's local window (when their zone is known)


def sender_for(settings: Settings, campaign: Campaign | None = None) -> Sender:
    """The From identity: the campaign's first sender profile, completed from `CMO_SENDER_*`."""
    profile = campaign.messaging.sender_profiles[0] if campaign and campaign.messaging.sender_profiles else None
    name = profile.name if profile else settings.cmo_sender_name
    email = (profile.email if profile else None) or settings.cmo_sender_email
    postal = (profile.postal_address if profile else None) or settings.cmo_sender_postal_address
    if not email:
        raise SendConfigError("no From address: set CMO_SENDER_EMAIL (or the campaign sender profile's email)")
    if not postal:
        raise SendConfigError("no postal address (CAN-SPAM): set CMO_SENDER_POSTAL_ADDRESS or the sender profile's")
    if any(c in name for c in "\r\n"):
        raise SendConfigError("the sender name contains a line break")
    try:
        address = deliverable_address(email)
        mailto = deliverable_address(settings.cmo_unsubscribe_mailto) if settings.cmo_unsubscribe_mailto else None
    except Undeliverable as exc:
        raise SendConfigError(f"sender address: {exc}") from None
    return Sender(name, address, postal, mailto, settings.cmo_unsubscribe_one_click)


async def send_campaign(
    prospects: Sequence[Prospect],
    plan: SendPlan,
    outbox: OutboxStore,
    transport: MailSender | Sequence[MailSender] | None,
    *,
    limit: int | None = None,
    on_record: Callable[[SendRecord], None] = lambda record: None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SendReport:
    """Send (or, without a transport, dry-run) the approved drafts; see the module docstring.

    Several transports (`CMO_SEND_CONNECTIONS`) send in parallel, one message each at a time. The
    checks and outbox claims stay in this one loop, in ranked order, and a message is claimed only
    once a transport is free to send it at once, so a run that stops leaves nothing claimed but unsent."""
    report = SendReport()
    attempts = 0
    mx_cache: dict[str, Undeliverable | None] = {}
    senders = [] if transport is None else list(transport) if isinstance(transport, Sequence) else [transport]
    idle: asyncio.Queue[MailSender] = asyncio.Queue()
    for sender in senders:
        idle.put_nowait(sender)
    deliveries: list[asyncio.Task[None]] = []  # kept to the end, so no failure goes unseen

    def record(prospect: Prospect, step: int, status: SendStatus, reason: str | None = None, **extra: str | None) -> None:
        entry = SendRecord(at=now(), prospect_id=prospect.id, step=step, status=status, reason=reason, **extra)
        report.records.append(entry)
        on_record(entry)

    async def deliver(sender: MailSender, mail: OutgoingMail, key: SendKey, prospect: Prospect, step: int) -> None:
        try:
            stop = await _deliver(mail, key, plan, outbox, sender, functools.partial(record, prospect, step))
            if stop is not None and report.stopped is None:
                report.stopped = stop
            after = next_step(prospect, outbox.history(plan.campaign, prospect.id), now().timestamp(), follow_ups=plan.follow_ups)
            if after.kind == "waiting" and after.due_at is not None:  # what this send made due later
                report.waiting.append((after.step, datetime.fromtimestamp(after.due_at, UTC)))
        finally:
            idle.put_nowait(sender)

    paused = outbox.paused(plan.campaign)
    if paused is not None:
        report.stopped = ("campaign_paused", f"the campaign is paused: {paused}")
        return report
    for prospect in prospects:
        if report.stopped is not None:
            break
        if prospect.compliance is None or prospect.compliance.verdict != "approved":
            report.not_approved += 1
            continue
        history = outbox.history(plan.campaign, prospect.id)
        nxt = next_step(prospect, history, now().timestamp(), follow_ups=plan.follow_ups)
        if nxt.kind == "in_doubt":
            key = SendKey(plan.campaign, prospect.id, nxt.step)
            detail = "an earlier attempt was interrupted: not sent again"
            record(prospect, nxt.step, "in_doubt", "in_doubt", message_id=outbox.message_id(key), detail=detail)
            continue
        if nxt.kind != "due" or nxt.draft is None:
            report.already_sent += 1 if 1 in history else 0
            if nxt.kind == "waiting" and nxt.due_at is not None:
                report.waiting.append((nxt.step, datetime.fromtimestamp(nxt.due_at, UTC)))
            elif nxt.kind == "held":
                report.held[nxt.step] += 1
            elif nxt.reason is not None:
                report.ended[nxt.reason] += 1
            continue
        if limit is not None and attempts >= limit:
            break
        step, draft = nxt.step, nxt.draft
        key = SendKey(plan.campaign, prospect.id, step)
        first_id = outbox.message_id(SendKey(plan.campaign, prospect.id, 1)) if step > 1 else None
        try:
            recipient = await _checked_recipient(prospect, plan, outbox, mx_cache)
            _check_window(prospect, plan, now())
            mail = build_mail(
                draft,
                recipient,
                plan.sender,
                campaign=plan.campaign,
                step=step,
                now=now(),
                signer=plan.signer,
                in_reply_to=first_id,
            )
        except (Undeliverable, DraftRefused) as exc:
            record(prospect, step, "skipped", exc.code, detail=str(exc))
            continue
        except CheckUnavailable as exc:
            record(prospect, step, "skipped", "check_unavailable", detail=str(exc))
            continue
        if not senders:
            attempts += 1
            record(prospect, step, "would_send", message_id=mail.message_id)
            continue
        sender = await idle.get()  # a free transport first: a claim is followed by its send at once
        if report.stopped is not None:
            break
        try:
            outbox.claim(key, mailbox=plan.sender.email, domain=recipient.rsplit("@", 1)[1], message_id=mail.message_id)
        except NotClaimed as exc:
            idle.put_nowait(sender)
            if exc.stops_run:
                report.stopped = (exc.code, exc.detail)
                break
            record(prospect, step, "in_doubt" if exc.code == "in_doubt" else "skipped", exc.code, detail=exc.detail)
            continue
        attempts += 1
        deliveries.append(asyncio.create_task(deliver(sender, mail, key, prospect, step)))
    failures = [result for result in await asyncio.gather(*deliveries, return_exceptions=True) if result is not None]
    if failures:
        raise failures[0]
    return report


def _check_window(prospect: Prospect, plan: SendPlan, moment: datetime) -> None:
    """`Undeliverable("outside_send_window")` when the recipient's local time is outside the window."""
    if plan.window is None:
        return
    zone = recipient_zone(prospect)
    if zone is None or plan.window.is_open(moment, zone):
        return
    opens = plan.window.next_open(moment, zone).astimezone(UTC)
    raise Undeliverable("outside_send_window", f"outside the recipient's send window; it opens {opens:%Y-%m-%dT%H:%MZ}")


async def _checked_recipient(
    prospect: Prospect, plan: SendPlan, outbox: OutboxStore, mx_cache: dict[str, Undeliverable | None]
) -> str:
    """The address to send to, or `Undeliverable` / `CheckUnavailable` saying why not."""
    if not prospect.privacy_settings.contact_allowed:
        raise Undeliverable("contact_not_allowed", "the person may not be contacted (privacy_settings)")
    if plan.suppression.contains_prospect(prospect):
        raise Undeliverable("suppressed", "on the suppression list")
    if not prospect.email:
        raise Undeliverable("no_email", "no email address")
    address = deliverable_address(prospect.email)
    domain = address.rsplit("@", 1)[1]
    blocked = outbox.blocked(address)
    if blocked is not None:
        code, past = _BLOCKED[blocked]
        raise Undeliverable(code, f"this address {past} before")
    if is_disposable(domain):
        raise Undeliverable("disposable_domain", f"{domain} is a disposable-address domain")
    approved_by_person = prospect.compliance is not None and prospect.compliance.approved_by_person
    if is_role_account(address) and not approved_by_person:
        raise Undeliverable("role_account", "a role address (info@, sales@, ...): a person must approve the draft")
    if plan.resolver is not None:
        if domain not in mx_cache:
            try:
                await check_mx(domain, plan.resolver)
                mx_cache[domain] = None
            except Undeliverable as exc:
                mx_cache[domain] = exc
        refusal = mx_cache[domain]
        if refusal is not None:
            raise refusal
    return address


async def _deliver(
    mail: OutgoingMail,
    key: SendKey,
    plan: SendPlan,
    outbox: OutboxStore,
    transport: MailSender,
    record: Callable[..., None],
) -> tuple[str, str] | None:
    """Send one claimed message and record its outcome; a reason to stop the run, or None."""
    ids = {"message_id": mail.message_id}
    try:
        provider_id = await transport.send(mail)
    except UnknownOutcome as exc:  # the claim stays `pending`: never sent again blindly
        record("in_doubt", "connection_lost", detail=str(exc), **ids)
        return ("connection_lost", f"the outcome of {mail.message_id} is unknown: {exc.detail}")
    except PermanentFailure as exc:
        if exc.scope == "mailbox":
            outbox.finish(key, "deferred", detail=str(exc))
            record("deferred", "mailbox_refused", detail=str(exc), **ids)
            return ("mailbox_refused", f"the mail server refused our mailbox: {exc}")
        outbox.finish(key, "bounced" if exc.bounce else "rejected", detail=str(exc))
        record("bounced" if exc.bounce else "rejected", exc.reason or f"smtp_{exc.code}", detail=exc.detail, **ids)
        if exc.bounce:
            outbox.block_address(mail.recipient, "bounce")
            paused = outbox.pause_if_over(plan.campaign)
            if paused is not None:
                return ("campaign_paused", f"kill switch: {paused}")
        return None
    except TransientFailure as exc:
        outbox.finish(key, "deferred", detail=str(exc))
        reason = exc.reason or (f"smtp_{exc.code}" if exc.code else "unreachable")
        record("deferred", reason, detail=exc.detail, **ids)
        return ("server_unavailable", str(exc)) if exc.scope == "mailbox" else None
    outbox.finish(key, "sent", provider_id=provider_id)
    record("sent", message_id=mail.message_id, provider_id=provider_id)
    return None
