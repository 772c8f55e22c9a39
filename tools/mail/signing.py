"""DKIM signatures (dkimpy), so receivers can tie the message to the sending domain (Gmail and Yahoo
require DKIM of bulk senders; DMARC wants its domain aligned with the From address).

RFC 8058 §4 requires the signature to cover `List-Unsubscribe` and `List-Unsubscribe-Post`, so a
one-click link cannot be swapped in transit: both are in `SIGNED_HEADERS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dkim

from foundation.settings import Settings

SIGNED_HEADERS: tuple[bytes, ...] = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
)


class DkimConfigError(ValueError):
    """The DKIM settings are incomplete or the key cannot be used."""


@dataclass(frozen=True)
class DkimSigner:
    """Signs with one selector's private key for one domain (relaxed/relaxed, rsa-sha256)."""

    selector: str
    domain: str
    private_key: bytes = field(repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> DkimSigner | None:
        """The configured signer; None when no DKIM setting is set. All three or none."""
        values = (settings.cmo_dkim_selector, settings.cmo_dkim_domain, settings.cmo_dkim_private_key_file)
        if all(value is None for value in values):
            return None
        selector, domain, key_file = values
        if selector is None or domain is None or key_file is None:
            raise DkimConfigError("DKIM needs all of CMO_DKIM_SELECTOR, CMO_DKIM_DOMAIN and CMO_DKIM_PRIVATE_KEY_FILE")
        try:
            key = key_file.expanduser().read_bytes()
        except OSError as exc:
            raise DkimConfigError(f"cannot read CMO_DKIM_PRIVATE_KEY_FILE {key_file}: {exc.strerror}") from None
        signer = cls(selector, domain.strip().lower().rstrip("."), key)
        try:
            signer.sign(b"From: a@example.org\r\nSubject: key check\r\n\r\nkey check\r\n")
        except (dkim.DKIMException, ValueError) as exc:
            raise DkimConfigError(f"CMO_DKIM_PRIVATE_KEY_FILE {key_file} is not a usable private key: {exc}") from None
        return signer

    def sign(self, data: bytes) -> bytes:
        """The message with its `DKIM-Signature` header first."""
        signature = dkim.sign(
            data,
            self.selector.encode("ascii"),
            self.domain.encode("ascii"),
            self.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
        return signature + data
