"""SMTP transport (aiosmtplib): one connection reused for every message, TLS, optional login.

`CMO_SMTP_URL` is `smtp://[user[:password]@]host[:port][?starttls=true|false]` or `smtps://...`
(implicit TLS, port 465). User and password are URL-quoted (`%40` for an `@`). `starttls=true`
requires the upgrade and fails without it; `false` never upgrades; when absent the connection is
upgraded if the server offers STARTTLS. The server's certificate is always verified, against the
system's CAs or `CMO_SMTP_CA_FILE`.

Every message is its own SMTP transaction (MAIL, RCPT, DATA), so a refusal is known by stage: at
MAIL it concerns our mailbox, at RCPT the recipient (a 5xx is a hard bounce), at DATA the content.
A connection that breaks before DATA delivered nothing; one that breaks during DATA may have, and
is reported as `UnknownOutcome`. An idle connection the server closed is reopened once, silently.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from tools.mail.sender import MailError, OutgoingMail, PermanentFailure, Scope, TransientFailure, UnknownOutcome

_BROKEN = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPConnectError, OSError)


@dataclass(frozen=True)
class SmtpConfig:
    """A parsed `CMO_SMTP_URL` (`str()` never shows the password)."""

    host: str
    port: int
    implicit_tls: bool
    starttls: bool | None
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """ValueError (without the password) for anything but the forms in the module docstring."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("CMO_SMTP_URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise ValueError("CMO_SMTP_URL has no host")
        try:
            port = parts.port
        except ValueError:
            raise ValueError("CMO_SMTP_URL has an invalid port") from None
        query = {key: values[-1].lower() for key, values in parse_qs(parts.query).items()}
        unknown = set(query) - {"starttls"}
        if unknown:
            raise ValueError(f"CMO_SMTP_URL: unknown parameter(s) {', '.join(sorted(unknown))} (only starttls)")
        if query.get("starttls", "true") not in ("true", "false"):
            raise ValueError("CMO_SMTP_URL: starttls must be true or false")
        implicit = parts.scheme == "smtps"
        starttls = None if "starttls" not in query else query["starttls"] == "true"
        if implicit and starttls:
            raise ValueError("CMO_SMTP_URL: smtps:// is TLS from the start; starttls=true is for smtp://")
        return cls(
            host=parts.hostname,
            port=port or (465 if implicit else 587 if starttls else 25),
            implicit_tls=implicit,
            starttls=False if implicit else starttls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )

    def __str__(self) -> str:
        who = f"{self.username}@" if self.username else ""
        tls = "TLS" if self.implicit_tls else {True: "STARTTLS", False: "plain", None: "STARTTLS if offered"}[self.starttls]
        return f"smtp{'s' if self.implicit_tls else ''}://{who}{self.host}:{self.port} ({tls})"


def _refusal(error: aiosmtplib.SMTPResponseException, scope: Scope) -> MailError:
    """A 5xx is permanent, anything else (4xx, an unexpected code) transient."""
    kind = PermanentFailure if 500 <= error.code < 600 else TransientFailure
    return kind(error.message, code=error.code, scope=scope)


class SmtpSender:
    """`MailSender` over SMTP; use one per task (it holds one connection)."""

    def __init__(self, config: SmtpConfig, *, ca_file: Path | None = None, timeout: float = 30.0) -> None:
        self.config = config
        self._tls = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        self._timeout = timeout
        self._client: aiosmtplib.SMTP | None = None

    async def _connect(self) -> aiosmtplib.SMTP:
        """A connected (and logged-in) client. What only the operator can fix (a certificate we do not
        trust, STARTTLS or AUTH required but not offered, credentials refused) is permanent for the
        mailbox; a server that cannot be reached now is transient."""
        c = self.config
        client = aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            use_tls=c.implicit_tls,
            start_tls=c.starttls,
            tls_context=self._tls,
            timeout=self._timeout,
        )
        try:
            await client.connect()
            if c.username is not None:
                await client.login(c.username, c.password or "")
        except aiosmtplib.SMTPResponseException as exc:  # a refusal at the greeting, STARTTLS or AUTH
            client.close()
            raise _refusal(exc, "mailbox") from exc
        except (*_BROKEN, aiosmtplib.SMTPException, ssl.SSLError) as exc:
            client.close()
            if _untrusted(exc):
                raise PermanentFailure(f"{c}: the server's certificate is not trusted ({exc}); see CMO_SMTP_CA_FILE") from exc
            if not isinstance(exc, _BROKEN):  # STARTTLS or AUTH not offered: the URL asks for what the server lacks
                raise PermanentFailure(f"{c}: {exc}") from exc
            raise TransientFailure(f"cannot reach {c}: {exc}") from exc
        return client

    async def send(self, mail: OutgoingMail) -> str:
        reused = self._client is not None and self._client.is_connected
        try:
            return await self._transaction(mail)
        except _StaleConnection:
            if reused:  # the server may have dropped an idle connection: once more, on a new one
                try:
                    return await self._transaction(mail)
                except _StaleConnection:
                    pass
        raise TransientFailure(f"{self.config} closed the connection before the message was handed over")

    async def _transaction(self, mail: OutgoingMail) -> str:
        if self._client is None or not self._client.is_connected:
            self._client = await self._connect()
        client = self._client
        try:
            await client.mail(mail.sender)
            await client.rcpt(mail.recipient)
        except aiosmtplib.SMTPSenderRefused as exc:
            await self._reset()
            raise _refusal(exc, "mailbox") from exc
        except aiosmtplib.SMTPRecipientRefused as exc:
            await self._reset()
            raise _refusal(exc, "recipient") from exc
        except _BROKEN as exc:
            self._drop()
            raise _StaleConnection from exc
        try:
            response = await client.data(mail.data)
        except aiosmtplib.SMTPDataError as exc:
            await self._reset()
            raise _refusal(exc, "message") from exc
        except (*_BROKEN, aiosmtplib.SMTPException) as exc:
            self._drop()
            raise UnknownOutcome(f"the connection broke while the message was handed over: {exc}") from exc
        return response.message.strip()[:200] or mail.message_id

    async def _reset(self) -> None:
        """End a refused transaction so the connection can carry the next message."""
        if self._client is None:
            return
        try:
            await self._client.rset()
        except (*_BROKEN, aiosmtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        if self._client is not None and self._client.is_connected:
            try:
                await self._client.quit()
            except (*_BROKEN, aiosmtplib.SMTPException):
                pass
        self._drop()


def _untrusted(exc: BaseException) -> bool:
    """Whether a certificate check failed somewhere down the exception's causes."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class _StaleConnection(Exception):
    """The connection broke before DATA: nothing was handed over."""
