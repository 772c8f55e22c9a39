"""`POST /api/chat` on real Postgres and Redis, with no LLM: a goal starts a job, refinements start
new jobs whose stored campaign carries the refined audience, questions are answered from the stored
prospects, and threads belong to one tenant. One test adds a scripted OpenAI-compatible server to
show that a model only rephrases what the rules did not understand.

No worker runs here: the test writes prospects through `save_prospects`, as the worker does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from agents.model_calls import ModelGate
from agents.planner import make_plan
from api.app import create_app
from api.core import orm
from api.core.config import ApiConfig
from api.core.database import Database, run_with_database
from api.services.chat_intents import Thread, apply, parse_intent
from api.services.prospects import save_prospects
from foundation.schemas import Campaign, ComplianceReview, Evidence, Prospect, Signal
from foundation.settings import Settings
from sandbox import open_sandbox
from tests.support.fake_llm import scripted, tool_call_message
from tests.support.openai_server import Reply, ScriptedOpenAIServer
from tests.support.tenants import auth

GOAL = "Find Python developers active in ML"


@pytest.fixture
def settings(migrated_postgres_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return Settings(cmo_home=tmp_path / "home", database_url=migrated_postgres_url, redis_url=redis_url)


@pytest.fixture
def client(settings: Settings, redis_url: str) -> Iterator[TestClient]:
    stream = f"cmo:test:jobs:{uuid.uuid4().hex}"
    with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream))) as client:
        yield client
    redis.Redis.from_url(redis_url).delete(stream)


def say(client: TestClient, headers: dict[str, str], message: str, thread_id: str | None = None) -> dict[str, Any]:
    body = {"message": message} | ({"thread_id": thread_id} if thread_id else {})
    response = client.post("/api/chat", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def stored_campaign(settings: Settings, job_id: str) -> dict[str, Any] | None:
    async def read(db: Database) -> dict[str, Any] | None:
        async with db.sessions() as session:
            return await session.scalar(select(orm.Job.campaign).where(orm.Job.id == job_id))

    return run_with_database(settings, read)


def store_prospects(settings: Settings, job_id: str) -> None:
    """Three ranked prospects with the evidence a worker stores."""
    when = datetime(2025, 1, 10, tzinfo=UTC)
    approved, review = ComplianceReview(verdict="approved"), ComplianceReview(verdict="needs_review")
    prospects = [
        Prospect(
            id="gh_octocat",
            username="octocat",
            score=0.91,
            score_explanation="owner of octocat/ml-kit (412 commits, 2300★); 57 commits/pushes in 90 days",
            signals=[
                Signal(
                    name="active_maintainer",
                    evidence=[
                        Evidence(
                            kind="commits", repo="octocat/ml-kit", count=412, date=when, url="https://github.com/octocat/ml-kit"
                        )
                    ],
                ),
                Signal(name="ml_contributor", evidence=[Evidence(kind="repo_owner", repo="octocat/ml-kit")]),
            ],
            compliance=approved,
        ),
        Prospect(id="gh_ada", username="ada", score=0.74, score_explanation="#2 contributor of ada/nets", compliance=approved),
        Prospect(id="gh_bob", username="bob", score=0.40, score_explanation="#9 contributor of x/y", compliance=review),
    ]

    async def write(db: Database) -> None:
        async with db.sessions() as session:
            job = await session.get_one(orm.Job, job_id)
            await save_prospects(session, job, prospects)
            await session.commit()

    run_with_database(settings, write)


def test_a_goal_starts_a_job_and_refinements_start_refined_jobs(client: TestClient, settings: Settings) -> None:
    headers = auth(settings)
    first = say(client, headers, GOAL)
    job = first["job"]
    assert first["intent"] == "goal" and first["job_created"] is True
    assert job["status"] == "queued" and job["goal"] == GOAL
    assert job["campaign"]["id"] == first["thread_id"], "a thread's jobs are one campaign, not cmp_default"
    assert first["stream_url"] == f"/api/jobs/{job['id']}/events"
    assert job["metadata"] == {"chat_thread_id": first["thread_id"]}
    assert job["id"] in first["reply"] and "Python developers" in first["reply"]
    assert client.get(f"/api/jobs/{job['id']}", headers=headers).status_code == 200
    thread = first["thread_id"]

    eu = say(client, headers, "only EU", thread)
    assert eu["intent"] == "refine" and eu["job_created"] and eu["job"]["id"] != job["id"]
    assert eu["changes"] == ["regions: anywhere → EU"] and "regions: anywhere → EU" in eu["reply"]
    assert eu["job"]["metadata"] == {"chat_thread_id": thread, "refines": job["id"]}
    assert stored_campaign(settings, eu["job"]["id"]) == {"id": thread, "target_audience": {"target_regions": ["EU"]}}
    assert eu["job"]["campaign"]["id"] == thread

    refined = say(client, headers, "drop Google employees", thread)
    refined = say(client, headers, "only maintainers", thread)
    refined = say(client, headers, "top 20 and write shorter emails", thread)
    assert refined["changes"] == ["top 50 → top 20", "emails: medium → short"]
    latest = refined["job"]
    assert latest["max_prospects"] == 20
    campaign = stored_campaign(settings, latest["id"])
    assert campaign is not None
    assert campaign["target_audience"] == {"target_regions": ["EU"], "exclude_companies": ["Google"], "role": "maintainer"}
    assert {t["length"] for t in campaign["messaging"]["templates"]} == {"short"}

    germany = say(client, headers, "only in Germany", thread)
    assert germany["changes"] == ["regions: EU → DE"]
    assert stored_campaign(settings, germany["job"]["id"])["target_audience"]["target_regions"] == ["DE"]  # type: ignore[index]
    same = say(client, headers, "only maintainers", thread)
    assert same["intent"] == "unchanged" and same["job_created"] is False and same["job"]["id"] == germany["job"]["id"]

    history = client.get(f"/api/chat/{thread}", headers=headers).json()
    assert history["goal"] == GOAL and len(history["job_ids"]) == 6 and history["job_id"] == germany["job"]["id"]
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"] * 7
    assert history["messages"][2]["content"] == "only EU" and history["messages"][3]["job_id"] == eu["job"]["id"]


def test_questions_are_answered_from_the_stored_evidence(client: TestClient, settings: Settings) -> None:
    headers = auth(settings)
    first = say(client, headers, GOAL)
    thread, job_id = first["thread_id"], first["job"]["id"]
    early = say(client, headers, "how many are contactable?", thread)
    assert early["intent"] == "counts" and "no prospects stored yet" in early["reply"]

    store_prospects(settings, job_id)
    why = say(client, headers, "why is octocat ranked first?", thread)
    assert why["intent"] == "explain" and why["job"]["id"] == job_id
    assert why["reply"].startswith(f"octocat is ranked #1 of 3 in job {job_id}, with score 0.91")
    assert "owner of octocat/ml-kit (412 commits, 2300★)" in why["reply"]
    assert "active_maintainer (commits in octocat/ml-kit ×412 on 2025-01-10 (https://github.com/octocat/ml-kit))" in why["reply"]
    assert why["details"]["rank"] == 1 and why["details"]["signals"][1]["name"] == "ml_contributor"

    not_first = say(client, headers, "why is ada ranked #1", thread)
    assert not_first["reply"].startswith(f"ada is ranked #2 of 3 in job {job_id}, not #1")
    second = say(client, headers, "who is ranked #3?", thread)
    assert second["details"]["username"] == "bob"
    for message, login in (("tell me about the third one", "bob"), ("what about #2?", "ada"), ("explain lead 1", "octocat")):
        about = say(client, headers, message, thread)
        assert (about["intent"], about["details"]["username"]) == ("explain", login), message
    assert "nobody is ranked #7" in say(client, headers, "and number 7?", thread)["reply"]
    missing = say(client, headers, "why is linus ranked first?", thread)
    assert "linus is not among the 3 prospects" in missing["reply"] and "octocat, ada, bob" in missing["reply"]

    counts = say(client, headers, "how many are contactable?", thread)
    assert "3 prospects stored, 2 contactable" in counts["reply"]
    assert counts["details"]["by_verdict"] == {"approved": 2, "needs_review": 1}

    # a refined job still queued does not hide the results of the run before it
    refined = say(client, headers, "only EU", thread)
    answer = say(client, headers, "how many are contactable?", thread)
    assert answer["reply"].startswith(f"Job {refined['job']['id']} (queued) has no results yet; from the earlier run {job_id}:")


def test_threads_belong_to_their_tenant_and_odd_messages_get_help(client: TestClient, settings: Settings) -> None:
    owner, intruder = auth(settings), auth(settings)
    thread = say(client, owner, GOAL)["thread_id"]
    for response in (
        client.post("/api/chat", json={"message": "only EU", "thread_id": thread}, headers=intruder),
        client.get(f"/api/chat/{thread}", headers=intruder),
        client.get("/api/chat/thr_missing", headers=owner),
    ):
        assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert len(client.get(f"/api/chat/{thread}", headers=owner).json()["messages"]) == 2

    unknown = say(client, owner, "lovely weather today", thread)
    assert unknown["intent"] == "help" and "only EU" in unknown["reply"] and unknown["job_created"] is False
    refused = say(client, owner, "find the home address of my neighbour")
    assert refused["intent"] == "refused" and refused["job"] is None and refused["stream_url"] is None
    assert client.post("/api/chat", json={"message": ""}, headers=owner).status_code == 422
    assert client.post("/api/chat", json={"message": GOAL}).status_code == 401


@contextmanager
def model_client(settings: Settings, redis_url: str, script: list[Reply]) -> Iterator[tuple[TestClient, ScriptedOpenAIServer]]:
    """An app whose chat (and jobs) use a scripted OpenAI-compatible model."""
    stream = f"cmo:test:jobs:{uuid.uuid4().hex}"
    with ScriptedOpenAIServer(script) as server:
        with_llm = settings.model_copy(update={"openai_api_key": SecretStr("test"), "openai_base_url": server.base_url})
        with TestClient(create_app(with_llm, ApiConfig(github_sandbox=open_sandbox, jobs_stream=stream))) as client:
            yield client, server
    redis.Redis.from_url(redis_url).delete(stream)


RULES_PLAN = {"audience": {"languages": ["Python"], "domains": ["machine_learning"]}, "notes": ["as the rules read it"]}


def test_a_model_only_rephrases_what_the_rules_did_not_understand(settings: Settings, redis_url: str) -> None:
    script = [Reply.tool("LLMPlan", RULES_PLAN), Reply.text("only in Germany"), Reply.error(400, "model down")]
    with model_client(settings, redis_url, script) as (client, server):
        headers = auth(settings)
        thread = say(client, headers, GOAL)["thread_id"]  # the model plans the goal, as the job's planner will
        assert [r["tools"][0]["function"]["name"] for r in server.requests] == ["LLMPlan"]
        rephrased = say(client, headers, "keep it to the land of beer and pretzels please", thread)
        assert rephrased["intent"] == "refine" and rephrased["changes"] == ["regions: anywhere → DE"]
        assert server.requests[1]["messages"][1]["content"] == "keep it to the land of beer and pretzels please"
        failed = say(client, headers, "something the model cannot help with", thread)
        assert failed["intent"] == "help" and failed["job_created"] is False


def test_with_a_model_the_reply_describes_the_plan_the_job_runs(settings: Settings, redis_url: str) -> None:
    """The rules read keywords in this goal; the model reads Go maintainers of DevOps tools in the EU. The
    reply says so, the job's campaign pins that audience and count, and the job's planner (whatever its
    own model call answers) runs exactly it; a refinement applies on top of the model's reading."""
    goal = "Find developers who build self-hosted home automation software"
    model_plan = {
        "audience": {"languages": ["Go"], "domains": ["devops"], "role": "maintainer", "target_regions": ["EU"]},
        "max_prospects": 15,
        "notes": ["self-hosted home automation read as DevOps tooling in Go"],
    }
    with model_client(settings, redis_url, [Reply.tool("LLMPlan", model_plan)]) as (client, _):
        headers = auth(settings)
        first = say(client, headers, goal)
        assert "Go maintainers in devops in EU; top 15." in first["reply"]
        assert "Planned by the model (gpt-4o-mini); the job runs this plan." in first["reply"]
        assert "Read as: self-hosted home automation read as DevOps tooling in Go." in first["reply"]
        job = first["job"]
        assert job["max_prospects"] == 15 and job["campaign"]["target_audience"]["domains"] == ["devops"]

        # What the job's planner makes of that campaign: the reply's plan, without a model or with one
        # that reads the goal differently.
        campaign = Campaign.model_validate(job["campaign"])
        other = scripted(tool_call_message("LLMPlan", {"audience": {"languages": ["Rust"]}, "max_prospects": 3}))
        for llm in (None, other):
            gate = ModelGate(llm) if llm is not None else None
            plan, _ = make_plan(goal, campaign, job["max_prospects"], today=date.today(), gate=gate)
            described = {"languages": ["Go"], "domains": ["devops"], "role": "maintainer", "target_regions": ["EU"]}
            assert plan.audience.model_dump(include=set(described)) == described and plan.max_prospects == 15
            assert plan.audience == campaign.target_audience, "every field, defaults included, is the chat's"

        refined = say(client, headers, "not in Germany", first["thread_id"])
        assert refined["changes"] == ["excluding DE"] and "Go maintainers in devops in EU not in DE; top 15" in refined["reply"]
        pinned = stored_campaign(settings, refined["job"]["id"])["target_audience"]  # type: ignore[index]
        assert (pinned["languages"], pinned["exclude_regions"], refined["job"]["max_prospects"]) == (["Go"], ["DE"], 15)


