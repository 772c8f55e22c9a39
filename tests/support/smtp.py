"""A real SMTP server for the sending tests: aiosmtpd on 127.0.0.1 in a thread, over real TCP.

`Mailbox` records what arrived and can refuse recipients (a 5xx or 4xx per address), hang on the
n-th message (to kill a sender mid-send), require STARTTLS and a login. `self_signed` makes the
server's certificate (for 127.0.0.1), which the client trusts through `CMO_SMTP_CA_FILE`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Mailbox:
    """The handler: what arrived, and how to answer."""

    refuse: dict[str, str] = field(default_factory=dict)  # address -> reply, e.g. "550 5.1.1 no such user"
    hang_on: int | None = None  # the n-th DATA (1-based) is recorded, then never answered
    received: list[Received] = field(default_factory=list)
    hanging: threading.Event = field(default_factory=threading.Event)
    logins: list[str] = field(default_factory=list)

    def to(self, address: str) -> list[Received]:
        return [item for item in self.received if address in item.recipients]

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        if self.hang_on is not None and len(self.received) == self.hang_on:
            self.hanging.set()
            await asyncio.sleep(3600)
        return f"250 2.0.0 Ok: queued as Q{len(self.received):05d}"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"mailer", b"s3cret pass")
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(
    mailbox: Mailbox, *, tls: ssl.SSLContext | None = None, implicit_tls: bool = False, login: bool = False
) -> Iterator[int]:
    """Serve `mailbox` on 127.0.0.1; yields the port. With `tls`, STARTTLS is offered and required
    (or, `implicit_tls`, the connection is TLS from the start); with `login`, AUTH is required (user
    `mailer`, password `s3cret pass`; only over TLS)."""
    extra: dict[str, Any] = {}
    if tls is not None:
        extra |= {"ssl_context": tls} if implicit_tls else {"tls_context": tls, "require_starttls": True}
    if login:
        extra |= {"authenticator": mailbox.authenticate, "auth_required": True}
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **extra)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def self_signed_certificate(key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    """A self-signed certificate (its own CA, valid a day either side of now) for 127.0.0.1 and localhost."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def self_signed(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1, and the cert's path."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = self_signed_certificate(key, "cmo-test-smtp")
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file
