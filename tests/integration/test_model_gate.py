"""Whole runs against the scripted OpenAI-compatible server over real HTTP: the run's model gate
bounds a hung endpoint, stops calling a failing one, reports garbage answers, counts tokens and
asks for structured output the way `CMO_LLM_STRUCTURED_OUTPUT` says (agents/model_calls.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from foundation.settings import Settings
from graph.graph import build_graph
from graph.runner import JobResult, run_job
from sandbox import open_sandbox
from sandbox.goals import BUILTIN_GOALS
from storage.checkpoints import open_checkpointer
from storage.keyring import LOCAL_TENANT
from tests.support.openai_server import Reply, ScriptedOpenAIServer

GOAL = BUILTIN_GOALS["python-ml"]
LEADS = 5
TIMEOUT = 1.0


def _settings(tmp_path: Path, server: ScriptedOpenAIServer | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "cmo_home": tmp_path / "home",
        "sandbox_users": 300,
        "cmo_sender_postal_address": "TechFlow, 1 Main St, Springfield, USA",  # so drafts can be approved and tone-reviewed
        "cmo_unsubscribe_url": "https://techflow.dev/unsubscribe",
        "cmo_llm_timeout_seconds": TIMEOUT,
        "cmo_follow_up_days": "",  # first messages only: tests/integration/test_sequences_llm.py runs sequences
    }
    if server is not None:
        values |= {"openai_api_key": "test-key", "openai_base_url": server.base_url, "cmo_model": "scripted"}
    return Settings(**(values | overrides))


def _run(tmp_path: Path, settings: Settings, name: str) -> tuple[JobResult, list[dict[str, Any]]]:
    out = tmp_path / name
    result = run_job(GOAL.goal, settings, sandbox=open_sandbox, out_dir=out, max_prospects=LEADS)
    trace = [json.loads(line) for line in (out / "trace.jsonl").read_text().splitlines()]
    return result, trace


def _model_events(trace: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [event["data"] | {"agent": event["agent"]} for event in trace if event["event"] == name]


def _asked_for(body: dict[str, Any]) -> str:
    if body.get("tools"):
        return body["tools"][0]["function"]["name"]
    return body["response_format"]["json_schema"]["name"]


def _answer(body: dict[str, Any], arguments: dict[str, Any]) -> Reply:
    """A tool call or a JSON text, whichever the request asked for."""
    name = _asked_for(body)
    return Reply.tool(name, arguments) if body.get("tools") else Reply.text(json.dumps(arguments))


def _good_model(body: dict[str, Any]) -> Reply:
    """Plans the goal, rewrites each template draft as it is, passes the tone review."""
    name = _asked_for(body)
    if name == "LLMPlan":
        audience = GOAL.audience.model_dump(include={"languages", "domains", "role", "activity_days"})
        return _answer(body, {"audience": audience, "max_prospects": LEADS, "notes": ["scripted"], "ignored_terms": []})
    if name == "DraftOut":
        draft = json.loads(body["messages"][-1]["content"])["template_draft"]
        return _answer(body, {"subject": draft["subject"], "body": draft["body"], "facts_used": []})
    if name == "FollowUpOut":  # tests/integration/test_sequences_llm.py
        draft = json.loads(body["messages"][-1]["content"])["template_draft"]
        return _answer(body, {"body": draft["body"], "facts_used": []})
    return _answer(body, {"verdict": "ok", "reasons": []})


def test_a_hung_endpoint_costs_a_bounded_time_and_the_run_says_it_failed(tmp_path: Path, block_internet: None) -> None:
    started = time.perf_counter()
    _run(tmp_path, _settings(tmp_path, None), "no-model")
    no_model_seconds = time.perf_counter() - started

    with ScriptedOpenAIServer(lambda body: Reply.hang()) as server:
        started = time.perf_counter()
        result, trace = _run(tmp_path, _settings(tmp_path, server), "hung")
        hung_seconds = time.perf_counter() - started
        requests = len(server.requests)

    attempts = 1 + Settings().cmo_llm_max_retries
    assert hung_seconds <= no_model_seconds + 2 * TIMEOUT * attempts, (hung_seconds, no_model_seconds)
    usage = result.summary.llm_usage
    assert usage is not None and usage.status == "failed -> deterministic"
    assert usage.breaker_opened and usage.failures == {"timeout": 3} and usage.answers == 0
    assert requests == usage.requests == 3, "the planner's three tries open the breaker; nothing else is sent"
    assert result.summary.plan is not None and result.summary.plan.planned_by == "rules"
    assert all(p.message is not None and p.message.written_by == "template" for p in result.prospects)
    failed = _model_events(trace, "llm.failed")
    assert [(f["kind"], f["retry"], f["will_retry"]) for f in failed] == [
        ("timeout", 0, True),
        ("timeout", 1, True),
        ("timeout", 2, False),
    ]
    assert failed[-1]["breaker"] == "open" and failed[-1]["agent"] == "planner"
    assert {"agent": "copywriter", "reason": "not sent: circuit breaker open", "count": len(result.prospects)} in [
        f.model_dump() for f in usage.fallbacks
    ]


@pytest.mark.parametrize(("breaker", "retries"), [(3, 2), (2, 2), (1, 0)])
def test_a_failing_endpoint_gets_breaker_failures_requests_and_no_more(
    tmp_path: Path, block_internet: None, breaker: int, retries: int
) -> None:
    with ScriptedOpenAIServer(lambda body: Reply.error(500)) as server:
        settings = _settings(tmp_path, server, cmo_llm_breaker_failures=breaker, cmo_llm_max_retries=retries)
        result, trace = _run(tmp_path, settings, "failing")
        requests = len(server.requests)

    assert requests == breaker
    usage = result.summary.llm_usage
    assert usage is not None and usage.status == "failed -> deterministic" and usage.failures == {"error": breaker}
    assert usage.refused >= len(result.prospects), "every draft was refused at once"
    assert len(_model_events(trace, "llm.called")) == breaker
    assert "Error code: 500" in _model_events(trace, "llm.failed")[-1]["reason"]


def test_garbage_answers_are_failures_with_their_reasons(tmp_path: Path, block_internet: None) -> None:
    """Plan arguments that are not JSON, drafts that name a repository the evidence lacks."""

    def garbage(body: dict[str, Any]) -> Reply:
        if _asked_for(body) == "LLMPlan":
            return Reply.tool("LLMPlan", '{"audience": {"languages": ["Py')
        if _asked_for(body) == "DraftOut":
            return _answer(body, {"subject": "Hi", "body": "Loved your work on bob/megaproject.", "facts_used": []})
        return _answer(body, {"verdict": "ok", "reasons": []})

    with ScriptedOpenAIServer(garbage) as server:
        result, trace = _run(tmp_path, _settings(tmp_path, server, cmo_llm_breaker_failures=5), "garbage")

    failed = _model_events(trace, "llm.failed")
    unparsable = [f for f in failed if f["kind"] == "unparsable"]
    assert [f["agent"] for f in unparsable] == ["planner"] * 3
    assert all("LLMPlan arguments could not be parsed" in f["reason"] for f in unparsable)
    rejected = [f for f in failed if f["kind"] == "rejected"]
    assert len(rejected) == 3 * len(result.prospects) and {f["agent"] for f in rejected} == {"copywriter"}
    assert all("bob/megaproject" in f["reason"] and f["call_id"] for f in rejected)
    usage = result.summary.llm_usage
    assert usage is not None and usage.status == "partially used", "the tone reviews were used"
    assert usage.failures == {"rejected": len(rejected), "unparsable": 3} and not usage.breaker_opened
    reasons = {(f.agent, f.reason): f.count for f in usage.fallbacks}
    assert reasons == {
        ("planner", "no valid plan after 3 attempts"): 1,
        ("copywriter", "ungrounded or invalid after 3 attempts"): len(result.prospects),
    }


@pytest.mark.parametrize("method", ["function_calling", "json_schema"])
def test_a_good_endpoint_is_used_with_the_configured_structured_output(tmp_path: Path, block_internet: None, method: str) -> None:
    with ScriptedOpenAIServer(_good_model) as server:
        result, trace = _run(tmp_path, _settings(tmp_path, server, cmo_llm_structured_output=method), "good")
        bodies = list(server.requests)

    usage = result.summary.llm_usage
    assert usage is not None and usage.status == "used" and usage.structured_output == method
    assert usage.requests == usage.answers == len(bodies) and not usage.failures and not usage.fallbacks
    results = _model_events(trace, "llm.result")
    assert len(results) == len(bodies) and all(r["tokens_in"] > 0 and r["tokens_out"] > 0 for r in results)
    assert usage.tokens.input == sum(r["tokens_in"] for r in results) > 0
    assert usage.tokens.output == sum(r["tokens_out"] for r in results) > 0
    assert [_asked_for(b) for b in bodies].count("DraftOut") == len(result.prospects)
    assert "ToneOut" in [_asked_for(b) for b in bodies]
    for body in bodies:
        if method == "function_calling":
            assert body["tool_choice"]["function"]["name"] == body["tools"][0]["function"]["name"]
            assert "response_format" not in body
        else:
            assert body["response_format"]["type"] == "json_schema" and "tools" not in body
    assert all(p.message is not None and p.message.written_by == "llm" for p in result.prospects)
    called = _model_events(trace, "llm.called")
    assert {c["agent"] for c in called} == {"planner", "copywriter", "compliance"}
    assert all(c["model"] == "scripted" and c["prompt_version"] == "v1" and c["retry"] == 0 for c in called)
    with open_checkpointer(_settings(tmp_path, server), LOCAL_TENANT) as saver:  # what a resumed run's gate would count on from
        state = build_graph(saver).get_state({"configurable": {"thread_id": result.run_id}}).values
    assert state["llm_usage"] == usage


def test_a_service_job_stores_and_streams_the_model_events(tmp_path: Path) -> None:
    """The worker stores every llm.* event (nothing filters names it does not know), and the job's
    summary says what the model did."""
    from starlette.testclient import TestClient

    from api.app import create_app
    from api.core.config import ApiConfig
    from tests.integration.test_api_jobs import auth
    from tests.support.jobs import wait_succeeded

    with ScriptedOpenAIServer(lambda body: Reply.error(500)) as server:
        settings = _settings(tmp_path, server)
        with TestClient(create_app(settings, ApiConfig(github_sandbox=open_sandbox))) as client:
            headers = auth(settings)
            job_id = client.post("/api/jobs", json={"goal": GOAL.goal, "max_prospects": LEADS}, headers=headers).json()["id"]
            wait_succeeded(client, headers, job_id, timeout=60)
            summary = client.get(f"/api/jobs/{job_id}/summary", headers=headers).json()["summary"]
            with client.stream("GET", f"/api/jobs/{job_id}/events", headers=headers) as stream:
                names = [line.removeprefix("event: ") for line in stream.iter_lines() if line.startswith("event: ")]

    assert names.count("llm.called") == names.count("llm.failed") == 3
    assert summary["llm_usage"]["status"] == "failed -> deterministic" and summary["llm_usage"]["breaker_opened"]
