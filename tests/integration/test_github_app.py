"""GitHub App authentication over real HTTP against the sandbox's App surface (sandbox/apps.py):
JWT -> installation token -> REST calls with it, renewal before expiry (once, however many threads
ask), the ETag cache across tokens, and the one-line errors (exit 2) of `cmo run` for the mistakes
people make configuring an App.

Tokens here live 62 s with a 60 s renewal margin (`AppCredentials.refresh_margin`, a constructor
argument): a renewal falls due 1-2 s after minting, so the tests wait seconds, not the hour.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from cli.main import app as cmo
from sandbox import AppInstallation, SandboxApp, SandboxServer, World, generate_world
from tools.etag_cache import SQLiteETagCache
from tools.github import GitHubClient
from tools.github_app import AppCredentials
from tools.github_transport import GitHubError, GitHubStop, RateBudget

APP_ID = 4242
TTL, MARGIN = 62.0, 60.0
GOAL = "Find Python maintainers active in ML"


def _key_pair() -> tuple[str, bytes]:
    """A fresh RSA key as GitHub hands it out (private PEM) and the public half GitHub keeps."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private.decode(), public


@pytest.fixture(scope="module")
def keys() -> tuple[str, bytes]:
    return _key_pair()


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=7, users=300)


@pytest.fixture
def github_app(keys: tuple[str, bytes]) -> SandboxApp:
    return SandboxApp(APP_ID, keys[1], token_ttl=TTL)


@pytest.fixture
def server(world: World, github_app: SandboxApp) -> Iterator[SandboxServer]:
    with SandboxServer(world, app=github_app, latency_ms=20) as srv:
        yield srv


def _client(
    server: SandboxServer, private_pem: str, tmp_path: Path, *, installation_id: int | None = None, max_wait: float = 5.0
) -> GitHubClient:
    credentials = AppCredentials(str(APP_ID), private_pem, installation_id=installation_id, refresh_margin=MARGIN)
    return GitHubClient(
        server.url,
        credentials,
        RateBudget(max_requests=1000),
        SQLiteETagCache(tmp_path / "etags.sqlite"),
        "app:test",
        max_wait=max_wait,
        concurrency=16,
    )


def _some_login(client: GitHubClient) -> str:
    return client.search_repositories("language:Go", "stars", "desc", 1)[1][0].owner


def _until_renewal_due(app: SandboxApp, margin: float = MARGIN) -> None:
    time.sleep(max(app.expires_at(app.minted[-1]) - margin - time.time(), 0.0) + 0.1)


def test_one_installation_token_is_minted_and_sent_with_every_request(
    server: SandboxServer, github_app: SandboxApp, keys: tuple[str, bytes], tmp_path: Path
) -> None:
    client = _client(server, keys[0], tmp_path)
    client.check()
    login = _some_login(client)
    assert client.user(login).login == login
    assert len(github_app.minted) == 1
    assert github_app.used[github_app.minted[0]] == 3  # /rate_limit, the search, the profile: all with the token
    assert server.stats.by_path["/app/installations"] == 1, "the app's only installation is found, not configured"


def test_the_token_is_renewed_before_it_expires_and_the_etag_cache_outlives_it(
    server: SandboxServer, github_app: SandboxApp, keys: tuple[str, bytes], tmp_path: Path
) -> None:
    client = _client(server, keys[0], tmp_path)
    client.check()
    login = _some_login(client)
    client.user(login)
    first = github_app.minted[0]
    _until_renewal_due(github_app)
    assert time.time() < github_app.expires_at(first), "the old token still works: this is a renewal, not a rescue"
    assert client.user(login).login == login
    assert len(github_app.minted) == 2 and github_app.used[github_app.minted[1]] == 1
    assert client.budget.not_modified == 1, "the cached profile revalidated with the new token (keys hold no token)"


