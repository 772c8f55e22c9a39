"""What comes back: delivery status notifications, complaint feedback reports and replies, read
from an mbox file or a Maildir (the bounce or reply mailbox of the sending address, exported or
synced), matched to the messages we sent by their Message-ID (`tools.mail.outbox`).

- A DSN (RFC 3464: `multipart/report; report-type=delivery-status`) whose recipient failed with a
  5.x.x status is a hard bounce that came after the relay had accepted the message: the address is
  never mailed again, the message is marked `bounced`, and the campaign's bounce rate may trip the
  kill switch. A 4.x.x (delayed) notice changes nothing.
- A complaint (ARF, RFC 5965: `multipart/report; report-type=feedback-report`, what mailbox
  providers' feedback loops send when someone presses "report spam") blocks the address, marks the
  message and counts toward the campaign's complaint rate (Gmail and Yahoo want it under 0.3%;
  the kill switch's default is 0.1%).
- A reply (its `In-Reply-To` or `References` names one of our Message-IDs) is marked on the message;
  automatic answers (out-of-office, `Auto-Submitted`, RFC 3834) are not replies. What a reply says
  is for a person to read: an objection in it is recorded with `cmo suppress add` (or the API).

The original Message-ID of a DSN or a report is read from its returned message (`message/rfc822`)
or headers (`text/rfc822-headers`); one that names no message of ours still blocks a hard-bounced
or complaining address. Importing the same mailbox again changes nothing.
"""

from __future__ import annotations

import mailbox
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses
from pathlib import Path
from typing import Literal

from tools.mail.outbox import Outbox

Kind = Literal["bounce", "complaint", "reply"]
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_MARKS: dict[Kind, Literal["bounced", "complained", "replied"]] = {
    "bounce": "bounced",
    "complaint": "complained",
    "reply": "replied",
}


@dataclass(frozen=True)
class Returned:
    """One thing that came back: its kind, the Message-ID it is about, the address concerned."""

    kind: Kind
    message_id: str | None
    address: str | None = None


@dataclass
class InboxReport:
    read: int = 0
    counts: Counter[str] = field(default_factory=Counter)  # bounce, complaint, reply, ignored; *_matched
    paused: dict[str, str] = field(default_factory=dict)  # campaign -> why


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a `message/delivery-status` or `message/feedback-report` part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    return [HeaderParser().parsestr(block) for block in str(payload).split("\n\n") if block.strip()]


def _original_message_id(report: Message) -> str | None:
    for part in report.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            headers = inner[0] if isinstance(inner, list) and inner else None
        elif kind == "text/rfc822-headers":
            headers = HeaderParser().parsestr(_text(part))
        else:
            continue
        if isinstance(headers, Message) and headers.get("Message-ID"):
            found = _MESSAGE_ID.search(str(headers["Message-ID"]))
            if found:
                return found.group(0)
    return None


def _text(part: Message) -> str:
    raw = part.get_payload(decode=True)
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(part.get_payload())


def _address(field_value: str | None) -> str | None:
    """`rfc822; ada@example.org` (DSN, ARF) -> `ada@example.org`."""
    if not field_value:
        return None
    value = str(field_value).split(";", 1)[-1].strip().strip("<>")
    return value if "@" in value else None


def classify(message: Message) -> list[Returned]:
    """What one incoming message tells us (nothing, for mail that is none of the three)."""
    kind = message.get_content_type()
    report_type = str(message.get_param("report-type", "", header="content-type")).lower()
    if kind == "multipart/report" and report_type == "delivery-status":
        original = _original_message_id(message)
        found = []
        for part in message.walk():
            if part.get_content_type() == "message/delivery-status":
                for block in _blocks(part)[1:]:  # the first block is about the message, the rest per recipient
                    action, status = str(block.get("Action", "")).lower(), str(block.get("Status", ""))
                    if action == "failed" and status.startswith("5"):
                        address = _address(block.get("Final-Recipient") or block.get("Original-Recipient"))
                        found.append(Returned("bounce", original, address))
        return found
    if kind == "multipart/report" and report_type == "feedback-report":
        original = _original_message_id(message)
        for part in message.walk():
            if part.get_content_type() == "message/feedback-report":
                fields = next(iter(_blocks(part)), None)
                address = _address(fields.get("Original-Rcpt-To")) if fields is not None else None
                return [Returned("complaint", original, address)]
        return []
    if str(message.get("Auto-Submitted", "no")).lower() != "no" or message.get("X-Autoreply") or message.get("X-Autorespond"):
        return []
    referenced = _MESSAGE_ID.findall(f"{message.get('In-Reply-To', '')} {message.get('References', '')}")
    sender = getaddresses([str(message.get("From", ""))])
    return [Returned("reply", mid, sender[0][1] if sender else None) for mid in dict.fromkeys(referenced)]


def read_mailbox(path: Path) -> Iterator[Message]:
    """The messages of a Maildir directory or an mbox file."""
    box: mailbox.Mailbox = mailbox.Maildir(path, create=False) if path.is_dir() else mailbox.mbox(path, create=False)
    try:
        for key in box.iterkeys():
            yield message_from_bytes(box.get_bytes(key), policy=policy.compat32)
    finally:
        box.close()


def import_returns(messages: Iterator[Message], outbox: Outbox) -> InboxReport:
    """Apply every bounce, complaint and reply to the outbox; pause campaigns over their limits."""
    report = InboxReport()
    touched: set[str] = set()
    for message in messages:
        report.read += 1
        counted = False
        for item in classify(message):
            sent = outbox.find(item.message_id) if item.message_id else None
            if item.kind == "reply" and (sent is None or counted):
                continue  # a reference to mail that is not ours, or a second one of the same reply
            counted = True
            report.counts[item.kind] += 1
            if item.kind in ("bounce", "complaint") and item.address:
                outbox.block_address(item.address, item.kind)
            if sent is not None:
                key, _ = sent
                if outbox.mark(key, _MARKS[item.kind]):
                    report.counts[f"{item.kind}_new"] += 1
                touched.add(key.campaign)
        if not counted:
            report.counts["ignored"] += 1
    for campaign in sorted(touched):
        reason = outbox.pause_if_over(campaign)
        if reason is not None:
            report.paused[campaign] = reason
    return report
