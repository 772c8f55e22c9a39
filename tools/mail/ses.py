"""Amazon SES v2 transport (boto3 `sesv2` client, `SendEmail` with `Content.Raw`).

Why raw content: the message `tools.mail.message` built (List-Unsubscribe, List-Unsubscribe-Post,
our stable Message-ID, the DKIM signature when configured) goes out byte for byte; SES's simple
content would rebuild the headers. SES adds its own DKIM signature for a verified domain next to ours.
SES answers with its own message id (returned as the provider id); bounces and complaints come back
later through SNS (`api.services.mail_feedback`), not from this call.

What each answer means (SendEmail errors, https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html):
- `TooManyRequestsException` (429, the sending rate or daily quota) and `LimitExceededException`:
  waited out with exponential backoff (AWS advises retrying throttled sends,
  https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html); still throttled
  after the last attempt: `TransientFailure` for the mailbox (deferred, a later run sends it).
- `MessageRejected` (400: content SES refuses, or in the SES sandbox an unverified recipient) and
  `BadRequestException`: `PermanentFailure` for this message, with SES's reason.
- `AccountSuspendedException`, `SendingPausedException`, `MailFromDomainNotVerifiedException`,
  `NotFoundException` (an unknown configuration set), bad credentials: `PermanentFailure` for the
  mailbox (only the operator can fix it: the run stops).
- No connection, or 503: `TransientFailure`; a connection lost after the request went out, or any
  other 5xx: `UnknownOutcome` (SES may have accepted it; SendEmail is not idempotent).

botocore's own retries are off (`total_max_attempts=1`) so each of these decisions is made here, once.
boto3 is synchronous: each request runs in a worker thread (the client is thread-safe), so
`CMO_SEND_CONNECTIONS` requests can be in flight at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from foundation.settings import Settings
from tools.mail.sender import MailError, OutgoingMail, PermanentFailure, TransientFailure, UnknownOutcome

THROTTLED = frozenset({"TooManyRequestsException", "LimitExceededException", "Throttling", "ThrottlingException"})
MESSAGE_REFUSED = frozenset({"MessageRejected", "BadRequestException"})
MAILBOX_REFUSED = frozenset(
    {
        "AccountSuspendedException",
        "SendingPausedException",
        "MailFromDomainNotVerifiedException",
        "NotFoundException",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    }
)


class SesSender:
    """`MailSender` over the SES v2 API; one instance may serve several concurrent sends."""

    def __init__(
        self,
        *,
        region: str | None,
        endpoint_url: str | None = None,
        configuration_set: str | None = None,
        timeout: float = 30.0,
        max_attempts: int = 4,
        backoff_seconds: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not region:
            raise ValueError("Amazon SES needs a region: set CMO_SES_REGION or AWS_REGION")
        config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=timeout, read_timeout=timeout)
        self._client = boto3.client("sesv2", region_name=region, endpoint_url=endpoint_url, config=config)
        self._configuration_set = configuration_set
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff_seconds
        self._sleep = sleep
        self.description = f"Amazon SES ({region}{', ' + endpoint_url if endpoint_url else ''})"

    @classmethod
    def from_settings(cls, settings: Settings) -> SesSender:
        return cls(
            region=settings.cmo_ses_region or settings.aws_region,
            endpoint_url=settings.cmo_ses_endpoint_url,
            configuration_set=settings.cmo_ses_configuration_set,
            timeout=settings.cmo_smtp_timeout_seconds,
            max_attempts=settings.cmo_ses_max_attempts,
            backoff_seconds=settings.cmo_ses_backoff_seconds,
        )

    def __str__(self) -> str:
        return self.description

    def _request(self, mail: OutgoingMail) -> dict[str, Any]:
        request: dict[str, Any] = {
            "FromEmailAddress": mail.sender,
            "Destination": {"ToAddresses": [mail.recipient]},
            "Content": {"Raw": {"Data": mail.data}},  # boto3 base64-encodes the blob
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        return request

    async def send(self, mail: OutgoingMail) -> str:
        request = self._request(mail)
        for attempt in range(1, self._max_attempts + 1):
            try:
                answer = await asyncio.to_thread(self._client.send_email, **request)
            except ClientError as exc:
                error = _classify(exc)
                if isinstance(error, _Throttled):
                    if attempt < self._max_attempts:
                        await self._sleep(self._backoff * 2 ** (attempt - 1))
                        continue
                    raise TransientFailure(
                        f"SES kept throttling after {attempt} attempts: {error}", scope="mailbox", reason=error.reason
                    ) from exc
                raise error from exc
            except (ReadTimeoutError, ConnectionClosedError) as exc:
                raise UnknownOutcome(f"the connection to SES broke after the request was sent: {exc}") from exc
            except (EndpointConnectionError, ConnectTimeoutError) as exc:
                raise TransientFailure(f"cannot reach SES: {exc}", scope="mailbox") from exc
            except NoCredentialsError as exc:
                raise PermanentFailure(f"no AWS credentials for SES: {exc}", scope="mailbox") from exc
            except BotoCoreError as exc:
                raise TransientFailure(f"SES request failed before it was sent: {exc}", scope="mailbox") from exc
            return str(answer.get("MessageId") or mail.message_id)
        raise AssertionError("unreachable: the loop returns or raises")

    async def aclose(self) -> None:
        await asyncio.to_thread(self._client.close)


class _Throttled(TransientFailure):
    """SES asked us to slow down; retried here before it becomes a `TransientFailure`."""


def _classify(exc: ClientError) -> MailError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "")
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    detail = f"{code}: {error.get('Message') or ''}".strip()
    reason = f"ses_{code or status}"
    if code in THROTTLED or status == 429:
        return _Throttled(detail, code=status or None, scope="mailbox", reason=reason)
    if code in MESSAGE_REFUSED:
        return PermanentFailure(detail, code=status or None, scope="message", reason=reason)
    if code in MAILBOX_REFUSED or status in (401, 403):
        return PermanentFailure(detail, code=status or None, scope="mailbox", reason=reason)
    if status == 503:
        return TransientFailure(detail, code=status, scope="mailbox", reason=reason)
    if status >= 500:
        return UnknownOutcome(f"SES answered {status} ({detail}): it may have accepted the message", code=status, reason=reason)
    return PermanentFailure(detail, code=status or None, scope="message", reason=reason)
