"""Property: the same hostile input gets the same status from the service on SQLite and on Postgres
(issue 14). Random unicode with control characters (NUL included), lone surrogates, huge integers
and odd datetimes go to the public routes that take input; both databases must agree on every
answer, whether it is 2xx or 4xx (a 500 on either fails too).

Bounded: 30 examples a route family, no deadline (a Postgres round trip varies on a shared machine).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from api.app import create_app
from api.core.config import ApiConfig
from foundation.settings import Settings
from sandbox import open_sandbox
from tests.support.tenants import auth

BOUNDED = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Text a URL can carry (every code point but lone surrogates, control characters included) ...
URL_TEXT = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(["", "\x00", "a\x00b", "\u202e", "%00", ".."])
# ... and what JSON can (a lone surrogate travels as `\ud800`).
TEXT = URL_TEXT | st.text(st.characters(), max_size=40) | st.just("\ud800")
HUGE = st.integers(min_value=-(2**70), max_value=2**70) | st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1])
ODD_TIMES = st.sampled_from(
    [
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59+14:00",
        "1900-01-01T00:00:00Z",
        "2999-01-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2024-01-01T00:00:00-25:00",
        "2024-01-01T24:00:00Z",
        "2024-01-01",
        "now",
    ]
) | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
VALUE = TEXT | HUGE | ODD_TIMES | st.none() | st.booleans()


@pytest.fixture
def clients(tmp_path: Path, migrated_postgres_url: str) -> Iterator[list[tuple[TestClient, dict[str, str]]]]:
    """One API on SQLite and one on Postgres, each with a tenant of its own."""
    both = [
        Settings(cmo_home=tmp_path / "sqlite"),
        Settings(cmo_home=tmp_path / "postgres", database_url=migrated_postgres_url),
    ]
    config = ApiConfig(github_sandbox=open_sandbox, workers_inline=0)
    with TestClient(create_app(both[0], config)) as lite, TestClient(create_app(both[1], config)) as pg:
        yield [(lite, auth(both[0])), (pg, auth(both[1]))]


def _statuses(
    clients: list[tuple[TestClient, dict[str, str]]], method: str, path: str, body: Any = None, **kwargs: Any
) -> list[int]:
    """The status each API answers; a body is sent as ASCII JSON (escapes keep lone surrogates)."""
    if body is not None:
        kwargs["content"] = json.dumps(body).encode()
    answers = []
    for client, headers in clients:
        json_headers = headers | {"Content-Type": "application/json"} if body is not None else headers
        answers.append(client.request(method, path, headers=json_headers, **kwargs).status_code)
    return answers


@BOUNDED
@given(goal=TEXT, max_prospects=HUGE, metadata=st.dictionaries(TEXT, VALUE, max_size=3))
def test_job_creation(
    clients: list[tuple[TestClient, dict[str, str]]], goal: str, max_prospects: int, metadata: dict[str, Any]
) -> None:
    body = {"goal": goal, "max_prospects": max_prospects, "metadata": metadata}
    lite, pg = _statuses(clients, "POST", "/api/jobs", body)
    assert lite == pg and lite < 500, (body, lite, pg)


@BOUNDED
@given(job_id=TEXT, prospect_id=TEXT, kind=TEXT | st.just("opened"), occurred_at=VALUE)
def test_engagement_events(
    clients: list[tuple[TestClient, dict[str, str]]], job_id: str, prospect_id: str, kind: str, occurred_at: Any
) -> None:
    body = {"job_id": job_id, "prospect_id": prospect_id, "type": kind, "occurred_at": occurred_at}
    lite, pg = _statuses(clients, "POST", "/api/events", body)
    assert lite == pg and lite < 500, (body, lite, pg)


@BOUNDED
@given(kind=st.sampled_from(["email", "login", "domain", "github_id"]) | TEXT, value=TEXT, reason=TEXT | st.just("manual"))
def test_suppressions(clients: list[tuple[TestClient, dict[str, str]]], kind: str, value: str, reason: str) -> None:
    body = {"kind": kind, "value": value, "reason": reason}
    lite, pg = _statuses(clients, "POST", "/api/suppressions", body)
    assert lite == pg and lite < 500, (body, lite, pg)


@BOUNDED
@given(job_id=URL_TEXT, limit=HUGE, cursor=URL_TEXT, status=URL_TEXT)
def test_reads(clients: list[tuple[TestClient, dict[str, str]]], job_id: str, limit: int, cursor: str, status: str) -> None:
    segment = quote(job_id, safe="")  # percent-encoded: control characters reach the route, not the client
    for path, params in (
        ("/api/jobs", {"limit": limit, "cursor": cursor, "status": status}),
        (f"/api/jobs/{segment}", {}),
        (f"/api/jobs/{segment}/leads", {"limit": limit}),
        ("/api/suppressions", {"limit": limit, "cursor": cursor}),
    ):
        lite, pg = _statuses(clients, "GET", path, params=params)
        assert lite == pg and lite < 500, (path, params, lite, pg)
