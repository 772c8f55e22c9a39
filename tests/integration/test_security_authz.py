"""The authorization matrix: every route of the app × every kind of caller (issue 5 §6).

Routes are enumerated from the app's OpenAPI document (FastAPI 0.165 resolves included routers
lazily, so `app.routes` no longer lists them), so a route added later is in the matrix without anyone
remembering to list it: a new path parameter or request body fails
`test_every_route_is_in_the_matrix` until this file knows how to fill it, and a route without a
security requirement fails it unless it is on the open list.

- No key, a malformed header, an unknown key, a revoked key: 401 problem+json, on every `/api` route.
- Tenant B on tenant A's ids (in the path, or in the body: `POST /api/events`, `POST /api/chat`):
  a 404 exactly like the answer for an id that exists nowhere, status and body (so probing ids
  teaches nothing). Tenant B on collection routes: its own data only, never one of A's ids.
- A member key on an admin route: 403. Afterwards tenant A still has everything.
- The public `/unsubscribe/{token}` routes need no key (the signed token is the credential), nor
  does the browser sign-in `POST /api/session` (the key is its body; test_api_web_session.py), nor
  SNS's `POST /api/inbound/ses/{token}` (test_ses_feedback.py).

Postgres only: the scoping is in the queries, which the other tests run on both engines; the
world is built once per test (~10 s with the sandbox job), so the matrix runs as one test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from api.app import create_app
from api.core.config import ApiConfig
from foundation.settings import Settings
from privacy.optout import Recipient, sign_token, unsubscribe_key
from sandbox import open_sandbox
from tests.support.security import World, destination_body, issue, tenant_world, world_settings

OPEN_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json", "/healthz", "/readyz", "/metrics"})
PUBLIC_PREFIX = "/unsubscribe/"
# The session sign-in (the key is its body) and SNS's posts (the signed token and SNS's signature are the credentials).
OPEN_OPERATIONS = frozenset({("POST", "/api/session"), ("POST", "/api/inbound/ses/{token}")})
SESSION_COOKIE_ONLY = [{"SessionCookie": []}]  # the session routes: a bearer caller is always a 401 there
CSV = "text/csv"
# The request body each route gets, by (method, path); `ids` are tenant A's. A body naming one of
# A's ids makes the route tenant-scoped like a path parameter does.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/jobs"): lambda ids: {"goal": "Find Rust developers in Berlin", "max_prospects": 1},
    ("POST", "/api/events"): lambda ids: {"job_id": ids["job_id"], "prospect_id": ids["prospect_id"], "type": "opened"},
    ("POST", "/api/chat"): lambda ids: {"message": "how many are contactable?", "thread_id": ids["thread_id"]},
    ("POST", "/api/suppressions"): lambda ids: {"kind": "login", "value": "someone-else"},
    ("POST", "/api/suppressions/import"): lambda ids: "kind,value\nlogin,someone-else\n",
    ("PUT", "/api/webhooks"): lambda ids: {"url": None},
    ("PUT", "/api/privacy/settings"): lambda ids: {},
    ("PUT", "/api/sender"): lambda ids: {},
    ("PUT", "/api/jobs/{job_id}/leads/{prospect_id}/draft"): lambda ids: {"subject": "Hello", "body": "Hi there"},
    ("POST", "/api/jobs/{job_id}/leads/{prospect_id}/review"): lambda ids: {"decision": "approved"},
    ("POST", "/api/jobs/{job_id}/leads/approve"): lambda ids: {"prospect_ids": None},
    ("POST", "/api/jobs/{job_id}/send"): lambda ids: {"dry_run": True},
    ("POST", "/api/inbound/ses/endpoint"): lambda ids: {"topic_arn": "arn:aws:sns:eu-west-1:111122223333:ses-feedback"},
    ("POST", "/api/destinations"): lambda ids: destination_body(f"d-{uuid.uuid4().hex[:8]}"),
    ("PUT", "/api/destinations/{destination_id}"): lambda ids: destination_body("crm"),
    ("POST", "/api/jobs/{job_id}/sync"): lambda ids: {"destination_id": ids["destination_id"]},
}
BAD_CREDENTIALS = {
    "no key": {},
    "malformed header": {"Authorization": "cmo_sk_" + "a" * 43},  # the key without its scheme
    "unknown key": {"Authorization": "Bearer cmo_sk_" + "b" * 43},
}


Operation = tuple[str, str, dict[str, Any]]  # method, path template, its OpenAPI operation


def operations(app: FastAPI) -> list[Operation]:
    """Every protected operation, from the app's OpenAPI document (FastAPI's public view of its routes:
    an operation needs a key exactly when it carries a security requirement)."""
    found = []
    for path, methods in app.openapi()["paths"].items():
        for method, operation in methods.items():
            if path in OPEN_PATHS or path.startswith(PUBLIC_PREFIX) or (method.upper(), path) in OPEN_OPERATIONS:
                assert not operation.get("security"), f"{method} {path} is listed as open but asks for a key"
                continue
            assert operation.get("security"), f"{method.upper()} {path} needs no key: list it as open, or protect it"
            found.append((method.upper(), path, operation))
    return found


def needs_admin(operation: dict[str, Any]) -> bool:
    """Admin-only routes document their 403 (`AdminPrincipal`); no other route answers one, but the
    cookie-only session routes, whose 403 is the CSRF check."""
    return "403" in operation["responses"] and operation["security"] != SESSION_COOKIE_ONLY


def path_params(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}


def unknown_like(value: str) -> str:
    """An id of the same shape as `value` that exists in no tenant."""
    prefix = value.split("_", 1)[0] + "_"
    return prefix + "0" * max(len(value) - len(prefix), 6)


def request_args(method: str, path: str, ids: dict[str, str]) -> dict[str, Any]:
    """Path filled with `ids`, and the route's body (CSV or JSON)."""
    args: dict[str, Any] = {"method": method, "url": path.format(**ids)}
    if (method, path) in BODIES:
        body = BODIES[method, path](ids)
        if isinstance(body, str):
            args |= {"content": body, "headers": {"Content-Type": CSV}}
        else:
            args["json"] = body
    return args


