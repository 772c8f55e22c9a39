"""A whole run with sequences against the scripted OpenAI-compatible server over real HTTP: every
prospect with an address gets its follow-ups written through the run's model gate (one request per
step, grounded like the first message), each reviewed (rules and the tone review), and the lead
files carry them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.test_model_gate import _asked_for, _good_model, _run, _settings
from tests.support.openai_server import Reply, ScriptedOpenAIServer


def test_a_run_drafts_and_reviews_each_follow_up_through_the_model(tmp_path: Path, block_internet: None) -> None:
    briefs: list[dict[str, Any]] = []

    def model(body: dict[str, Any]) -> Reply:
        if _asked_for(body) == "FollowUpOut":
            briefs.append(json.loads(body["messages"][-1]["content"]))
        return _good_model(body)

    with ScriptedOpenAIServer(model) as server:
        result, trace = _run(tmp_path, _settings(tmp_path, server, cmo_follow_up_days="2,9"), "sequences")
        bodies = list(server.requests)

    addressed = [p for p in result.prospects if p.email]
    assert addressed, "the sandbox goal finds people with a published address"
    assert all(not p.follow_ups for p in result.prospects if not p.email)
    asked = [_asked_for(b) for b in bodies]
    assert asked.count("FollowUpOut") == 2 * len(addressed) == len(briefs)
    for prospect in addressed:
        assert [(fu.step, fu.day, fu.delay_days) for fu in prospect.follow_ups] == [(2, 2, 2), (3, 9, 7)]
        for follow_up in prospect.follow_ups:
            assert follow_up.message.written_by == "llm" and prospect.message is not None
            assert follow_up.message.subject == prospect.message.subject
            assert "To opt out of all further messages" in follow_up.message.body
            assert follow_up.compliance is not None and follow_up.compliance.rules_checked
    assert {(b["step"], b["last_step"]) for b in briefs} == {(2, False), (3, True)}
    approved_steps = sum(1 for p in addressed for fu in p.follow_ups if fu.compliance and fu.compliance.verdict == "approved")
    tone_requests = asked.count("ToneOut")
    approved_firsts = sum(1 for p in result.prospects if p.compliance and p.compliance.verdict == "approved")
    assert tone_requests == approved_firsts + approved_steps, "each approved step had its own tone review"
    usage = result.summary.llm_usage
    assert usage is not None and usage.status == "used" and not usage.fallbacks
    leads = json.loads((tmp_path / "sequences" / "leads_full.json").read_text())
    stored = {lead["id"]: lead["follow_ups"] for lead in leads}
    assert all(len(stored[p.id]) == 2 and stored[p.id][0]["message"]["written_by"] == "llm" for p in addressed)
    assert any(e["event"] == "agent.reasoning" and "follow-ups:" in e["data"]["text"] for e in trace)
