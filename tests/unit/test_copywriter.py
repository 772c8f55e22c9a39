"""Copywriter: evidence-only template drafts, stable variants, the footer, and the grounded LLM path.

The fixtures and `run_node` here are shared with test_compliance.py.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph

from agents.context import Context
from agents.copywriter import (
    DraftOut,
    assign_variant,
    copywriter,
    draft_from_template,
    draft_with_llm,
    grounding_problems,
    variant_names,
)
from agents.model_calls import ModelGate
from agents.state import State
from foundation.schemas import (
    Campaign,
    CampaignSettings,
    DeveloperProfile,
    Evidence,
    MessageTemplate,
    Messaging,
    Prospect,
    SenderProfile,
    Signal,
)
from foundation.settings import Settings
from prompts import load_prompt
from tests.support.fake_llm import ScriptedChatModel, scripted, tool_call_message
from tools.suppression import SuppressionList

POSTAL = "TechFlow Inc., 500 Market St, San Francisco, CA 94105, USA"
SETTINGS = Settings(
    _env_file=None,
    cmo_sender_name="Sarah Chen",
    cmo_sender_company="TechFlow",
    cmo_sender_postal_address=POSTAL,
    cmo_unsubscribe_url="https://optout.techflow.io/u",
)
CAMPAIGN = Campaign(id="cmp_test", campaign_settings=CampaignSettings(ab_test_variants=3))


def alice(**overrides: Any) -> Prospect:
    """A realistic enriched prospect: published email, signals with dated evidence."""
    fields: dict[str, Any] = {
        "id": "gh_alice",
        "username": "alice",
        "github_id": 1001,
        "name": "Alice Liddell",
        "email": "alice@fastgrad.dev",
        "email_source": "profile",
        "company": "@fastgrad-labs",
        "country": "US",
        "bio": "Compilers and autodiff.",
        "developer_profile": DeveloperProfile(
            languages=["Python", "C++"],
            repositories=["alice/fastgrad", "alice/tinyjit"],
            expertise_areas=["machine_learning"],
        ),
        "signals": [
            Signal(
                name="ml_contributor",
                evidence=[
                    Evidence(
                        kind="commits",
                        repo="alice/fastgrad",
                        date=datetime(2025, 1, 10, tzinfo=UTC),
                        count=42,
                        url="https://github.com/alice/fastgrad",
                    )
                ],
            ),
            Signal(
                name="active_maintainer",
                evidence=[
                    Evidence(
                        kind="repo_owner",
                        repo="alice/tinyjit",
                        date=datetime(2024, 11, 2, tzinfo=UTC),
                        count=130,
                        url="https://github.com/alice/tinyjit",
                    )
                ],
            ),
            Signal(
                name="recent_activity",
                evidence=[Evidence(kind="commits_and_pushes_30d", date=datetime(2025, 1, 10, tzinfo=UTC), count=18)],
            ),
        ],
    }
    return Prospect(**(fields | overrides))


def run_node(node: Any, state: dict[str, Any], llm: BaseChatModel | None = None, **context: Any) -> tuple[dict, list]:
    """Run one node in a one-node StateGraph; returns the final state and the custom events."""
    builder = StateGraph(State, context_schema=Context)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    ctx = Context(settings=SETTINGS, github=None, suppression=SuppressionList.empty(), llm=llm, **context)
    events: list[dict] = []
    final: dict = {}
    for mode, chunk in builder.compile().stream(state, context=ctx, stream_mode=["custom", "values"]):
        if mode == "custom":
            events.append(chunk)
        else:
            final = chunk
    return final, events


# --- template path ---------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["A", "B", "C"])
def test_template_facts_all_trace_to_evidence(variant: str) -> None:
    prospect = alice()
    message = draft_from_template(prospect, CAMPAIGN, variant, SETTINGS)
    assert message.written_by == "template" and message.variant == variant
    assert message.facts_used, "a personalised draft records its facts"
    evidence = prospect.model_dump_json().lower()
    for fact in message.facts_used:
        assert fact.value.lower() in message.subject.lower() + message.body.lower()
        assert fact.source.startswith(("signal:", "profile.", "developer_profile."))
        for token in re.findall(r"[\w/+-]+", fact.value.lower()):
            assert token in evidence or token in {"your", "commits", "to", "and", "own", "repository"}, token


def test_recent_project_is_the_most_recently_active_evidence_repo() -> None:
    message = draft_from_template(alice(), CAMPAIGN, "A", SETTINGS)
    facts = {fact.name: fact for fact in message.facts_used}
    assert facts["recent_project"].value == "alice/fastgrad"
    assert facts["recent_project"].source == "signal:ml_contributor repo:alice/fastgrad"
    assert facts["signal"].value == "your 42 commits to alice/fastgrad"
    assert message.subject == "Your work on alice/fastgrad"


@pytest.mark.parametrize("variant", ["A", "B", "C"])
def test_no_placeholder_survives_even_without_any_evidence(variant: str) -> None:
    bare = alice(name=None, company=None, developer_profile=DeveloperProfile(), signals=[])
    message = draft_from_template(bare, CAMPAIGN, variant, SETTINGS)
    assert "{{" not in message.subject + message.body and "}}" not in message.subject + message.body
    assert message.facts_used == []
    assert "your company" not in message.body.lower()
    assert message.body.startswith("Hi there,")


def test_missing_company_drops_the_company_clause() -> None:
    message = draft_from_template(alice(company=None), CAMPAIGN, "A", SETTINGS)
    assert "company" not in {fact.name for fact in message.facts_used}
    assert "team at" not in message.body and "fastgrad-labs" not in message.body
    with_company = draft_from_template(alice(), CAMPAIGN, "A", SETTINGS)
    assert "their team at fastgrad-labs" in with_company.body


def test_campaign_template_subject_rephrases_when_company_is_missing() -> None:
    campaign = CAMPAIGN.model_copy(
        update={
            "messaging": Messaging(
                templates=[MessageTemplate(name="value_prop", subject="Optimizing ML Training in {{company}}")]
            )
        }
    )
    assert draft_from_template(alice(company="Acme Inc."), campaign, "B", SETTINGS).subject == ("Optimizing ML Training in Acme")
    message = draft_from_template(alice(company=None), campaign, "B", SETTINGS)
    assert message.subject == "Optimizing ML Training"
    assert message.template == "value_prop"
    assert "{{" not in message.body


def test_custom_body_sentence_with_unknown_field_is_dropped() -> None:
    template = MessageTemplate(
        name="custom",
        subject="Hello from {{sender_company}}",
        body="Hi {{first_name}}. Your team at {{company}} is great. We liked {{favourite_color}}. Bye.",
    )
    campaign = CAMPAIGN.model_copy(update={"messaging": Messaging(templates=[template])})
    message = draft_from_template(alice(company=None), campaign, "A", SETTINGS)
    assert message.body.split("\n\n--")[0] == "Hi Alice. Bye."
    assert message.subject == "Hello from TechFlow"


# --- footer ----------------------------------------------------------------------------------


def test_footer_has_notice_opt_out_and_postal_address() -> None:
    body = draft_from_template(alice(), CAMPAIGN, "C", SETTINGS).body
    assert "https://optout.techflow.io/u?u=gh_alice" in body
    assert POSTAL in body
    assert "github.com/alice" in body and "legitimate interest" in body
    assert "at most 365 days" in body and "right to access" in body
    assert "This is a commercial message from TechFlow." in body
    assert body.rstrip().endswith("https://optout.techflow.io/u?u=gh_alice"), "opt-out is its own last line"


def test_footer_prefers_campaign_sender_and_keeps_existing_query() -> None:
    campaign = CAMPAIGN.model_copy(
        update={
            "messaging": Messaging(
                sender_profiles=[SenderProfile(name="Sam Lee", company="Acme", postal_address="1 Rue X, Paris")],
                unsubscribe_url="https://acme.io/optout?list=devs",
            )
        }
    )
    body = draft_from_template(alice(), campaign, "A", SETTINGS).body
    assert "https://acme.io/optout?list=devs&u=gh_alice" in body
    assert "1 Rue X, Paris" in body and "Sam Lee · Acme" in body


def test_footer_says_when_the_postal_address_is_missing() -> None:
    settings = SETTINGS.model_copy(update={"cmo_sender_postal_address": None})
    assert "Postal address: MISSING" in draft_from_template(alice(), CAMPAIGN, "A", settings).body


# --- variants --------------------------------------------------------------------------------


def test_variants_are_deterministic_and_balanced() -> None:
    arms = variant_names(CAMPAIGN)
    assert arms == ["A", "B", "C"]
    ids = [f"gh_user{i}" for i in range(300)]
    first = [assign_variant(i, arms, salt="cmp_test") for i in ids]
    assert first == [assign_variant(i, arms, salt="cmp_test") for i in ids]
    counts = Counter(first)
    assert set(counts) == {"A", "B", "C"}
    assert all(70 <= n <= 130 for n in counts.values()), counts
    assert {assign_variant(i, variant_names(Campaign())) for i in ids} == {"A"}


# --- LLM path --------------------------------------------------------------------------------

GOOD = {
    "subject": "Your work on alice/fastgrad",
    "body": "Hi Alice,\n\nI noticed your 42 commits to alice/fastgrad and the tinyjit repository you own. "
    "We build profiling tools for Python and C++ code.\n\nOpen to a short reply?\n\nSarah",
    "facts_used": [
        {"name": "recent_project", "value": "alice/fastgrad", "source": "signal:ml_contributor repo:alice/fastgrad"},
        {"name": "signal", "value": "your 42 commits to alice/fastgrad", "source": "signal:ml_contributor"},
        {"name": "tech_stack", "value": "Python and C++", "source": "developer_profile.languages"},
    ],
}
INVENTED = GOOD | {"body": "Hi Alice,\n\nYour bob/megaproject work looks great.\n\nSarah"}


def draft_call(args: dict[str, Any]) -> Any:
    return tool_call_message("DraftOut", args)


def test_llm_draft_is_accepted_and_footer_is_added_by_code() -> None:
    llm = scripted(draft_call(GOOD))
    prompt = load_prompt("copywriter", "v1")
    message = draft_with_llm(ModelGate(llm), alice(), CAMPAIGN, "B", SETTINGS, prompt)
    assert message.written_by == "llm" and message.variant == "B"
    assert message.body.startswith(GOOD["body"])
    assert "https://optout.techflow.io/u?u=gh_alice" in message.body and POSTAL in message.body
    assert [fact.name for fact in message.facts_used] == ["recent_project", "signal", "tech_stack"]
    system, user = llm.seen[0]
    assert system.content == prompt
    brief = json.loads(user.content)
    assert brief["evidence"]["login"] == "alice" and "email" not in json.dumps(brief["evidence"])
    assert brief["template_draft"]["subject"]


def test_invented_repository_falls_back_to_template_after_retries() -> None:
    llm = scripted(draft_call(INVENTED), draft_call(INVENTED), draft_call(INVENTED))
    message = draft_with_llm(ModelGate(llm), alice(), CAMPAIGN, "A", SETTINGS, "prompt")
    assert message.written_by == "template"
    assert "bob/megaproject" not in message.body
    assert len(llm.seen) == 3, "first attempt plus two retries"
    feedback = llm.seen[1][-1].content
    assert "bob/megaproject" in feedback and "not in the evidence" in feedback


def test_retry_with_feedback_can_succeed() -> None:
    llm = scripted("I cannot produce JSON today", draft_call(GOOD))
    message = draft_with_llm(ModelGate(llm), alice(), CAMPAIGN, "A", SETTINGS, "prompt")
    assert message.written_by == "llm"
    assert "not a valid DraftOut" in llm.seen[1][-1].content


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"body": "Congrats on 5000 stars for alice/fastgrad!"}, "number 5000"),
        ({"body": "I liked `megalib` a lot."}, "repository 'megalib'"),
        ({"body": "Your megalib repository is neat."}, "repository 'megalib'"),
        ({"body": "Saw https://evil.example/x today."}, "link https://evil.example/x"),
        ({"body": "Write to me at sarah@techflow.io."}, "email address"),
        ({"subject": "Hi {{first_name}}"}, "placeholder"),
        ({"facts_used": [{"name": "employer", "value": "Google", "source": "profile.company"}]}, "google"),
        ({"facts_used": [{"name": "x", "value": "alice/fastgrad", "source": "signal:made_up"}]}, "unknown source"),
        ({"body": "word " * 200}, "longer than 150 words"),
    ],
)
def test_grounding_rejects_what_the_evidence_does_not_contain(change: dict[str, Any], problem: str) -> None:
    problems = grounding_problems(DraftOut.model_validate(GOOD | change), alice())
    assert any(problem in p for p in problems), problems


def test_grounding_accepts_evidence_backed_claims_and_plain_slash_words() -> None:
    body = GOOD["body"] + " CI/CD for alice/tinyjit (130 commits, 18 recent) at github.com/alice/tinyjit."
    assert grounding_problems(DraftOut.model_validate(GOOD | {"body": body}), alice()) == []


# --- node ------------------------------------------------------------------------------------


def test_node_without_llm_drafts_every_prospect_in_order() -> None:
    prospects = [alice(), alice(id="gh_bob", username="bob", email=None, company=None)]
    final, events = run_node(copywriter, {"campaign": CAMPAIGN, "prospects": prospects})
    assert [p.id for p in final["prospects"]] == ["gh_alice", "gh_bob"]
    assert all(p.message and p.message.written_by == "template" for p in final["prospects"])
    drafted = [e for e in events if e["event"] == "message.drafted"]
    assert [e["data"]["prospect_id"] for e in drafted] == ["gh_alice", "gh_bob"]
    assert set(drafted[0]["data"]) == {"prospect_id", "variant", "subject", "written_by"}
    (summary,) = [e for e in events if e["event"] == "agent.reasoning"]
    assert "drafted 2 messages" in summary["data"]["text"] and "no LLM key: template path" in summary["data"]["text"]


def test_node_with_llm_uses_the_prompt_and_reports_fallbacks() -> None:
    llm: ScriptedChatModel = scripted(draft_call(GOOD))
    final, events = run_node(copywriter, {"campaign": CAMPAIGN, "prospects": [alice()]}, llm=llm)
    assert final["prospects"][0].message.written_by == "llm"
    assert llm.seen[0][0].content == load_prompt("copywriter", "v1")
    (summary,) = [e for e in events if e["event"] == "agent.reasoning"]
    assert "0 fell back" in summary["data"]["text"]


def test_conjunctions_beside_repository_are_not_repo_claims() -> None:
    from agents.grounding import repo_claims

    assert repo_claims("I found your repository while looking at alice/fastgrad") == {"alice/fastgrad"}
