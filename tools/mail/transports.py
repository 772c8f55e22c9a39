"""The transports a send uses, chosen by the settings: `CMO_MAIL_TRANSPORT=smtp` (`CMO_SMTP_URL`,
one connection per parallel sender) or `ses` (Amazon SES v2: one thread-safe client shared by the
parallel senders). `CMO_SEND_CONNECTIONS` is how many messages are in flight at once either way.

The SES module (and so boto3) is imported only when SES is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

from foundation.settings import Settings
from tools.mail.sender import MailSender
from tools.mail.smtp import SmtpConfig, SmtpSender


class TransportConfigError(ValueError):
    """The chosen transport is not configured (one line for the user)."""


@dataclass
class Transports:
    """The senders of one run and what to call them in a status line."""

    description: str
    senders: list[MailSender]

    async def aclose(self) -> None:
        for sender in {id(sender): sender for sender in self.senders}.values():
            await sender.aclose()


def describe_transport(settings: Settings) -> str:
    """What `open_transports` would use, without connecting; `TransportConfigError` when unusable."""
    if settings.cmo_mail_transport == "ses":
        region = settings.cmo_ses_region or settings.aws_region
        if not region:
            raise TransportConfigError("CMO_MAIL_TRANSPORT=ses needs CMO_SES_REGION (or AWS_REGION)")
        endpoint = f", {settings.cmo_ses_endpoint_url}" if settings.cmo_ses_endpoint_url else ""
        return f"Amazon SES ({region}{endpoint})"
    return str(_smtp_config(settings))


def open_transports(settings: Settings) -> Transports:
    """`CMO_SEND_CONNECTIONS` senders of the configured transport (nothing connects before the first send)."""
    description = describe_transport(settings)
    count = settings.cmo_send_connections
    if settings.cmo_mail_transport == "ses":
        from tools.mail.ses import SesSender

        ses = SesSender.from_settings(settings)
        return Transports(description, [ses] * count)
    config = _smtp_config(settings)
    senders: list[MailSender] = [
        SmtpSender(config, ca_file=settings.cmo_smtp_ca_file, timeout=settings.cmo_smtp_timeout_seconds) for _ in range(count)
    ]
    return Transports(description, senders)


def _smtp_config(settings: Settings) -> SmtpConfig:
    if settings.cmo_smtp_url is None:
        raise TransportConfigError(
            "CMO_SMTP_URL is not set (smtp://user:pass@host:587?starttls=true or smtps://...), nor CMO_MAIL_TRANSPORT=ses; "
            "--dry-run works without either"
        )
    try:
        return SmtpConfig.from_url(settings.cmo_smtp_url.get_secret_value())
    except ValueError as exc:
        raise TransportConfigError(str(exc)) from None