def call(client: TestClient, args: dict[str, Any], headers: dict[str, str]) -> Any:
    return client.request(**{**args, "headers": {**args.get("headers", {}), **headers}})


def refers_to_tenant_a(method: str, path: str, ids: dict[str, str]) -> bool:
    body = json.dumps(request_args(method, path, ids).get("json"))
    return "{" in path or any(value in body for value in ids.values())


def normalised(response: Any, ids: dict[str, str]) -> tuple[int, str, str]:
    """What a caller can compare between two answers: status, content type and body, with the ids
    it sent replaced by a placeholder and the request id left out."""
    text = response.text
    if response.headers.get("content-type", "").endswith("json") and text:
        body = response.json()
        if isinstance(body, dict):
            body.pop("request_id", None)
        text = json.dumps(body, sort_keys=True)
    for value in ids.values():
        text = text.replace(value, "<id>")
    return response.status_code, response.headers.get("content-type", ""), text


@pytest.fixture
def world(tmp_path: Path, private_postgres_url: str) -> Iterator[World]:
    with tenant_world(world_settings(tmp_path / "home", private_postgres_url)) as world:
        yield world


def test_every_route_is_in_the_matrix(tmp_path: Path) -> None:
    known_params = {"job_id", "artifact_id", "thread_id", "prospect_id", "suppression_id", "run_id", "destination_id"}
    listed = operations(create_app(Settings(cmo_home=tmp_path / "home")))
    assert len(listed) >= 20 and any(needs_admin(operation) for _, _, operation in listed), "the routes are enumerated"
    for method, path, operation in listed:
        assert path_params(operation) <= known_params, f"{method} {path}: fill its id in tenant_world"
        assert ("requestBody" in operation) == ((method, path) in BODIES), f"{method} {path}: give it a body in BODIES"


def test_the_authorization_matrix(world: World) -> None:
    client, ids = world.client, world.ids
    unknown = {name: unknown_like(value) for name, value in ids.items()}
    matrix = operations(client.app)  # type: ignore[arg-type]
    # Tenant-scoped routes first: B's own collection writes come last (its job, its suppression).
    matrix.sort(key=lambda entry: not refers_to_tenant_a(entry[0], entry[1], ids))
    failures: list[str] = []

    def expect(condition: bool, method: str, path: str, caller: str, response: Any) -> None:
        if not condition:
            failures.append(f"{method} {path} as {caller}: {response.status_code} {response.text[:200]}")

    credentials = {**BAD_CREDENTIALS, "revoked key": world.revoked_a}
    for method, path, operation in matrix:
        args = request_args(method, path, ids)
        for caller, headers in credentials.items():
            response = call(client, args, headers)
            expect(
                response.status_code == 401
                and response.headers["content-type"] == "application/problem+json"
                and response.headers.get("www-authenticate", "").startswith("Bearer"),
                method,
                path,
                caller,
                response,
            )

        answer = call(client, args, world.tenant_b)
        if refers_to_tenant_a(method, path, ids):
            absent = call(client, request_args(method, path, unknown), world.tenant_b)
            expect(answer.status_code == 404, method, path, "tenant B", answer)
            expect(normalised(answer, ids) == normalised(absent, unknown), method, path, "tenant B (vs an unknown id)", answer)
        else:
            expect(answer.status_code < 500 and not any(v in answer.text for v in world.unseen), method, path, "tenant B", answer)
            if method == "POST" and path == "/api/jobs" and answer.status_code == 201:
                client.delete(f"/api/jobs/{answer.json()['id']}", headers=world.tenant_b)  # no need to run it

        if needs_admin(operation):
            denied = call(client, args, world.member_a)
            expect(
                denied.status_code == 403 and denied.headers["content-type"] == "application/problem+json",
                method,
                path,
                "a member of tenant A",
                denied,
            )
            granted = call(client, args, world.admin_a)
            expect(granted.status_code < 300, method, path, "an admin of tenant A", granted)

    assert not failures, "\n".join(failures)
    # Nothing B did touched A: every read of A's resources still answers.
    for method, path, _ in matrix:
        if method == "GET" and "{" in path:
            response = call(client, request_args(method, path, ids), world.admin_a)
            assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:200]}"
    suppressed = client.get("/api/suppressions", headers=world.member_a).json()["items"]
    assert ids["suppression_id"] in {item["id"] for item in suppressed}


def test_unsubscribe_routes_need_no_key(tmp_path: Path) -> None:
    """Checked on the embedded SQLite: the routes read the token, never a key, whatever the engine."""
    settings = Settings(cmo_home=tmp_path / "home")
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, workers_inline=0))) as client:
        tenant_id = issue(settings, "acme").tenant_id
        token = sign_token(unsubscribe_key(settings), Recipient(tenant_id=tenant_id, prospect_id="gh_nobody"))
        for headers in ({}, BAD_CREDENTIALS["unknown key"]):
            page = client.get(f"/unsubscribe/{token}", headers=headers)
            assert page.status_code == 200 and "<form" in page.text, page.text
            done = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}, headers=headers)
            assert done.status_code == 200 and "You are unsubscribed" in done.text, done.text
        forged = client.get(f"/unsubscribe/{token[:-2]}xx")
        assert forged.status_code == 404 and forged.headers["content-type"] == "application/problem+json"
