"""Amazon SNS HTTP(S) messages: is this really from SNS, and confirming a subscription.

SNS signs every message it POSTs (https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html):
the string to sign is `Name\\nValue\\n` for these fields, in this order, a field left out when the
message lacks it (`Subject` often does):
- `Notification`: Message, MessageId, Subject, Timestamp, TopicArn, Type;
- `SubscriptionConfirmation` and `UnsubscribeConfirmation`: Message, MessageId, SubscribeURL,
  Timestamp, Token, TopicArn, Type.
`SignatureVersion` 1 signs with RSA PKCS#1 v1.5 over SHA-1, version 2 over SHA-256; `Signature` is
base64; the public key is the X.509 certificate at `SigningCertURL`.

What makes that check worth anything is where the certificate comes from: only over https from an
SNS host, `sns.<region>.amazonaws.com` (or `.amazonaws.com.cn`), ending in `.pem`; anything else is
refused before any request is made (else an attacker would sign with a key of their own and point
at its certificate). `CMO_SNS_ENDPOINT_URL` trusts one more base URL (tests, a private endpoint).
The `SubscribeURL` of a confirmation is fetched under the same rule, so the service never makes a
request to a host a message names unless it is SNS's.

Message shapes (HTTP/HTTPS notification JSON,
https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html and
https://docs.aws.amazon.com/sns/latest/dg/http-subscription-confirmation-json.html): the body is
JSON sent as `text/plain`; `Type`, `MessageId`, `TopicArn`, `Message`, `Timestamp`,
`SignatureVersion`, `Signature`, `SigningCertURL`, and `Token` / `SubscribeURL` for confirmations.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.models.inbound import TOPIC_ARN

SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
MessageType = Literal["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"]
_NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
_CERT_CACHE_SIZE = 16
_certificates: OrderedDict[str, x509.Certificate] = OrderedDict()


class SnsRejected(Exception):
    """Not a message we can trust as coming from SNS (the reason is for the log, not the caller)."""


class SnsMessage(BaseModel):
    """An SNS HTTP(S) message (the fields the signature covers and how it was signed)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: MessageType = Field(alias="Type")
    message_id: str = Field(alias="MessageId", max_length=100)
    topic_arn: str = Field(alias="TopicArn", pattern=TOPIC_ARN)
    message: str = Field(alias="Message")
    timestamp: str = Field(alias="Timestamp")
    subject: str | None = Field(default=None, alias="Subject")
    token: str | None = Field(default=None, alias="Token")
    subscribe_url: str | None = Field(default=None, alias="SubscribeURL")
    signature_version: str = Field(alias="SignatureVersion")
    signature: str = Field(alias="Signature")
    signing_cert_url: str = Field(alias="SigningCertURL")

    def string_to_sign(self) -> bytes:
        fields = _NOTIFICATION_FIELDS if self.type == "Notification" else _CONFIRMATION_FIELDS
        values = self.model_dump(by_alias=True)
        return "".join(f"{name}\n{values[name]}\n" for name in fields if values.get(name) is not None).encode()


def parse_message(body: bytes) -> SnsMessage:
    try:
        return SnsMessage.model_validate_json(body)
    except ValidationError as exc:
        raise SnsRejected(f"not an SNS message: {exc.errors()[0]['msg']}") from None


def trusted_sns_url(url: str, override: str | None, *, pem: bool) -> bool:
    """An https URL on an SNS host (a `.pem` path for certificates), or one under `override`."""
    if override and url.startswith(override.rstrip("/") + "/"):
        return True
    parts = urlsplit(url)
    if parts.scheme != "https" or parts.port not in (None, 443) or parts.username or parts.password:
        return False
    return bool(parts.hostname and SNS_HOST.match(parts.hostname)) and (not pem or parts.path.endswith(".pem"))


async def verify(message: SnsMessage, client: httpx.AsyncClient, *, override: str | None = None) -> None:
    """`SnsRejected` unless SNS signed this message (see the module docstring)."""
    algorithm = _HASHES.get(message.signature_version)
    if algorithm is None:
        raise SnsRejected(f"unknown SignatureVersion {message.signature_version!r}")
    if not trusted_sns_url(message.signing_cert_url, override, pem=True):
        raise SnsRejected("SigningCertURL is not an SNS certificate URL")
    try:
        signature = base64.b64decode(message.signature, validate=True)
    except (binascii.Error, ValueError):
        raise SnsRejected("Signature is not base64") from None
    certificate = await _certificate(message.signing_cert_url, client)
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SnsRejected("the signing certificate's key is not RSA")
    try:
        key.verify(signature, message.string_to_sign(), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise SnsRejected("the signature does not match the message") from None


async def confirm_subscription(message: SnsMessage, client: httpx.AsyncClient, *, override: str | None = None) -> None:
    """Confirm a verified `SubscriptionConfirmation` by a GET of its `SubscribeURL` (SNS hosts only)."""
    url = message.subscribe_url or ""
    if not trusted_sns_url(url, override, pem=False):
        raise SnsRejected("SubscribeURL is not an SNS URL")
    try:
        answer = await client.get(url, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise SnsRejected(f"confirming the subscription failed: {exc}") from None
    if answer.status_code != 200:
        raise SnsRejected(f"confirming the subscription failed: HTTP {answer.status_code}")


async def _certificate(url: str, client: httpx.AsyncClient) -> x509.Certificate:
    """The certificate at `url` (already checked as trusted), cached, refused once it has expired."""
    certificate = _certificates.get(url)
    if certificate is None:
        try:
            answer = await client.get(url, follow_redirects=False)
            answer.raise_for_status()
            certificate = x509.load_pem_x509_certificate(answer.content)
        except (httpx.HTTPError, ValueError) as exc:
            raise SnsRejected(f"cannot load the signing certificate: {exc}") from None
        _certificates[url] = certificate
        while len(_certificates) > _CERT_CACHE_SIZE:
            _certificates.popitem(last=False)
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise SnsRejected("the signing certificate is not valid now")
    return certificate
