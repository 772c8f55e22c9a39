"""The interface every mail transport implements, and the failures it may report.

A transport sends one built message (`OutgoingMail`) and answers with the provider's message id, or
raises one of three failures, because what the caller must do differs:

- `PermanentFailure` (a 5xx answer): do not try this message again. `scope` says whose fault it is:
  `recipient` (the address was refused: a hard bounce, the address is suppressed), `message` (this
  content was refused) or `mailbox` (our login, sender address or TLS was refused: stop sending).
- `TransientFailure` (a 4xx answer, or a connection that failed before the message was handed over):
  nothing was delivered, the same message may be tried again later. `scope` `recipient` for one
  deferred recipient (greylisting, a full mailbox), `mailbox` when the server cannot be used now.
- `UnknownOutcome`: the connection broke while or after the message was handed over, so it may have
  been delivered. The caller must not send it again blindly (see `tools.mail.outbox`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Scope = Literal["recipient", "message", "mailbox"]


@dataclass(frozen=True)
class OutgoingMail:
    """One message ready for a transport: envelope addresses, its Message-ID and its bytes (CRLF)."""

    sender: str
    recipient: str
    message_id: str
    data: bytes


class MailError(Exception):
    """A message was not (known to be) sent; `code` is the server's reply code when there was one."""

    def __init__(self, detail: str, *, code: int | None = None, scope: Scope = "mailbox", reason: str | None = None) -> None:
        super().__init__(f"{code} {detail}" if code else detail)
        self.detail = detail
        self.code = code
        self.scope: Scope = scope
        self.reason = reason  # sends.jsonl's reason when the transport has a better one than `smtp_<code>`


class PermanentFailure(MailError):
    """A 5xx answer: never retry this message; `scope == "recipient"` is a hard bounce."""

    @property
    def bounce(self) -> bool:
        return self.scope == "recipient"


class TransientFailure(MailError):
    """A 4xx answer or a connection that failed before the message was handed over: retry later."""


class UnknownOutcome(MailError):
    """The connection broke during or after the hand-over: the message may have been delivered."""


class MailSender(Protocol):
    """A mail transport: SMTP (`tools.mail.smtp`) or Amazon SES (`tools.mail.ses`)."""

    async def send(self, mail: OutgoingMail) -> str:
        """Send one message; the provider's id for it (its queue id, else the Message-ID)."""
        ...

    async def aclose(self) -> None:
        """Release connections; the sender may not be used afterwards."""
        ...
