"""GitHub App authentication: an app ID and its private key become installation access tokens.

PyGithub does the GitHub parts: `Auth.AppAuth` signs the app's JWT (RS256, through PyJWT and
`cryptography`) and `GithubIntegration` calls the App endpoints with it (`GET /app`,
`GET /app/installations`, `POST /app/installations/{id}/access_tokens`). PyGithub's own
`Auth.AppInstallationAuth` is not used for the token itself: it renews without a lock, so every
thread of a job that sees the old token near its expiry mints a new one, and 20 s before expiry
(a module constant), less than a rate-limit wait may last. `InstallationTokenAuth` renews once,
under a lock, `refresh_margin` seconds before expiry.

GitHub's contract: https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-an-installation-access-token-for-a-github-app
(installation tokens expire after one hour).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
from github import Auth, GithubException, GithubIntegration
from github.InstallationAuthorization import InstallationAuthorization
from urllib3.util import Retry

from tools.github_transport import GitHubError, GitHubStop

# Renew when less than this is left of the token's hour: room for a clock some minutes off GitHub's
# and for the requests already under way (a retry after a long wait takes the current token anyway).
REFRESH_MARGIN_SECONDS = 300.0
# The App endpoints are few and cheap: retry their transient failures a little (POST included).
_RETRY = Retry(total=3, backoff_factor=0.5, status_forcelist=(500, 502, 503, 504), allowed_methods=None, raise_on_status=False)


class TokenRenewalFailed(GitHubStop):
    """A running job could not renew its installation token (the App was uninstalled or suspended,
    its key revoked): the run stops with what it gathered."""


@dataclass(frozen=True)
class AppCredentials:
    """A GitHub App to act as: its ID (or client ID, which GitHub accepts as the JWT issuer), its
    private key (PEM) and the installation (None: the app's only one)."""

    app_id: str
    private_key: str = field(repr=False)
    installation_id: int | None = None
    refresh_margin: float = REFRESH_MARGIN_SECONDS


class InstallationTokenAuth(Auth.Auth):
    """PyGithub authentication with an installation access token, renewed before it expires.

    PyGithub asks for `token` once per request, from whichever thread sends it; the transport asks
    again before retrying a request it had to hold back. One lock serialises renewals: threads that
    ask while a renewal is under way wait for its token instead of minting their own.
    """

    def __init__(self, app: AppCredentials, base_url: str, *, timeout: float) -> None:
        self.app_id = app.app_id
        self.installation_id = app.installation_id
        self._integration = GithubIntegration(
            auth=Auth.AppAuth(app.app_id, app.private_key),
            base_url=base_url,
            timeout=int(timeout),
            retry=_RETRY,
            seconds_between_requests=None,  # PyGithub's default throttle would hold every renewal up to a second
            seconds_between_writes=None,
            lazy=True,
        )
        self._margin = timedelta(seconds=app.refresh_margin)
        self._lock = threading.Lock()
        self._current: InstallationAuthorization | None = None
        self._renew_at = datetime.min.replace(tzinfo=UTC)

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        with self._lock:
            if self._current is None or datetime.now(UTC) >= self._renew_at:
                try:
                    self._mint()
                except GitHubError as exc:
                    raise TokenRenewalFailed(f"cannot renew the GitHub App's installation token: {exc}") from exc
            assert self._current is not None
            return self._current.token

    @property
    def _masked_token(self) -> str:
        return "token (installation token removed)"

    def connect(self) -> None:
        """Check the app, choose its installation and mint the first token now, so that a wrong app
        ID, another app's key or a missing installation is one clear `GitHubError` before the run."""
        with self._lock:
            with self._talking():
                self._integration.get_app()
            self._mint()

    def _mint(self) -> None:
        """Take a new installation token (GitHubError with what to fix when GitHub says no). It is
        renewed `refresh_margin` before it expires, or at half its life if it was issued for less
        (a server with shorter-lived tokens must not cost a renewal per request)."""
        with self._talking():
            installation = self.installation_id if self.installation_id is not None else self._only_installation()
            try:
                minted = self._integration.get_access_token(installation)
            except GithubException as exc:
                if exc.status != 404:
                    raise
                raise GitHubError(
                    f"GitHub App {self.app_id} has no installation {installation}; its installations: {self._listing()}"
                ) from exc
        self.installation_id = installation
        self._current = minted
        life = minted.expires_at - datetime.now(UTC)
        self._renew_at = minted.expires_at - (self._margin if life > self._margin else life / 2)

    def _only_installation(self) -> int:
        installations = self._installations()
        if len(installations) == 1:
            return installations[0][0]
        if not installations:
            raise GitHubError(
                f"GitHub App {self.app_id} has no installations: install it on an account (the app's settings page, "
                "'Install App'), or use GITHUB_TOKEN"
            )
        raise GitHubError(
            f"GitHub App {self.app_id} has {len(installations)} installations: set GITHUB_APP_INSTALLATION_ID to one of "
            f"{_describe(installations)}"
        )

    def _installations(self) -> list[tuple[int, str]]:
        """(id, account login) of each installation of the app."""
        return [(i.id, i.account.login if i.account else "?") for i in self._integration.get_installations()]

    def _listing(self) -> str:
        try:
            return _describe(self._installations()) or "none"
        except Exception:  # only decorates an error message
            return "(cannot list them)"

    @contextmanager
    def _talking(self) -> Iterator[None]:
        """GitHub's refusals, an unusable key and an unreachable server, each as one GitHubError."""
        try:
            yield
        except GitHubError:
            raise
        except GithubException as exc:
            message = exc.data.get("message", exc.data) if isinstance(exc.data, dict) else exc.data
            hint = ""
            if exc.status == 401:
                hint = (
                    ": check GITHUB_APP_ID and that the private key is this app's (and that this machine's clock is right: "
                    "GitHub refuses a JWT issued in the future or valid for more than 10 minutes)"
                )
            raise GitHubError(f"GitHub refused GitHub App {self.app_id}: {exc.status} {message}{hint}") from exc
        except jwt.PyJWTError as exc:
            raise GitHubError(
                f"GitHub App {self.app_id}: the private key is not an RSA private key in PEM format "
                f"(the .pem file GitHub generated for the app): {exc}"
            ) from exc
        except Exception as exc:  # connection errors surface as many requests/urllib3 types
            raise GitHubError(f"cannot reach GitHub API at {self._integration.base_url}: {type(exc).__name__}: {exc}") from exc


def _describe(installations: list[tuple[int, str]]) -> str:
    return ", ".join(f"{ident} ({account})" for ident, account in installations)
