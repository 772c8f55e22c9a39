"""A GitHub App registered on the sandbox: its JWT-authenticated `/app` endpoints and the
installation access tokens they mint, so that a client's App authentication runs over real HTTP.

GitHub's documented contract, which this follows:
- "Generating a JSON Web Token (JWT) for a GitHub App"
  (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app):
  signed with RS256 by the app's private key; `iss` is the app's ID or client ID; `iat` in the past
  (60 s back is recommended against clock drift); `exp` no more than 10 minutes into the future.
- REST "Get the authenticated app" (`GET /app`), "List installations for the authenticated app"
  (`GET /app/installations`) and "Create an installation access token for an app"
  (`POST /app/installations/{installation_id}/access_tokens`: 201 with `token`, `expires_at`,
  `permissions`, `repository_selection`), https://docs.github.com/en/rest/apps/apps#create-an-installation-access-token-for-an-app
- "Generating an installation access token for a GitHub App": the token expires after one hour;
  then GitHub answers it 401 "Bad credentials".
A refused JWT is answered 401 with GitHub's messages ("A JSON web token could not be decoded" for a
key of another app). `token_ttl` shortens the hour so that tests can watch a client renew its token.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

JWT_MAX_LIFETIME = 600  # seconds: GitHub refuses an `exp` further in the future
TOKEN_LIFETIME = 3600.0
# What the tool reads: public data only, which every installation may read (`metadata` is implied).
PERMISSIONS = {"metadata": "read"}


class AppError(Exception):
    """An answer other than success, in GitHub's shape (status and message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class AppInstallation:
    """Where the app is installed: an account (an organization, usually) by login."""

    id: int
    account: str
    account_type: str = "Organization"


class SandboxApp:
    """One GitHub App: verifies its JWTs, lists its installations, mints and checks its tokens.

    Thread-safe (the server answers each request on its own thread); `minted` and `used` let tests
    see which tokens were issued and which ones requests carried.
    """

    def __init__(
        self,
        app_id: int,
        public_key_pem: bytes | str,
        installations: Sequence[AppInstallation] = (AppInstallation(1, "cmo-sandbox"),),
        *,
        client_id: str | None = None,
        slug: str = "cmo-sandbox-app",
        token_ttl: float = TOKEN_LIFETIME,
    ) -> None:
        self.app_id, self.client_id, self.slug, self.token_ttl = app_id, client_id, slug, token_ttl
        self.public_key = public_key_pem
        self.installations = list(installations)
        self.minted: list[str] = []
        self.used: Counter[str] = Counter()
        self._tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self._lock = threading.Lock()

    # ---- the JWT ---------------------------------------------------------------------------------
    def verify_jwt(self, authorization: str | None) -> None:
        """Accept `Authorization: Bearer <JWT>` of this app, or raise AppError(401)."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AppError(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(
                token.strip(),
                self.public_key,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"], "verify_iss": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AppError(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
            ) from exc
        except jwt.ImmatureSignatureError as exc:
            raise AppError(401, "'Issued at' claim ('iat') must be an Integer representing a time in the past") from exc
        except jwt.PyJWTError as exc:
            raise AppError(401, "A JSON web token could not be decoded") from exc
        if str(claims["iss"]) not in {str(self.app_id), self.client_id}:
            raise AppError(401, "A JSON web token could not be decoded")
        if claims["exp"] > time.time() + JWT_MAX_LIFETIME:
            raise AppError(401, "'Expiration time' claim ('exp') is too far in the future")

    # ---- the endpoints ---------------------------------------------------------------------------
    def app(self) -> dict[str, Any]:
        """`GET /app`."""
        return {
            "id": self.app_id,
            "client_id": self.client_id,
            "slug": self.slug,
            "node_id": f"A_{self.app_id}",
            "owner": {"login": "cmo-sandbox", "id": 1, "type": "Organization"},
            "name": self.slug,
            "description": "The sandbox's GitHub App",
            "external_url": "https://example.invalid",
            "html_url": f"https://github.com/apps/{self.slug}",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "permissions": PERMISSIONS,
            "events": [],
            "installations_count": len(self.installations),
        }

    def list_installations(self, base: str) -> list[dict[str, Any]]:
        """`GET /app/installations`."""
        return [self._installation(i, base) for i in self.installations]

    def create_token(self, installation_id: int) -> dict[str, Any]:
        """`POST /app/installations/{installation_id}/access_tokens` (answered 201)."""
        if not any(i.id == installation_id for i in self.installations):
            raise AppError(404, "Not Found")
        token = "ghs_" + secrets.token_hex(18)
        expires = int(time.time() + self.token_ttl)  # GitHub states it to the second
        with self._lock:
            self._tokens[token] = expires
            self.minted.append(token)
        return {
            "token": token,
            "expires_at": datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "permissions": PERMISSIONS,
            "repository_selection": "all",
        }

    def accepts(self, authorization: str | None) -> bool:
        """Whether a REST request carries a live installation token of this app."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        with self._lock:
            expires = self._tokens.get(token)
            if scheme.lower() not in ("token", "bearer") or expires is None or expires <= time.time():
                return False
            self.used[token] += 1
            return True

    def expires_at(self, token: str) -> float:
        """When a minted token stops working (epoch seconds)."""
        with self._lock:
            return self._tokens[token]

    def _installation(self, installation: AppInstallation, base: str) -> dict[str, Any]:
        return {
            "id": installation.id,
            "account": {
                "login": installation.account,
                "id": 10_000 + installation.id,
                "type": installation.account_type,
                "url": f"{base}/users/{installation.account}",
                "html_url": f"https://github.com/{installation.account}",
            },
            "access_tokens_url": f"{base}/app/installations/{installation.id}/access_tokens",
            "repositories_url": f"{base}/installation/repositories",
            "html_url": f"https://github.com/organizations/{installation.account}/settings/installations/{installation.id}",
            "app_id": self.app_id,
            "app_slug": self.slug,
            "target_id": 10_000 + installation.id,
            "target_type": installation.account_type,
            "permissions": PERMISSIONS,
            "events": [],
            "repository_selection": "all",
            "single_file_name": None,
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "suspended_at": None,
            "suspended_by": None,
        }