def test_concurrent_requests_during_a_renewal_share_one_new_token(
    server: SandboxServer, github_app: SandboxApp, keys: tuple[str, bytes], tmp_path: Path
) -> None:
    client = _client(server, keys[0], tmp_path)
    client.check()
    logins = [r.owner for r in client.search_repositories("language:Python", "stars", "desc", 16)[1]]
    _until_renewal_due(github_app)
    start = threading.Barrier(len(logins))

    def fetch(login: str) -> str:
        start.wait()
        return client.user(login).login

    with ThreadPoolExecutor(len(logins)) as pool:
        assert list(pool.map(fetch, logins)) == logins
    assert len(github_app.minted) == 2
    assert github_app.used[github_app.minted[1]] == len(logins)


def test_a_request_held_back_past_its_tokens_expiry_is_retried_with_a_fresh_token(
    world: World, keys: tuple[str, bytes], tmp_path: Path
) -> None:
    """A rate-limit wait longer than the token's life: the retry carries a new token, not a 401."""
    short = SandboxApp(APP_ID, keys[1], token_ttl=3)
    with SandboxServer(world, app=short) as server:
        client = GitHubClient(
            server.url,
            AppCredentials(str(APP_ID), keys[0], refresh_margin=1),
            RateBudget(max_requests=100),
            None,
            "app:test",
            max_wait=10,
        )
        client.check()
        login = _some_login(client)
        server.set_rate_limit("core", remaining=0, reset_in=4)
        assert client.user(login).login == login
    assert client.budget.retries == 1
    assert len(short.minted) >= 2 and short.used[short.minted[-1]] >= 1


def test_a_failed_renewal_stops_the_run_with_what_it_gathered(
    server: SandboxServer, github_app: SandboxApp, keys: tuple[str, bytes], tmp_path: Path
) -> None:
    client = _client(server, keys[0], tmp_path)
    client.check()
    login = _some_login(client)
    github_app.installations.clear()  # uninstalled while the job runs
    _until_renewal_due(github_app)
    with pytest.raises(GitHubStop, match=r"cannot renew the GitHub App's installation token: .*has no installation 1"):
        client.user(login)


def test_an_app_with_several_installations_needs_the_installation_id(
    world: World, keys: tuple[str, bytes], tmp_path: Path
) -> None:
    two = SandboxApp(APP_ID, keys[1], [AppInstallation(11, "acme"), AppInstallation(12, "ada", "User")])
    with SandboxServer(world, app=two) as server:
        with pytest.raises(
            GitHubError, match=r"has 2 installations: set GITHUB_APP_INSTALLATION_ID to one of 11 \(acme\), 12 \(ada\)"
        ):
            _client(server, keys[0], tmp_path).check()
        chosen = _client(server, keys[0], tmp_path, installation_id=12)
        chosen.check()
        assert chosen.user(_some_login(chosen)).login
    assert len(two.minted) == 1


