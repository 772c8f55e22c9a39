"""Hostile input (issue 5 §6): webhook URLs aimed inside the network (SSRF), malformed and
oversized bodies, NUL characters, and secrets that must not come back in error bodies or logs.

What test_api_errors.py, test_api_masking.py and test_api_webhooks.py already prove (413/415/400 on
jobs, the URL guard's unit cases, tokens in paths and field names) is not repeated here. DNS is
played by a fake `socket.getaddrinfo` for the test's own `.test` names only (RFC 2606: never real).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.core.config import ApiConfig
from foundation.settings import Settings
from sandbox import open_sandbox
from tests.support.security import GOAL, bearer, issue, world_settings

INTERNAL_URLS = [
    "http://127.0.0.1/",
    "http://127.8.9.10:8080/x",
    "http://[::1]/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://admin.localhost/",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.1.1/",
    "http://[fe80::1]/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of the metadata address (issue 14: accepted and delivered to)
    "http://[64:ff9b:1::a00:1]/",  # local-use NAT64 of 10.0.0.1
    "http://[2002:a9fe:a9fe::]/",  # 6to4 of 169.254.169.254
    "http://[::127.0.0.1]/",  # IPv4-compatible loopback
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo whose client is 127.0.0.1
    "http://2130706433/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://0/",
    "http://100.64.0.1/",
    "http://private.example.test/",  # a name resolving to a private address
]
PUBLIC = "93.184.215.14"  # what the fake DNS answers for a public name (never connected to)
GITHUB_TOKEN = "ghp_" + "Zq9" * 12
API_KEY = "cmo_sk_" + "Secr3tKeyMaterial" * 2 + "xy"


class FakeDns:
    """Answers for `*.example.test`; `rebind.example.test` is public on its first lookup and loopback
    afterwards (the DNS rebinding attack). Everything else goes to the real resolver."""

    def __init__(self, real: Callable[..., Any]) -> None:
        self.real = real
        self.lookups: list[str] = []

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if not (isinstance(host, str) and host.endswith(".example.test")):
            return self.real(host, port, *args, **kwargs)
        self.lookups.append(host)
        first_rebind = host == "rebind.example.test" and self.lookups.count(host) == 1
        address = (
            PUBLIC if host == "public.example.test" or first_rebind else "127.0.0.1" if host.startswith("rebind") else "10.1.2.3"
        )
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 80))]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@contextmanager
def embedded(tmp_path: Path, **settings: Any) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An app on the embedded SQLite (the checks do not depend on the engine), no worker, and a key."""
    config = Settings(cmo_home=tmp_path / "home", **settings)
    with TestClient(
        create_app(config, ApiConfig(github_sandbox=open_sandbox, workers_inline=0)), raise_server_exceptions=False
    ) as client:
        yield client, bearer(issue(config, f"tenant-{uuid.uuid4().hex[:8]}").key)


@pytest.fixture
def client(tmp_path: Path, dns: FakeDns, block_internet: None) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with embedded(tmp_path) as (client, headers):
        yield client, headers


def test_internal_webhook_urls_are_refused_when_submitted(client: tuple[TestClient, dict[str, str]]) -> None:
    api, headers = client
    accepted = []
    for url in INTERNAL_URLS:
        job = api.post("/api/jobs", json={"goal": GOAL, "webhook_url": url}, headers=headers)
        default = api.put("/api/webhooks", json={"url": url}, headers=headers)
        for answer, field in ((job, "body.webhook_url"), (default, "body.url")):
            if answer.status_code != 422 or answer.json()["errors"][0]["loc"] != field:
                accepted.append(f"{url}: {answer.status_code} {answer.text[:120]}")
    assert not accepted, "\n".join(accepted)
    assert api.get("/api/jobs", headers=headers).json()["items"] == [], "no job was stored"
    assert api.get("/api/webhooks", headers=headers).json()["url"] is None


def test_private_targets_are_accepted_when_the_deployment_allows_them(tmp_path: Path, dns: FakeDns) -> None:
    with embedded(tmp_path, cmo_webhook_allow_private=True, cmo_webhook_max_attempts=1) as (api, headers):
        for url in ("http://127.0.0.1:9/hook", "http://private.example.test:9/hook", "http://localhost:9/"):
            assert api.post("/api/jobs", json={"goal": GOAL, "webhook_url": url}, headers=headers).status_code == 201, url


