"""A whole run on the LLM path, over real HTTP to a scripted OpenAI-compatible server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from foundation.settings import Settings
from graph.runner import run_job
from sandbox import open_sandbox
from sandbox.goals import BUILTIN_GOALS
from tests.support.openai_server import Reply, ScriptedOpenAIServer

pytestmark = pytest.mark.slow
GOAL = BUILTIN_GOALS["python-ml"]


def _responder(body: dict[str, Any]) -> Reply:
    """Plays the model: plans the goal, rewrites each template draft, passes the tone review.

    Answers a function call or a JSON-schema response format, whichever the agent asked for.
    """
    tool = _asked_for(body)
    if tool == "LLMPlan":
        audience = GOAL.audience.model_dump(include={"languages", "domains", "role", "activity_days"})
        return Reply.tool("LLMPlan", {"audience": audience, "max_prospects": 20, "notes": ["scripted"], "ignored_terms": []})
    if tool == "DraftOut":
        brief = json.loads(body["messages"][-1]["content"])
        draft = brief["template_draft"]
        return _answer(body, "DraftOut", {"subject": draft["subject"], "body": draft["body"], "facts_used": []})
    if tool == "FollowUpOut":
        body_text = json.loads(body["messages"][-1]["content"])["template_draft"]["body"]
        return _answer(body, "FollowUpOut", {"body": body_text, "facts_used": []})
    if tool == "ToneOut":
        return _answer(body, "ToneOut", {"verdict": "ok", "reasons": []})
    raise AssertionError(f"unexpected tool {tool}")


def _asked_for(body: dict[str, Any]) -> str | None:
    if body.get("tools"):
        return body["tools"][0]["function"]["name"]
    return body.get("response_format", {}).get("json_schema", {}).get("name")


def _answer(body: dict[str, Any], name: str, arguments: dict[str, Any]) -> Reply:
    return Reply.tool(name, arguments) if body.get("tools") else Reply.text(json.dumps(arguments))


def test_llm_path_end_to_end(tmp_path: Path, block_internet: None) -> None:
    with ScriptedOpenAIServer(_responder) as server:
        settings = Settings(
            cmo_home=tmp_path / "home",
            openai_api_key="test-key",
            openai_base_url=server.base_url,
            cmo_model="scripted",
            cmo_sender_postal_address="TechFlow, 1 Main St, Springfield, USA",
            cmo_unsubscribe_url="https://techflow.dev/unsubscribe",
        )
        result = run_job(GOAL.goal, settings, sandbox=open_sandbox, out_dir=tmp_path / "out")
        tools = [_asked_for(r) for r in server.requests]

    summary = result.summary
    assert summary.status == "complete", summary
    assert summary.llm == "scripted"
    assert summary.plan and summary.plan.planned_by == "llm"
    assert summary.plan.max_prospects == 20 and len(result.prospects) <= 20
    assert tools[0] == "LLMPlan"
    assert tools.count("DraftOut") == len(result.prospects)
    assert tools.count("FollowUpOut") == 2 * sum(1 for p in result.prospects if p.email)  # CMO_FOLLOW_UP_DAYS 3,7
    assert all(p.message and p.message.written_by == "llm" for p in result.prospects)
    assert "ToneOut" in tools
    assert summary.verdicts and summary.verdicts["approved"] > 0


def test_no_key_means_no_model_and_no_network(tmp_path: Path, block_internet: None) -> None:
    result = run_job(GOAL.goal, Settings(cmo_home=tmp_path / "home"), sandbox=open_sandbox, out_dir=tmp_path / "out")
    assert result.summary.llm == "none"
    assert result.summary.plan and result.summary.plan.planned_by == "rules"
    assert all(p.message and p.message.written_by == "template" for p in result.prospects)
