"""Browser sessions (`/api/session`, api/core/auth.py) on both databases: a sign-in sets an httpOnly,
SameSite=Strict cookie that authenticates `/api` requests in place of a bearer header; unsafe
requests made with it need the session's CSRF token, bearer ones never do; a session ends with its
key, its lifetime or a sign-out, and the answer says which. Also the browser security headers of
every response (api/core/middleware.py)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from api.core.database import Database, run_with_database
from api.core.orm_web import WebSession
from api.services.tenants import IssuedKey, KeyRole, issue_api_key, revoke_api_key
from foundation.settings import Settings
from storage.tables import utcnow

GOAL = {"goal": "Find Rust developers in Berlin", "max_prospects": 1}
NOT_SIGNED_IN = "not signed in"
EXPIRED = "your session expired: sign in again"
REVOKED = "the API key of this session was revoked: sign in with another key"
CSRF_REFUSED = "missing or wrong CSRF token; send the X-CSRF-Token the session gave you"
BROWSER_HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY"}


def issue(settings: Settings, role: KeyRole = "member") -> IssuedKey:
    return run_with_database(settings, lambda db: issue_api_key(db, f"tenant-{uuid.uuid4().hex[:12]}", role))


def sign_in(client: TestClient, key: str) -> tuple[str, dict[str, str]]:
    """The session's cookie token and the sign-in's body."""
    response = client.post("/api/session", json={"api_key": key})
    assert response.status_code == 201, response.text
    return client.cookies["cmo_session"], response.json()


def cookie_attributes(header: str) -> tuple[str, dict[str, str]]:
    """`name=value` and the attributes of one Set-Cookie header (a flag maps to '')."""
    first, *rest = (part.strip() for part in header.split(";"))
    return first, {name: value for name, _, value in (part.partition("=") for part in rest)}


def session_row(settings: Settings, token: str) -> WebSession | None:
    async def read(db: Database) -> WebSession | None:
        async with db.sessions() as session:
            return await session.get(WebSession, hashlib.sha256(token.encode()).hexdigest())

    return run_with_database(settings, read)


def refused(response: httpx.Response, status: int, detail: str) -> bool:
    """A problem+json answer with this status and detail."""
    content_type = response.headers["content-type"]
    return response.status_code == status and content_type == "application/problem+json" and response.json()["detail"] == detail


def test_sign_in_sets_an_httponly_strict_cookie_and_answers_who_is_signed_in(client: TestClient, settings: Settings) -> None:
    issued = issue(settings, "admin")
    before = utcnow()
    response = client.post("/api/session", json={"api_key": issued.key})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"tenant", "role", "csrf_token", "expires_at"}
    assert (body["tenant"], body["role"]) == (issued.tenant_name, "admin") and len(body["csrf_token"]) >= 32

    (header,) = response.headers.get_list("set-cookie")
    pair, attributes = cookie_attributes(header)
    name, token = pair.split("=", 1)
    assert name == "cmo_session" and len(token) >= 43 and token != body["csrf_token"]
    assert attributes == {"HttpOnly": "", "SameSite": "Strict", "Path": "/", "Max-Age": str(12 * 3600)}, "no Secure over http"

    row = session_row(settings, token)  # stored by the token's hash only
    assert row is not None and (row.key_id, row.tenant_id, row.csrf_token) == (
        issued.key_id,
        issued.tenant_id,
        body["csrf_token"],
    )
    assert before + timedelta(hours=12) <= row.expires_at <= utcnow() + timedelta(hours=12)
    assert row.expires_at.isoformat().replace("+00:00", "Z") == body["expires_at"]

    again = client.get("/api/session")  # a reloaded page reads its CSRF token back
    assert again.status_code == 200 and again.json() == body
    audit = client.get("/api/audit", params={"action": "session.create"})  # the cookie works for an admin route too
    assert audit.status_code == 200, audit.text
    (entry,) = audit.json()["items"]
    assert (entry["actor"], entry["outcome"]) == (f"key:{issued.key_id}", 201)


def test_an_unknown_or_revoked_key_cannot_sign_in(client: TestClient, settings: Settings) -> None:
    issued = issue(settings)
    assert run_with_database(settings, lambda db: revoke_api_key(db, issued.key_id))
    for key in (issued.key, "cmo_sk_" + "b" * 43):
        response = client.post("/api/session", json={"api_key": key})
        assert refused(response, 401, "unknown or revoked API key"), response.text
        assert "set-cookie" not in response.headers
    assert client.post("/api/session", json={"api_key": issued.key, "tenant": "x"}).status_code == 422


def test_the_cookie_authenticates_and_its_unsafe_requests_need_the_csrf_token(client: TestClient, settings: Settings) -> None:
    _, body = sign_in(client, issue(settings).key)
    csrf = {"X-CSRF-Token": body["csrf_token"]}
    assert client.get("/api/jobs").status_code == 200

    assert refused(client.post("/api/jobs", json=GOAL), 403, CSRF_REFUSED)
    assert refused(
        client.post("/api/jobs", json=GOAL, headers={"X-CSRF-Token": body["csrf_token"][:-1] + "x"}), 403, CSRF_REFUSED
    )
    created = client.post("/api/jobs", json=GOAL, headers=csrf)
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    assert [job["id"] for job in client.get("/api/jobs").json()["items"]] == [job_id]

    assert refused(client.delete(f"/api/jobs/{job_id}"), 403, CSRF_REFUSED)
    assert client.delete(f"/api/jobs/{job_id}", headers=csrf).json()["status"] == "cancelled"
    events = client.get(f"/api/jobs/{job_id}/events")  # the job is over: the stream ends after its history
    assert events.status_code == 200 and events.headers["content-type"].startswith("text/event-stream")
    assert "event: job.created" in events.text and "event: job.cancelled" in events.text


def test_a_bearer_request_needs_no_csrf_token_and_wins_over_a_cookie(client: TestClient, settings: Settings) -> None:
    sign_in(client, issue(settings).key)  # tenant A's cookie stays in the client
    other = issue(settings)
    bearer = {"Authorization": f"Bearer {other.key}"}
    created = client.post("/api/jobs", json=GOAL, headers=bearer)
    assert created.status_code == 201, created.text
    assert [job["id"] for job in client.get("/api/jobs", headers=bearer).json()["items"]] == [created.json()["id"]]
    assert client.get("/api/jobs").json()["items"] == [], "the cookie alone is tenant A"
    wrong = client.get("/api/jobs", headers={"Authorization": "Bearer cmo_sk_" + "b" * 43})
    assert refused(wrong, 401, "unknown or revoked API key"), "a bad bearer header does not fall back to the cookie"


def test_a_session_ends_with_its_key(client: TestClient, settings: Settings) -> None:
    issued = issue(settings)
    token, _ = sign_in(client, issued.key)
    assert run_with_database(settings, lambda db: revoke_api_key(db, issued.key_id))

    response = client.get("/api/session", headers={"Cookie": f"cmo_session={token}"})
    assert refused(response, 401, REVOKED), response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert cookie_attributes(response.headers["set-cookie"])[1]["Max-Age"] == "0", "the dead cookie is cleared"
    assert session_row(settings, token) is None, "and its row deleted"
    assert refused(client.get("/api/jobs", headers={"Cookie": f"cmo_session={token}"}), 401, NOT_SIGNED_IN)


@pytest.mark.parametrize("route", ["/api/session", "/api/jobs"])
def test_an_expired_session_is_refused_and_deleted(client: TestClient, settings: Settings, route: str) -> None:
    token, _ = sign_in(client, issue(settings).key)

    async def expire(db: Database) -> None:
        async with db.sessions() as session:
            digest = hashlib.sha256(token.encode()).hexdigest()
            await session.execute(
                update(WebSession).where(WebSession.id == digest).values(expires_at=utcnow() - timedelta(seconds=1))
            )
            await session.commit()

    run_with_database(settings, expire)
    response = client.get(route)
    assert refused(response, 401, EXPIRED), response.text
    assert session_row(settings, token) is None
    assert refused(client.get(route, headers={"Cookie": f"cmo_session={token}"}), 401, NOT_SIGNED_IN)


def test_sign_out_deletes_the_session_and_clears_the_cookie(client: TestClient, settings: Settings) -> None:
    issued = issue(settings, "admin")
    token, body = sign_in(client, issued.key)
    assert refused(client.delete("/api/session"), 403, CSRF_REFUSED)

    response = client.delete("/api/session", headers={"X-CSRF-Token": body["csrf_token"]})
    assert response.status_code == 204, response.text
    pair, attributes = cookie_attributes(response.headers["set-cookie"])
    assert pair == "cmo_session=" and attributes["Max-Age"] == "0" and "HttpOnly" in attributes
    assert "cmo_session" not in client.cookies and session_row(settings, token) is None
    assert refused(client.get("/api/session"), 401, NOT_SIGNED_IN)
    assert refused(client.get("/api/session", headers={"Cookie": f"cmo_session={token}"}), 401, NOT_SIGNED_IN)

    admin = {"Authorization": f"Bearer {issued.key}"}
    actions = [e["action"] for e in client.get("/api/audit", params={"limit": 10}, headers=admin).json()["items"]]
    assert actions == ["session.delete", "session.create"], "newest first; reading the session is not audited"


def test_the_cookie_is_secure_over_https(client: TestClient, settings: Settings) -> None:
    secure = TestClient(client.app, base_url="https://testserver")  # the fixture's app, already started
    token, body = sign_in(secure, issue(settings).key)
    assert any(cookie.secure for cookie in secure.cookies.jar)
    assert secure.get("/api/session").status_code == 200
    signed_out = secure.delete("/api/session", headers={"X-CSRF-Token": body["csrf_token"]})
    assert "Secure" in cookie_attributes(signed_out.headers["set-cookie"])[1]
    assert session_row(settings, token) is None


def test_browser_security_headers(client: TestClient, settings: Settings) -> None:
    token, _ = sign_in(client, issue(settings).key)
    for response in (client.get("/api/jobs"), client.get("/api/session", headers={"Cookie": "cmo_session=nope"})):
        assert BROWSER_HEADERS.items() <= response.headers.items()
        assert response.headers["cache-control"] == "no-store"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "SwaggerUIBundle" in docs.text
    assert BROWSER_HEADERS.items() <= docs.headers.items()
    assert "content-security-policy" not in docs.headers and "no-store" not in docs.headers.get("cache-control", "")
    assert session_row(settings, token) is not None, "an unknown cookie touches no other session"
