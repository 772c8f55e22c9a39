"""Signed per-recipient opt-out links: the part of one-click unsubscribe the pipeline needs.

Every draft carries its own link, `{CMO_PUBLIC_URL}/unsubscribe/{token}`, because an opt-out must
work without the person having an account, a key or anything else than the email they received
(CAN-SPAM, GDPR Art. 21, RFC 8058 one-click). The token is what makes the public route safe: it is
an HMAC-SHA256 over the tenant, the prospect id and the GitHub id, so nobody can opt someone else out
or probe for who is stored, and it holds no email. Verification is constant-time and every failure
looks the same. The route and the objection it records live in `api.services.unsubscribe`.

The key is `CMO_UNSUBSCRIBE_SECRET`. In the embedded mode one is generated once under `CMO_HOME`
(the API process and its inline workers share that directory); with Postgres, processes run on many
machines and must all sign with the same key, so the setting is required there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from foundation.schemas import Prospect
from foundation.settings import Settings

SECRET_FILE = "unsubscribe.secret"
MAX_TOKEN_CHARS = 512
_CONTEXT = b"cmo-unsubscribe/v1\x00"  # domain separation: this key signs nothing else


class InvalidToken(Exception):
    """A token we did not sign, or whose tenant is gone; callers answer one indistinct 404."""


class UnsubscribeNotConfigured(RuntimeError):
    """Opt-out links cannot be signed or checked: the deployment has no shared secret."""


class Recipient(BaseModel):
    """Who a token opts out: the claims signed into it (short names keep links short)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    tenant_id: str = Field(alias="t", min_length=1, max_length=32)
    prospect_id: str = Field(alias="p", pattern=r"^gh_.+", max_length=255)
    github_id: int | None = Field(default=None, alias="g")

    @property
    def login(self) -> str:
        return self.prospect_id.removeprefix("gh_")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, _CONTEXT + payload.encode("ascii"), hashlib.sha256).digest()


def sign_token(key: bytes, recipient: Recipient) -> str:
    """`<payload>.<mac>`, both URL-safe base64 without padding."""
    claims = recipient.model_dump(by_alias=True, exclude_none=True)
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_b64(_mac(key, payload))}"


def verify_token(key: bytes, token: str) -> Recipient:
    """The recipient of a token we signed; `InvalidToken` for anything else, whatever went wrong."""
    if len(token) > MAX_TOKEN_CHARS or not token.isascii() or token.count(".") != 1:
        raise InvalidToken
    payload, mac = token.split(".")
    if not hmac.compare_digest(_b64(_mac(key, payload)).encode(), mac.encode()):
        raise InvalidToken
    try:
        return Recipient.model_validate_json(_unb64(payload))
    except ValueError as exc:  # bad base64, JSON or claims under a valid MAC: a key reused elsewhere
        raise InvalidToken from exc


def unsubscribe_key(settings: Settings) -> bytes:
    """The signing key: the setting, else (embedded mode only) a secret generated once in CMO_HOME."""
    if settings.cmo_unsubscribe_secret is not None:
        return settings.cmo_unsubscribe_secret.get_secret_value().encode()
    if settings.uses_postgres:
        raise UnsubscribeNotConfigured(
            "CMO_UNSUBSCRIBE_SECRET is not set: with a Postgres DATABASE_URL every API process and worker must "
            "sign opt-out links with the same secret (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    return _home_secret(settings.home / SECRET_FILE)


def _home_secret(path: Path) -> bytes:
    """Read the generated secret, creating it first if needed; concurrent creators agree on one file
    (it appears complete or not at all: written aside, then hard-linked into place)."""
    if not path.exists():
        scratch = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(32))
        try:
            os.link(scratch, path)
        except FileExistsError:
            pass
        finally:
            scratch.unlink()
    secret = path.read_text(encoding="ascii", errors="replace").strip()
    if len(secret) < 16:
        raise UnsubscribeNotConfigured(f"{path} is damaged (too short): delete it, or set CMO_UNSUBSCRIBE_SECRET")
    return secret.encode()


@dataclass(frozen=True)
class LinkSigner:
    """Mints the per-recipient opt-out links of one tenant's job."""

    base_url: str
    tenant_id: str
    key: bytes = field(repr=False)

    def url(self, prospect: Prospect) -> str:
        recipient = Recipient(tenant_id=self.tenant_id, prospect_id=prospect.id, github_id=prospect.github_id)
        return f"{self.base_url}{sign_token(self.key, recipient)}"


def link_signer(settings: Settings, tenant_id: str | None) -> LinkSigner | None:
    """The signer of a service job, or None when opt-outs go to `CMO_UNSUBSCRIBE_URL` instead: no
    `CMO_PUBLIC_URL`, or a CLI run (no tenant whose suppression list the objection could join)."""
    if settings.cmo_public_url is None or tenant_id is None:
        return None
    return LinkSigner(f"{settings.cmo_public_url.rstrip('/')}/unsubscribe/", tenant_id, unsubscribe_key(settings))