def test_a_name_rebound_to_loopback_after_submission_is_not_called(
    tmp_path: Path, private_postgres_url: str, dns: FakeDns, block_internet: None
) -> None:
    """Public when the job is submitted, 127.0.0.1 when the delivery resolves it again: refused,
    logged, not retried, and nothing listening on loopback is ever reached."""
    received: list[bytes] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    settings = world_settings(tmp_path / "home", private_postgres_url).model_copy(
        update={"cmo_webhook_allow_private": False, "cmo_webhook_max_attempts": 3, "cmo_webhook_backoff_seconds": 0.01}
    )
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=0))) as api:
        headers = bearer(issue(settings, "acme").key)
        url = f"http://rebind.example.test:{listener.getsockname()[1]}/hook"
        created = api.post("/api/jobs", json={"goal": GOAL, "webhook_url": url}, headers=headers)
        assert created.status_code == 201, created.text
        log: list[dict[str, Any]] = []
        for _ in range(100):
            log = api.get(f"/api/jobs/{created.json()['id']}/webhooks", headers=headers).json()["items"]
            if log:
                break
            try:
                received.append(listener.accept()[0].recv(1024))
            except TimeoutError:
                pass
    listener.close()
    assert dns.lookups == ["rebind.example.test", "rebind.example.test"], "checked at submission, again at delivery"
    assert len(log) == 1 and log[0]["delivered"] is False and log[0]["error"].startswith("refused: rebind.example.test")
    assert received == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"goal": "x", "metadata": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}", 400),  # deeper than any parser stack
        (b'{"goal": "x", "campaign": {"target_audience": {"keywords": ' + b"[" * 5000 + b"]" * 5000 + b"}}}", 400),
        (b'{"goal": "caf\xe9 \xff"}', 400),  # not UTF-8
        (b'{"goal": "x", "max_prospects": ' + b"9" * 5000 + b"}", 400),  # an integer past Python's parse limit
        (b'{"goal": "' + b"x" * 2001 + b'"}', 422),
        (b'{"goal": "x", "campaign": {"target_audience": {"languages": ["Python"], "unknown": 1}}}', 422),
    ],
    ids=["nested-objects", "nested-arrays", "invalid-utf8", "huge-integer", "goal-too-long", "campaign-extra-field"],
)
def test_hostile_job_bodies_are_4xx_problems(client: tuple[TestClient, dict[str, str]], body: bytes, status: int) -> None:
    api, headers = client
    answer = api.post("/api/jobs", content=body, headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == status and answer.headers["content-type"] == "application/problem+json", answer.text


def test_campaign_uploads_are_size_limited_and_typed(client: tuple[TestClient, dict[str, str]]) -> None:
    api, headers = client
    huge = {"goal": GOAL, "campaign": {"id": "cmp_big", "target_audience": {"keywords": ["k" * 100] * 5000}}}
    assert api.post("/api/jobs", json=huge, headers=headers).status_code == 413
    yaml = "id: cmp_1\ntarget_audience:\n  languages: [Python]\n"
    typed = api.post("/api/jobs", content=yaml, headers={**headers, "Content-Type": "application/yaml"})
    assert typed.status_code == 415 and typed.headers["content-type"] == "application/problem+json"
    chat = api.post("/api/chat", json={"message": "x" * 2001}, headers=headers)
    assert chat.status_code == 422 and chat.json()["errors"][0]["loc"] == "body.message"


@pytest.mark.parametrize("storage", ["sqlite", "postgres"])
def test_nul_characters_get_the_same_answer_on_every_storage(
    tmp_path: Path, storage: str, request: pytest.FixtureRequest
) -> None:
    """Postgres stores no U+0000 in text or jsonb: a 422 (body, query) or 404 (path), never a 500; and
    SQLite, which could store it, answers the same (issue 14: it answered 201)."""
    url = None if storage == "sqlite" else request.getfixturevalue("migrated_postgres_url")
    settings = world_settings(tmp_path / "home", url)
    with TestClient(
        create_app(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=0)), raise_server_exceptions=False
    ) as api:
        headers = bearer(issue(settings, f"tenant-{uuid.uuid4().hex[:8]}", "admin").key)
        answers = {
            "goal": api.post("/api/jobs", json={"goal": "a\u0000b"}, headers=headers),
            "metadata": api.post("/api/jobs", json={"goal": GOAL, "metadata": {"k\u0000": "v\u0000"}}, headers=headers),
            "chat": api.post("/api/chat", json={"message": "Find\u0000 Rust devs"}, headers=headers),
            "event": api.post(
                "/api/events", json={"job_id": "cmo_\u0000", "prospect_id": "gh_a", "type": "opened"}, headers=headers
            ),
            "query": api.get("/api/audit", params={"action": "job.\u0000"}, headers=headers),
        }
        paths = [api.get(path, headers=headers) for path in ("/api/jobs/cmo_%00", "/api/artifacts/art_%00", "/api/chat/thr_%00")]
    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(answers, 422)
    assert [answer.status_code for answer in paths] == [404, 404, 404]
    assert all(a.headers["content-type"] == "application/problem+json" for a in [*answers.values(), *paths])


def test_secrets_appear_in_neither_error_bodies_nor_logs(
    client: tuple[TestClient, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    api, headers = client
    capsys.readouterr()
    answers = [
        api.get("/api/jobs", headers={"Authorization": f"Bearer {API_KEY}"}),
        api.get("/api/jobs", headers={"Authorization": API_KEY}),
        api.post("/api/jobs", json={"goal": GOAL, "max_prospects": GITHUB_TOKEN}, headers=headers),
        api.post("/api/jobs", json={"goal": GOAL, "webhook_url": f"http://x:{GITHUB_TOKEN}@10.0.0.1/"}, headers=headers),
        api.post("/api/chat", json={"message": GITHUB_TOKEN * 60}, headers=headers),
        api.get("/api/jobs", params={"status": GITHUB_TOKEN}, headers=headers),
    ]
    logs = capsys.readouterr().err
    assert [answer.status_code for answer in answers] == [401, 401, 422, 422, 422, 422]
    assert logs.count('"event": "request"') >= len(answers), "the access log was captured"
    for secret in (API_KEY, GITHUB_TOKEN, "Secr3tKeyMaterial"):
        for answer in answers:
            assert secret not in answer.text, answer.text
        assert secret not in logs