@pytest.mark.parametrize(
    ("claims", "algorithm", "message"),
    [
        ({}, "RS256", None),
        ({"exp": 900}, "RS256", "too far in the future"),
        ({"exp": -10, "iat": -100}, "RS256", "'exp') must be a numeric value"),
        ({"iat": 120}, "RS256", "'iat') must be an Integer representing a time in the past"),
        ({"iss": "999"}, "RS256", "could not be decoded"),
        ({}, "other key", "could not be decoded"),
        ({}, "HS256", "could not be decoded"),
    ],
)
def test_the_sandbox_checks_app_jwts_as_github_documents(
    server: SandboxServer, keys: tuple[str, bytes], claims: dict[str, int | str], algorithm: str, message: str | None
) -> None:
    now = int(time.time())
    payload = {"iat": now - 60, "exp": now + 300, "iss": str(APP_ID)}
    payload |= {k: v if isinstance(v, str) else now + v for k, v in claims.items()}
    if algorithm == "HS256":
        token = jwt.encode(payload, "a shared secret of at least thirty-two bytes", algorithm="HS256")
    else:
        token = jwt.encode(payload, _key_pair()[0] if algorithm == "other key" else keys[0], algorithm="RS256")
    answer = requests.get(f"{server.url}/app", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    if message is None:
        assert answer.status_code == 200 and answer.json()["id"] == APP_ID
    else:
        assert answer.status_code == 401 and message in answer.json()["message"]


# ---- `cmo run`: one clear line and exit 2 for each configuration mistake -------------------------------------


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"GITHUB_APP_PRIVATE_KEY": "other app's key"}, "401 A JSON web token could not be decoded: check GITHUB_APP_ID"),
        ({"GITHUB_APP_ID": "999"}, "GitHub refused GitHub App 999: 401 A JSON web token could not be decoded"),
        ({"GITHUB_APP_PRIVATE_KEY": "not a key"}, "not an RSA private key in PEM format"),
        ({"GITHUB_APP_INSTALLATION_ID": "99"}, "has no installation 99; its installations: 1 (cmo-sandbox)"),
        ({"GITHUB_TOKEN": "ghp_x"}, "both GITHUB_TOKEN and a GitHub App"),
        ({"GITHUB_APP_PRIVATE_KEY": None}, "needs its private key"),
        ({"GITHUB_APP_ID": None}, "needs GITHUB_APP_ID"),
        ({"GITHUB_APP_PRIVATE_KEY": None, "GITHUB_APP_PRIVATE_KEY_FILE": "/nonexistent/app.pem"}, "cannot read"),
    ],
)
def test_app_configuration_mistakes_are_one_line_and_exit_2(
    server: SandboxServer, keys: tuple[str, bytes], tmp_path: Path, env: dict[str, str | None], needle: str
) -> None:
    settings: dict[str, str | None] = {
        "GITHUB_API_URL": server.url,
        "GITHUB_APP_ID": str(APP_ID),
        "GITHUB_APP_PRIVATE_KEY": keys[0],
    }
    settings |= {k: _key_pair()[0] if v == "other app's key" else v for k, v in env.items()}
    result = CliRunner().invoke(cmo, ["run", GOAL, "--json", "--out", str(tmp_path / "out")], env=settings)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error:"), result.stderr
    assert needle in result.stderr


def test_an_app_with_no_installation_is_one_line_and_exit_2(world: World, keys: tuple[str, bytes], tmp_path: Path) -> None:
    with SandboxServer(world, app=SandboxApp(APP_ID, keys[1], installations=[])) as server:
        env = {"GITHUB_API_URL": server.url, "GITHUB_APP_ID": str(APP_ID), "GITHUB_APP_PRIVATE_KEY": keys[0]}
        result = CliRunner().invoke(cmo, ["run", GOAL, "--json"], env=env)
    assert result.exit_code == 2 and "has no installations: install it on an account" in result.stderr, result.output


def test_cmo_run_as_a_github_app_from_a_key_file(
    server: SandboxServer, github_app: SandboxApp, keys: tuple[str, bytes], tmp_path: Path
) -> None:
    """The whole pipeline as an App installation; a PEM pasted as one line (`\\n`) reads the same as the file."""
    key_file = tmp_path / "app.private-key.pem"
    key_file.write_text(keys[0])
    env = {"GITHUB_API_URL": server.url, "GITHUB_APP_ID": str(APP_ID), "GITHUB_APP_PRIVATE_KEY_FILE": str(key_file)}
    result = CliRunner().invoke(cmo, ["run", GOAL, "--json", "--max-prospects", "3", "--out", str(tmp_path / "out")], env=env)
    assert result.exit_code in (0, 3), result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["sandbox"] is False and summary["api_requests"] > 0
    assert len(github_app.minted) == 1 and github_app.used[github_app.minted[0]] >= summary["api_requests"]

    one_line = {
        "GITHUB_API_URL": server.url,
        "GITHUB_APP_ID": str(APP_ID),
        "GITHUB_APP_PRIVATE_KEY": keys[0].replace("\n", "\\n"),
    }
    again = CliRunner().invoke(
        cmo, ["run", GOAL, "--json", "--max-prospects", "3", "--out", str(tmp_path / "again")], env=one_line
    )
    assert again.exit_code in (0, 3), again.output
    assert len(github_app.minted) == 2