def test_when_the_model_cannot_plan_the_reply_says_it_is_a_preview(settings: Settings, redis_url: str) -> None:
    with model_client(settings, redis_url, [Reply.error(400, "model down")]) as (client, _):
        first = say(client, auth(settings), GOAL)
        assert "Python developers in machine_learning anywhere; top 50." in first["reply"]
        assert "This is the rules' reading, a preview: the model gave no usable plan." in first["reply"]
        assert "the plan it runs is in the job's first agent.reasoning event" in first["reply"]
        assert stored_campaign(settings, first["job"]["id"]) == {"id": first["thread_id"]}, "the job plans by itself"
        assert first["job"]["max_prospects"] is None


@pytest.mark.parametrize(
    ("message", "audience", "changes"),
    [
        ("exclude Meta", {"exclude_companies": ["Microsoft", "Meta"]}, ["excluding Meta"]),
        ("no Google employees", {"exclude_companies": ["Microsoft", "Google"]}, ["excluding Google"]),
        ("only people at Stripe", {"include_companies": ["Stripe"]}, ["only people at Stripe"]),
        ("only US and Canada", {"target_regions": ["US", "CA"]}, ["regions: anywhere → US, CA"]),
        ("contributors too", {"role": "any"}, ["role: maintainer → any"]),
        ("only Rust", {"languages": ["Rust"]}, ["languages: Python → Rust"]),
        ("drop Germany", {}, []),  # understood as a place, but a place cannot be dropped: nothing changes
        ("not in China", {"exclude_regions": ["CN"]}, ["excluding CN"]),
        ("except Berlin", {"exclude_cities": ["Berlin"]}, ["excluding Berlin"]),
        ("only maintainers", {}, []),  # the goal already says so
    ],
)
def test_refinements_read_by_rules(message: str, audience: dict[str, Any], changes: list[str]) -> None:
    """Explicit fields are written whole: excluding Meta keeps the goal's own exclusion of Microsoft."""
    thread = Thread(goal="Find Python maintainers active in ML, excluding Microsoft")
    intent = parse_intent(message, has_goal=True)
    assert intent is not None and intent.kind == "refine"
    refined, changed = apply(thread, intent)
    assert (refined.audience, changed) == (audience, changes)


