"""Lookalikes through the service, on real Postgres and Redis with no worker: `POST /api/jobs` with
`lookalike_of` (validated logins, at most 20; the job's goal names them, so the worker's run reads
them back), and "more like #3" in the chat, which starts a job seeded with that stored lead."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from agents.goal_parser import parse_goal
from api.app import create_app
from api.core.config import ApiConfig
from foundation.settings import Settings
from sandbox import open_sandbox
from tests.integration.test_api_chat import GOAL, say, store_prospects
from tests.support.tenants import auth


@pytest.fixture
def settings(migrated_postgres_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return Settings(cmo_home=tmp_path / "home", database_url=migrated_postgres_url, redis_url=redis_url)


@pytest.fixture
def client(settings: Settings, redis_url: str) -> Iterator[TestClient]:
    stream = f"cmo:test:jobs:{uuid.uuid4().hex}"
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream))) as client:
        yield client
    redis.Redis.from_url(redis_url).delete(stream)


def test_a_job_with_lookalike_of_names_its_seeds_in_the_goal(client: TestClient, settings: Settings) -> None:
    headers = auth(settings)
    created = client.post(
        "/api/jobs", json={"goal": "Find Rust developers", "lookalike_of": ["alice", "@bob-x"]}, headers=headers
    )
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["goal"] == "Find Rust developers like @alice, @bob-x"
    parsed = parse_goal(job["goal"])  # what the worker's planner reads
    assert parsed.lookalike_of == ["alice", "bob-x"] and parsed.audience.languages == ["Rust"]

    same = client.post("/api/jobs", json={"goal": "Developers like @alice", "lookalike_of": ["ALICE"]}, headers=headers)
    assert same.json()["goal"] == "Developers like @alice", "seeds already named are not repeated"


@pytest.mark.parametrize(
    "seeds",
    [["not a login"], ["-dash"], ["a--b"], ["x" * 40], [f"user{i}" for i in range(21)], [], ["../etc"]],
    ids=["space", "leading-hyphen", "double-hyphen", "too-long", "21-seeds", "empty", "path"],
)
def test_bad_seeds_are_refused_with_422(client: TestClient, settings: Settings, seeds: list[str]) -> None:
    response = client.post("/api/jobs", json={"goal": "Find developers", "lookalike_of": seeds}, headers=auth(settings))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_more_like_a_ranked_lead_starts_a_lookalike_job(client: TestClient, settings: Settings) -> None:
    headers = auth(settings)
    first = say(client, headers, GOAL)
    thread, job_id = first["thread_id"], first["job"]["id"]
    early = say(client, headers, "more like #2", thread)
    assert early["intent"] == "lookalike" and early["job_created"] is False and "no prospects stored yet" in early["reply"]

    store_prospects(settings, job_id)  # octocat, ada, bob by score
    more = say(client, headers, "more like #2", thread)
    assert more["intent"] == "lookalike" and more["job_created"] is True
    assert more["job"]["goal"] == f"{GOAL} like @ada" and more["details"] == {"seed": "ada"}
    assert more["job"]["metadata"] == {"chat_thread_id": thread, "refines": job_id}
    assert "@ada is not among its leads" in more["reply"]
    assert parse_goal(more["job"]["goal"]).lookalike_of == ["ada"]

    by_login = say(client, headers, "find more developers like @octocat", thread)
    assert by_login["intent"] == "lookalike" and by_login["details"] == {"seed": "octocat"}
    assert parse_goal(by_login["job"]["goal"]).lookalike_of == ["octocat"], "the new seed replaces @ada, not joins it"
    missing = say(client, headers, "more like #9", thread)
    assert missing["job_created"] is False and "#9 is not among the prospects" in missing["reply"]
