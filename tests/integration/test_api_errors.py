"""Bad input never reaches a 500: each answer is the right 4xx as RFC 9457 problem+json.

The error path does not depend on the database engine, so these run on the embedded SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette import testclient
from starlette.testclient import TestClient

from api.app import create_app
from api.core.config import ApiConfig
from api.core.database import run_with_database
from api.services.tenants import issue_api_key, revoke_api_key
from foundation.settings import Settings
from sandbox import open_sandbox

LIMIT = 4096


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(cmo_home=tmp_path / "home")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, ApiConfig(github_sandbox=open_sandbox, max_body_bytes=LIMIT))

    @app.get("/api/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: postgresql://admin:hunter2@db")

    with TestClient(app, raise_server_exceptions=False) as client:
        issued = run_with_database(settings, lambda db: issue_api_key(db, "acme"))
        client.headers["Authorization"] = f"Bearer {issued.key}"
        client.key_id = issued.key_id  # type: ignore[attr-defined]
        yield client


def assert_problem(response: testclient.httpx.Response, status: int, *in_detail: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= body.keys() and body["status"] == status
    assert body["detail"] and all(text in body["detail"] for text in in_detail), body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("request_args", "status", "in_detail"),
    [
        ({"content": b'{"goal": "Find Rust devs",', "headers": JSON}, 400, ["not valid JSON"]),
        ({"content": b"goal=Find Rust devs", "headers": {"content-type": "text/plain"}}, 415, ["application/json", "text/plain"]),
        ({"content": b'{"goal": "x"}', "headers": {"content-type": ""}}, 415, ["untyped"]),
        ({"json": {"goal": "x" * 2001}}, 422, ["body.goal", "2000"]),
        ({"json": {"goal": "   "}}, 422, ["body.goal"]),
        ({"json": {}}, 422, ["body.goal", "Field required"]),
        ({"json": {"goal": "ok", "max_prospects": 0}}, 422, ["body.max_prospects"]),
        ({"json": {"goal": "ok", "webhook_url": "not a url"}}, 422, ["body.webhook_url"]),
        (
            {"json": {"goal": "ok", "campaign": {"target_audience": {"stars_range": "lots"}}}},
            422,
            ["body.campaign.target_audience.stars_range"],
        ),
        ({"json": {"goal": "ok", "surprise": 1}}, 422, ["body.surprise"]),
        ({"json": ["a", "list"]}, 422, ["body"]),
        ({"content": b'{"goal": "' + b"x" * LIMIT + b'"}', "headers": JSON}, 413, [str(LIMIT)]),
    ],
    ids=[
        "malformed-json",
        "text-plain",
        "no-content-type",
        "goal-too-long",
        "blank-goal",
        "missing-goal",
        "max-prospects",
        "webhook-url",
        "campaign-field",
        "unknown-field",
        "not-an-object",
        "body-too-large",
    ],
)
def test_bad_job_submissions(client: TestClient, request_args: dict[str, Any], status: int, in_detail: list[str]) -> None:
    body = assert_problem(client.post("/api/jobs", **request_args), status, *in_detail)
    if status == 422:
        assert body["errors"] and all("loc" in e and "msg" in e for e in body["errors"])


def test_streamed_body_over_the_limit_is_413(client: TestClient) -> None:
    """No Content-Length to check up front: the limit is enforced while the body streams in."""

    def chunks() -> Iterator[bytes]:
        yield b'{"goal": "'
        for _ in range(8):
            yield b"x" * 1024
        yield b'"}'

    assert_problem(client.post("/api/jobs", content=chunks(), headers=JSON), 413, str(LIMIT))


@pytest.mark.parametrize(
    ("method", "path", "params", "status", "in_detail"),
    [
        ("GET", "/api/jobs/cmo_unknown", None, 404, ["cmo_unknown"]),
        ("GET", "/api/jobs/cmo_unknown/summary", None, 404, ["cmo_unknown"]),
        ("GET", "/api/jobs/cmo_unknown/artifacts", None, 404, ["cmo_unknown"]),
        ("DELETE", "/api/jobs/cmo_unknown", None, 404, ["cmo_unknown"]),
        ("GET", "/api/artifacts/art_unknown", None, 404, ["art_unknown"]),
        ("DELETE", "/api/artifacts/art_unknown", None, 404, ["art_unknown"]),
        ("GET", "/api/nothing-here", None, 404, ["/api/nothing-here"]),
        ("PUT", "/api/jobs", None, 405, ["PUT", "POST"]),
        ("GET", "/api/jobs", {"limit": 0}, 422, ["query.limit"]),
        ("GET", "/api/jobs", {"status": "sleeping"}, 422, ["query.status"]),
        ("GET", "/api/jobs", {"cursor": "garbage!"}, 422, ["query.cursor"]),
    ],
)
def test_unknown_ids_routes_and_queries(
    client: TestClient, method: str, path: str, params: dict[str, Any] | None, status: int, in_detail: list[str]
) -> None:
    assert_problem(client.request(method, path, params=params), status, *in_detail)


def test_engagement_for_unknown_job_is_404(client: TestClient) -> None:
    event = {"job_id": "cmo_unknown", "prospect_id": "gh_ada", "type": "opened"}
    assert_problem(client.post("/api/events", json=event), 404, "cmo_unknown")
    assert_problem(client.post("/api/events", json=event | {"type": "liked"}), 422, "body.type")


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer cmo_sk_not-a-real-key", "Basic YWRtaW46YWRtaW4=", "Bearer "],
    ids=["missing", "wrong", "basic", "empty"],
)
def test_missing_or_wrong_key_is_401_everywhere(client: TestClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    client.headers.pop("Authorization")
    routes = (("GET", "/api/jobs"), ("POST", "/api/jobs"), ("GET", "/api/analytics/campaigns"), ("GET", "/api/artifacts/x"))
    for method, path in routes:
        response = client.request(method, path, headers=headers, json={"goal": "x"} if method == "POST" else None)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "[secret]" not in response.json()["detail"]  # issue 14: the help text was masked


def test_revoked_key_is_401(client: TestClient, settings: Settings) -> None:
    assert client.get("/api/jobs").status_code == 200
    assert run_with_database(settings, lambda db: revoke_api_key(db, client.key_id))  # type: ignore[attr-defined]
    assert_problem(client.get("/api/jobs"), 401, "revoked")


def test_open_routes_need_no_key(client: TestClient) -> None:
    client.headers.pop("Authorization")
    for path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"):
        assert client.get(path).status_code == 200, path
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/api/jobs",
        "/api/jobs/{job_id}",
        "/api/jobs/{job_id}/summary",
        "/api/jobs/{job_id}/artifacts",
        "/api/artifacts/{artifact_id}",
        "/api/events",
        "/api/analytics/campaigns",
        "/api/analytics/prospects",
        "/api/analytics/conversions",
    } <= paths.keys()


def test_a_bug_is_a_bare_500_problem(client: TestClient) -> None:
    answer = client.get("/api/boom", headers={"X-Request-ID": "trace-123"})
    body = assert_problem(answer, 500)
    assert body["request_id"] == "trace-123"
    security = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY"}
    assert {name: answer.headers.get(name) for name in security} == security, "the catch-all 500 is built outside the middleware"
    assert "hunter2" not in str(body) and "RuntimeError" not in str(body)


def test_a_goal_the_planner_refuses_is_refused_at_once(client: TestClient) -> None:
    """Issue 14: it got 201 and then `job.failed`, while the chat refused it at once and `cmo run` exited 2."""
    before = client.get("/api/jobs").json()["items"]
    body = assert_problem(client.post("/api/jobs", json={"goal": "write me a poem about cats"}), 422, "not about developers")
    assert body["type"].endswith("goal-refused")
    assert client.get("/api/jobs").json()["items"] == before  # no job was created