@pytest.mark.parametrize(
    ("message", "kind", "login", "rank"),
    [
        ("why is octocat ranked #1", "explain", "octocat", 1),
        ("Why was @ada-lovelace scored so high?", "explain", "ada-lovelace", None),
        ("why is the top one ranked first?", "explain", None, 1),
        ("who is ranked third?", "explain", None, 3),
        ("why is #3 first?", "explain", None, 3),  # the web app's example: a rank, not a login
        ("why is lead #1 ranked first?", "explain", None, 1),  # not a person called "lead"
        ("why is number 2 ranked second?", "explain", None, 2),
        ("tell me about the third one", "explain", None, 3),
        ("what about #2?", "explain", None, 2),
        ("explain lead 3", "explain", None, 3),
        ("lead #1", "explain", None, 1),
        ("number 3", "explain", None, 3),
        ("and the top one?", "explain", None, 1),
        ("Tell me more about the 4th lead", "explain", None, 4),
        ("top 20", "refine", None, None),  # a count, not a reference
        ("only C# developers", "refine", None, None),  # a language, not #n
        ("what's the status?", "counts", None, None),
        ("new goal: Rust developers in Berlin", "goal", None, None),
        ("help", "help", None, None),
    ],
)
def test_questions_and_commands_read_by_rules(message: str, kind: str, login: str | None, rank: int | None) -> None:
    intent = parse_intent(message, has_goal=True)
    assert intent is not None and (intent.kind, intent.login, intent.rank) == (kind, login, rank)
