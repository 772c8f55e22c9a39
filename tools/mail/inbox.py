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
- A reply (its `In-Reply-To` or `References` names one of our Message-IDs) is marked on the message
  (`replied_at`: what stops a sequence). Automatic answers are not replies: `Auto-Submitted` other
  than `no` (RFC 3834), `X-Autoreply` / `X-Autorespond`, `Precedence: auto_reply|bulk|junk|list`,
  or an out-of-office subject ("Out of office", "Automatic reply", "Auto:", "Abwesenheit", ...).
- A reply that objects (its own text, above the quoted message, says "unsubscribe", "opt out",
  "remove me", "do not contact", "stop emailing", or is just "stop") is a GDPR Art. 21 objection:
  the address is never mailed again from here. So is a mail to the `CMO_UNSUBSCRIBE_MAILTO`
  address whose subject is the `unsubscribe gh_<login>` our `List-Unsubscribe` mailto: link writes.
  With `--tenant`, every one of these also reaches the tenant's suppression list and engagement
  events (`Feedback`, applied by `api.services.mail_feedback.apply_inbox_feedback`).

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

from pydantic import BaseModel, Field

from tools.mail.outbox import Outbox

Kind = Literal["bounce", "complaint", "reply", "unsubscribe"]
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_MARKS: dict[Kind, Literal["bounced", "complained", "replied"]] = {
    "bounce": "bounced",
    "complaint": "complained",
    "reply": "replied",
}
_AUTO_PRECEDENCE = frozenset({"auto_reply", "bulk", "junk", "list"})
_AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[ -]?reply|auto:|autoreply|abwesenheit|r[ée]ponse automatique"
    r"|absence|away from (the )?office|on vacation|vacation reply)",
    re.IGNORECASE,
)
_OBJECTION = re.compile(
    r"\b(unsubscribe|opt[ -]?out|remove me|take me off|do not (contact|email|e-mail|write)|don'?t (contact|email|e-mail|write)"
    r"|stop (emailing|e-mailing|contacting|writing|sending)|no more (emails|messages))\b",
    re.IGNORECASE,
)
_STOP_ALONE = re.compile(r"^\W*(stop|unsubscribe|remove|opt[ -]?out)\W*$", re.IGNORECASE)
_QUOTE_START = re.compile(
    r"^(>|on .{1,200} wrote:\s*$|-{2,} ?original message ?-{2,}|from: .+|_{10,}|le .{1,200} a écrit ?:\s*$|am .{1,200} schrieb)",
    re.IGNORECASE,
)
_MAILTO_SUBJECT = re.compile(r"^\s*unsubscribe\s+(gh_[A-Za-z0-9-]{1,39})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Returned:
    """One thing that came back: its kind, the Message-ID it is about, the address concerned;
    whether a reply objects; the prospect a mailto: unsubscribe names."""

    kind: Kind
    message_id: str | None
    address: str | None = None
    objection: bool = False
    prospect_id: str | None = None


class Feedback(BaseModel):
    """What a tenant's suppression list and engagement events learn from one returned message."""

    kind: Kind
    address: str | None = None
    campaign: str | None = Field(default=None, description="The campaign (run id; a service job's id) of our message.")
    prospect_id: str | None = None
    objection: bool = False
    new: bool = Field(default=True, description="Not recorded on our message by an earlier import.")


@dataclass
class InboxReport:
    read: int = 0
    counts: Counter[str] = field(default_factory=Counter)  # bounce, complaint, reply, objection, unsubscribe, ignored; *_new
    paused: dict[str, str] = field(default_factory=dict)  # campaign -> why
    feedback: list[Feedback] = field(default_factory=list)


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
    if is_automatic(message):
        return []
    sender = getaddresses([str(message.get("From", ""))])
    address = sender[0][1] if sender and "@" in sender[0][1] else None
    mailto = _MAILTO_SUBJECT.match(str(message.get("Subject", "")))
    if mailto:
        return [Returned("unsubscribe", None, address, objection=True, prospect_id=mailto.group(1))]
    referenced = _MESSAGE_ID.findall(f"{message.get('In-Reply-To', '')} {message.get('References', '')}")
    objection = objects(message) if referenced else False
    return [Returned("reply", mid, address, objection=objection) for mid in dict.fromkeys(referenced)]


def is_automatic(message: Message) -> bool:
    """An out-of-office or other automatic answer (see the module docstring), never a reply."""
    if str(message.get("Auto-Submitted", "no")).strip().lower() != "no":
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    if str(message.get("Precedence", "")).strip().lower() in _AUTO_PRECEDENCE:
        return True
    return bool(_AUTO_SUBJECT.match(str(message.get("Subject", ""))))


def objects(message: Message) -> bool:
    """Whether a reply's own words (not the message it quotes) ask us to stop."""
    own = _own_text(message)
    first = next((line for line in own.splitlines() if line.strip()), "")
    subject = re.sub(r"^\s*((re|aw|sv|antw?)\s*:\s*)+", "", str(message.get("Subject", "")), flags=re.IGNORECASE)
    return bool(_STOP_ALONE.match(first) or _OBJECTION.search(own) or _STOP_ALONE.match(subject))


def _own_text(message: Message) -> str:
    """The reply's text above the quoted original (plain text, else tag-stripped HTML)."""
    plain = next((part for part in message.walk() if part.get_content_type() == "text/plain"), None)
    if plain is not None:
        text = _text(plain)
    else:
        html = next((part for part in message.walk() if part.get_content_type() == "text/html"), None)
        if html is None:
            return ""
        text = re.sub(r"(?is)<blockquote.*?</blockquote>", "", _text(html))
        text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
        text = re.sub(r"<[^>]+>", " ", text)
    lines = []
    for line in text.splitlines():
        if _QUOTE_START.match(line.strip()):
            break
        lines.append(line)
    return "\n".join(lines)


def read_mailbox(path: Path) -> Iterator[Message]:
    """The messages of a Maildir directory or an mbox file."""
    box: mailbox.Mailbox = mailbox.Maildir(path, create=False) if path.is_dir() else mailbox.mbox(path, create=False)
    try:
        for key in box.iterkeys():
            yield message_from_bytes(box.get_bytes(key), policy=policy.compat32)
    finally:
        box.close()


def import_returns(messages: Iterator[Message], outbox: Outbox) -> InboxReport:
    """Apply every bounce, complaint, reply and objection to the outbox; pause campaigns over their
    limits; list the `Feedback` a tenant's lists may take too."""
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
            if item.objection and item.address:
                outbox.block_address(item.address, "objection")
                report.counts["objection"] += item.kind == "reply"
            key = sent[0] if sent is not None else None
            new = True
            if key is not None and item.kind in _MARKS:
                new = outbox.mark(key, _MARKS[item.kind])
                report.counts[f"{item.kind}_new"] += new
                touched.add(key.campaign)
            report.feedback.append(
                Feedback(
                    kind=item.kind,
                    address=item.address,
                    campaign=key.campaign if key else None,
                    prospect_id=key.prospect_id if key else item.prospect_id,
                    objection=item.objection,
                    new=new,
                )
            )
        if not counted:
            report.counts["ignored"] += 1
    for campaign in sorted(touched):
        reason = outbox.pause_if_over(campaign)
        if reason is not None:
            report.paused[campaign] = reason
    return report
