"""One approved draft -> one RFC 5322 message, with everything the law and the mailbox providers ask.

What the message carries, and why:
- `From` the sender (campaign sender profile or `CMO_SENDER_*`), `To` the recipient's bare address
  (a name from a GitHub profile is never put in a header), `Subject` the draft's (a line break in
  it would inject headers: refused), `Date`.
- `Message-ID` derived from (campaign, prospect, step): a retry of the same message carries the same
  id, so the outbox, the mail logs and the recipient's server can all tell it is one message. A
  follow-up (step 2, 3, ...) carries `In-Reply-To` and `References` naming the first message, so it
  arrives in the same thread; its subject is the first message's, without a "Re:" it has not earned.
- `List-Unsubscribe` with the draft's per-recipient https link (plus a `mailto:` when
  `CMO_UNSUBSCRIBE_MAILTO` is set) and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
  (RFC 8058; Gmail's and Yahoo's bulk-sender rules). The POST header is only sent where the link
  honours a one-click POST: our signed links do (the draft says so), an operator's
  `CMO_UNSUBSCRIBE_URL` only when `CMO_UNSUBSCRIBE_ONE_CLICK=true` declares it; a draft with neither
  is refused rather than sent without a working one-click opt-out.
- A plain-text body that must contain the sender's postal address (CAN-SPAM) and the opt-out link
  (CAN-SPAM, GDPR Art. 21): the copywriter put them there and the review checked; a draft a person
  edited afterwards is checked again here, and refused when either is gone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from urllib.parse import quote

from foundation.schemas import Prospect
from foundation.text import is_one_header_line
from tools.mail.sender import OutgoingMail
from tools.mail.signing import DkimSigner

ONE_CLICK = "List-Unsubscribe=One-Click"
# RFC 5322's hard limit instead of the 78-character folding: the email package would fold a long
# opt-out URL into RFC 2047 encoded words, which no mail client reads back as a URL.
_POLICY = SMTP.clone(max_line_length=998)


class DraftRefused(ValueError):
    """This draft must not be sent as it is; `code` is the reason recorded in sends.jsonl."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class Sender:
    """Who a campaign's messages come from, and what every one of them must say."""

    name: str
    email: str
    postal_address: str
    unsubscribe_mailto: str | None = None
    one_click_declared: bool = False  # CMO_UNSUBSCRIBE_ONE_CLICK: the operator's own link honours RFC 8058

    @property
    def domain(self) -> str:
        return self.email.rsplit("@", 1)[1].lower()


def message_id(campaign: str, prospect_id: str, step: int, domain: str) -> str:
    """The same id for every attempt of one (campaign, prospect, step), and no personal data in it."""
    digest = hashlib.sha256(f"{campaign}\x00{prospect_id}\x00{step}".encode()).hexdigest()[:32]
    return f"<{digest}.{step}@{domain}>"


def opt_out_link(prospect: Prospect) -> str:
    """The https link of the draft's `List-Unsubscribe` header; `DraftRefused` when there is none."""
    headers = prospect.message.headers if prospect.message else {}
    link = headers.get("List-Unsubscribe", "").strip()
    if not (link.startswith("<https://") and link.endswith(">")) or any(c in link for c in "\r\n ,"):
        raise DraftRefused("no_opt_out_link", "the draft has no https List-Unsubscribe link")
    return link[1:-1]


def build_mail(
    prospect: Prospect,
    recipient: str,
    sender: Sender,
    *,
    campaign: str,
    step: int,
    now: datetime,
    signer: DkimSigner | None = None,
    in_reply_to: str | None = None,
) -> OutgoingMail:
    """The message for one recipient (its ASCII `recipient` address), signed when DKIM is configured;
    a follow-up names the sequence's first message in `in_reply_to`, so mail clients thread it."""
    draft = prospect.message
    if draft is None:
        raise DraftRefused("no_draft", "the prospect has no draft")
    if not is_one_header_line(draft.subject):
        raise DraftRefused("subject_line_break", "the subject contains a line break or a control character")
    link = opt_out_link(prospect)
    if draft.headers.get("List-Unsubscribe-Post") != ONE_CLICK and not sender.one_click_declared:
        raise DraftRefused(
            "no_one_click_unsubscribe",
            "the opt-out link is not known to honour RFC 8058 one-click POSTs (a service job with CMO_PUBLIC_URL signs "
            "such links; set CMO_UNSUBSCRIBE_ONE_CLICK=true once CMO_UNSUBSCRIBE_URL does)",
        )
    if link not in draft.body:
        raise DraftRefused("opt_out_missing_from_body", "the body does not contain the recipient's opt-out link")
    if sender.postal_address not in draft.body:
        raise DraftRefused("postal_address_missing_from_body", "the body does not contain the sender's postal address")

    mid = message_id(campaign, prospect.id, step, sender.domain)
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = Address(display_name=sender.name, addr_spec=sender.email)
    msg["To"] = recipient
    msg["Subject"] = draft.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = mid
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    unsubscribe = f"<{link}>"
    if sender.unsubscribe_mailto:
        unsubscribe += f", <mailto:{sender.unsubscribe_mailto}?subject={quote(f'unsubscribe {prospect.id}')}>"
    msg["List-Unsubscribe"] = unsubscribe
    msg["List-Unsubscribe-Post"] = ONE_CLICK
    msg.set_content(draft.body, subtype="plain", charset="utf-8", cte="quoted-printable")  # 7-bit clean: no 8BITMIME needed
    data = msg.as_bytes()
    if signer is not None:
        data = signer.sign(data)
    return OutgoingMail(sender=sender.email, recipient=recipient, message_id=mid, data=data)
