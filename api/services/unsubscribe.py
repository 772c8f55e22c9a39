"""One-click unsubscribe: signed per-recipient opt-out links, and the objection they record.

Every draft carries its own link, `{CMO_PUBLIC_URL}/unsubscribe/{token}`, because an opt-out must
work without the person having an account, a key or anything else than the email they received
(CAN-SPAM, GDPR Art. 21, RFC 8058 one-click). The token is what makes a public route safe: it is an
HMAC-SHA256 over the tenant, the prospect id and the GitHub id, so nobody can opt someone else out
or probe for who is stored, and it holds no email (the address is looked up in the tenant's stored
prospects when the person objects). Verification is constant-time and every failure looks the same.

The key is `CMO_UNSUBSCRIBE_SECRET`. In the embedded mode one is generated once under `CMO_HOME`
(the API process and its inline workers share that directory); with Postgres, processes run on many
machines and must all sign with the same key, so the setting is required there.

An objection is permanent and effective at once: in the request's own transaction the person's
login, GitHub id and email become suppressions of the tenant (reason `objection`) and their stored
prospects get `privacy_settings.contact_allowed = false`.
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

import structlog
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from api.core import orm
from api.services.audit import record_audit
from api.services.suppressions import add_suppression
from cmo.privacy.keys import tenant_scope
from cmo.schemas import Prospect
from cmo.settings import Settings
from graph.checkpointer import is_postgres

SECRET_FILE = "unsubscribe.secret"
MAX_TOKEN_CHARS = 512
OBJECTION_SOURCE = "unsubscribe_link"
_CONTEXT = b"cmo-unsubscribe/v1\x00"  # domain separation: this key signs nothing else
log = structlog.get_logger("api.unsubscribe")


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
    if is_postgres(settings.database_url):
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


async def recipient_of(session: AsyncSession, settings: Settings, token: str) -> Recipient:
    """The recipient of a link of ours whose tenant still exists; `InvalidToken` otherwise."""
    recipient = verify_token(unsubscribe_key(settings), token)
    if await session.get(orm.Tenant, recipient.tenant_id) is None:
        raise InvalidToken
    return recipient


async def record_objection(session: AsyncSession, recipient: Recipient, request: HTTPConnection | None = None) -> None:
    """Suppress the person for good, forbid contact on their stored prospects and audit it (actor
    'public'), all in one commit. Idempotent: suppressions are unique per identifier and the privacy
    flag only ever goes to false (each repeat is audited, as a request of its own)."""
    tenant_id = recipient.tenant_id
    with tenant_scope(tenant_id):  # rows written here are sealed with the tenant's keys
        rows = (
            await session.scalars(
                select(orm.ProspectRow).where(
                    orm.ProspectRow.tenant_id == tenant_id, orm.ProspectRow.prospect_id == recipient.prospect_id
                )
            )
        ).all()
        wanted = {("login", recipient.login)} | ({("github_id", str(recipient.github_id))} if recipient.github_id else set())
        for row in rows:
            data = row.data
            wanted.update(("login", login) for login in data.get("merged_logins") or [])
            wanted.update((kind, str(data[kind])) for kind in ("github_id", "email") if data.get(kind))  # same names
            privacy = data.get("privacy_settings") or {}
            if privacy.get("contact_allowed", True):
                row.data = {**data, "privacy_settings": {**privacy, "contact_allowed": False}}
        for kind, value in sorted(wanted):
            await add_suppression(session, tenant_id, kind, value, reason="objection", source=OBJECTION_SOURCE)
        await record_audit(
            session,
            tenant_id=tenant_id,
            actor="public",
            action="prospect.objection",
            prospect_ids=[recipient.prospect_id],
            detail={"suppressed_identifiers": len(wanted), "prospect_rows": len(rows)},
            request=request,
            outcome=200,
        )
        await session.commit()
    log.info("objection recorded", tenant=tenant_id, prospect_rows=len(rows), identifiers=len(wanted))
