"""Follow-up steps: drafted from the same evidence as the first message (template and scripted-LLM
paths), shorter, threaded to it by subject, never stating what the evidence lacks; each reviewed by
compliance like a first message (footer with opt-out and postal address, the tone review); the
sequence's days from the campaign, else CMO_FOLLOW_UP_DAYS, or none."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from agents.compliance import compliance
from agents.copy_templates import sender_identity
from agents.copywriter import copywriter, draft_from_template
from agents.follow_ups import MAX_FOLLOW_UP_WORDS, PROMPT, llm_follow_ups, sequence_days, template_follow_ups, without_footer
from agents.model_calls import CallPolicy, ModelGate
from foundation.schemas import Campaign, CampaignSettings, ComplianceReview, Prospect
from foundation.settings import Settings
from prompts import load_prompt
from tests.support.fake_llm import scripted, tool_call_message
from tests.unit.test_compliance import FLAGGED, codes
from tests.unit.test_copywriter import CAMPAIGN, POSTAL, SETTINGS, alice, run_node
from tools.mail.outbox import DAY, StepRecord
from tools.mail.sequence import next_step

SENDER = sender_identity(CAMPAIGN, SETTINGS)
OPT_OUT = "https://optout.techflow.io/u?u=gh_alice"
GOOD_FOLLOW_UP = {
    "body": "Hi Alice,\n\nA short follow-up to my earlier note about alice/fastgrad. If profiling tools could help "
    "with it, a one-line reply is enough.\n\nSarah",
    "facts_used": [{"name": "recent_project", "value": "alice/fastgrad", "source": "signal:ml_contributor repo:alice/fastgrad"}],
}
INVENTED = GOOD_FOLLOW_UP | {"body": "Hi Alice,\n\nFollowing up: congrats on the 5000 stars of alice/megaproject!\n\nSarah"}


def drafted(**fields: Any) -> Prospect:
    prospect = alice(**fields)
    return prospect.model_copy(update={"message": draft_from_template(prospect, CAMPAIGN, "A", SETTINGS)})


def words_above_footer(body: str) -> int:
    return len(first_body_text(body).split())


def first_body_text(body: str) -> str:
    return body.split("\n\n--\n", 1)[0]


def test_template_follow_ups_are_short_grounded_and_carry_the_footer() -> None:
    prospect = drafted()
    first, last = template_follow_ups(prospect, [3, 7], SENDER)
    assert (first.step, first.day, first.delay_days, last.step, last.day, last.delay_days) == (2, 3, 3, 3, 7, 4)
    for follow_up in (first, last):
        message = follow_up.message
        assert message.subject == prospect.message.subject  # type: ignore[union-attr]
        assert message.written_by == "template" and message.template == "follow_up"
        assert POSTAL in message.body and OPT_OUT in message.body and "commercial message" in message.body
        assert message.headers == prospect.message.headers  # type: ignore[union-attr]
        assert words_above_footer(message.body) <= MAX_FOLLOW_UP_WORDS < words_above_footer(prospect.message.body)  # type: ignore[union-attr]
        assert message.body.startswith("Hi Alice,")
        assert [(f.name, f.value) for f in message.facts_used] == [("first_name", "Alice"), ("recent_project", "alice/fastgrad")]
    assert "my earlier note about alice/fastgrad" in first.message.body
    assert "One last note from me about alice/fastgrad" in last.message.body and "I will not write" in last.message.body
    stripped = without_footer(first.message)
    assert stripped.startswith("Hi Alice,") and "alice/fastgrad" in stripped, "the text above the footer stays"
    assert POSTAL not in stripped and OPT_OUT not in stripped and "commercial message" not in stripped, "the footer goes"


def test_without_evidence_a_follow_up_says_nothing_specific() -> None:
    bare = drafted(name=None, signals=[], company=None)
    (follow_up,) = template_follow_ups(bare, [5], SENDER)
    assert follow_up.message.body.startswith("Hi there,") and "your open-source work" in follow_up.message.body
    assert follow_up.message.facts_used == []


def test_sequence_days_come_from_the_campaign_else_the_setting() -> None:
    assert sequence_days(CAMPAIGN, SETTINGS) == [3, 7]
    assert sequence_days(CAMPAIGN, SETTINGS.model_copy(update={"cmo_follow_up_days": ""})) == []
    own = Campaign(campaign_settings=CampaignSettings(follow_up_days=[2, 5, 12]))
    assert sequence_days(own, SETTINGS) == [2, 5, 12]
    assert sequence_days(Campaign(campaign_settings=CampaignSettings(follow_up_days=[])), SETTINGS) == []
    with pytest.raises(ValidationError, match="strictly increasing"):
        CampaignSettings(follow_up_days=[7, 3])
    with pytest.raises(ValidationError):
        CampaignSettings(follow_up_days=[0])
    with pytest.raises(ValidationError, match="CMO_FOLLOW_UP_DAYS"):
        Settings(_env_file=None, cmo_follow_up_days="3,3")
    assert Settings(_env_file=None, cmo_follow_up_days=" 2, 9 ").follow_up_days == [2, 9]


def test_node_without_llm_drafts_follow_ups_for_prospects_with_an_address() -> None:
    prospects = [alice(), alice(id="gh_bob", username="bob", email=None)]
    final, events = run_node(copywriter, {"campaign": CAMPAIGN, "prospects": prospects})
    alice_after, bob_after = final["prospects"]
    assert [fu.step for fu in alice_after.follow_ups] == [2, 3] and bob_after.follow_ups == []
    assert all(fu.message.written_by == "template" for fu in alice_after.follow_ups)
    (summary,) = [e["data"]["text"] for e in events if e["event"] == "agent.reasoning"]
    assert "2 follow-up(s) on days 3, 7 for 1 prospects with an address (template path)" in summary
    none = CAMPAIGN.model_copy(update={"campaign_settings": CampaignSettings(follow_up_days=[])})
    final, _ = run_node(copywriter, {"campaign": none, "prospects": [alice()]})
    assert final["prospects"][0].follow_ups == []
    # the lead files carry the steps, and leads written before sequences existed still load
    dumped = final["prospects"][0].model_dump(mode="json")
    assert dumped["follow_ups"] == [] and Prospect.model_validate({k: v for k, v in dumped.items() if k != "follow_ups"})


def test_llm_follow_ups_are_grounded_in_the_evidence_and_the_first_message() -> None:
    llm = scripted(
        tool_call_message("FollowUpOut", GOOD_FOLLOW_UP),
        tool_call_message("FollowUpOut", INVENTED),
        tool_call_message("FollowUpOut", INVENTED),
        tool_call_message("FollowUpOut", INVENTED),
    )
    prompt = load_prompt(PROMPT, "v1")
    (sequence,), fallbacks = llm_follow_ups(
        ModelGate(llm, CallPolicy(concurrency=1)), [drafted()], [3, 7], SENDER, prompt
    )  # answers in order
    written, fell_back = sequence
    assert written.message.written_by == "llm" and written.message.body.startswith(GOOD_FOLLOW_UP["body"])
    assert POSTAL in written.message.body and OPT_OUT in written.message.body
    assert written.message.subject == drafted().message.subject  # type: ignore[union-attr]
    assert fell_back.message.written_by == "template" and "megaproject" not in fell_back.message.body
    assert fallbacks == {"ungrounded or invalid after 3 attempts": 1}
    system, user = llm.seen[0]
    assert system.content == prompt
    brief = json.loads(user.content)
    assert brief["first_message"]["subject"] == drafted().message.subject  # type: ignore[union-attr]
    assert POSTAL not in brief["first_message"]["body"], "the first message is shown without its footer"
    assert brief["step"] == 2 and brief["last_step"] is False and brief["max_words"] == MAX_FOLLOW_UP_WORDS
    assert "alice@fastgrad.dev" not in user.content
    feedback = llm.seen[2][-1].content
    assert "alice/megaproject" in feedback and "number 5000" in feedback


def test_compliance_reviews_every_follow_up_like_a_first_message() -> None:
    ok = drafted()
    ok = ok.model_copy(update={"follow_ups": template_follow_ups(ok, [3, 7], SENDER)})
    stripped = ok.model_copy(
        update={
            "follow_ups": [
                fu.model_copy(update={"message": fu.message.model_copy(update={"body": without_footer(fu.message)})})
                for fu in ok.follow_ups
            ]
        }
    )
    no_address = drafted(id="gh_bob", username="bob", email=None)
    no_address = no_address.model_copy(update={"follow_ups": template_follow_ups(no_address, [3], SENDER)})
    final, events = run_node(compliance, {"campaign": CAMPAIGN, "prospects": [ok, stripped, no_address]})
    checked, unsigned, rejected = final["prospects"]
    assert [fu.compliance.verdict for fu in checked.follow_ups] == ["approved", "approved"]
    assert all(fu.compliance.lawful_basis for fu in checked.follow_ups)
    assert unsigned.compliance.verdict == "approved"
    for fu in unsigned.follow_ups:
        assert fu.compliance.verdict == "needs_review"
        assert {"missing_postal_address", "missing_unsubscribe", "missing_source_notice"} <= set(codes(fu.compliance))
    assert rejected.follow_ups[0].compliance == rejected.compliance and rejected.compliance.verdict == "rejected"
    summary = next(e for e in events if e["event"] == "agent.reasoning")["data"]["text"]
    assert "follow-ups: 2 approved, 2 need review, 1 rejected" in summary


def test_the_tone_review_reads_follow_ups_too() -> None:
    prospect = drafted()
    prospect = prospect.model_copy(update={"follow_ups": template_follow_ups(prospect, [3], SENDER)})
    llm = scripted(
        tool_call_message("ToneOut", {"verdict": "ok", "reasons": []}), tool_call_message("ToneOut", FLAGGED.model_dump())
    )
    final, _ = run_node(compliance, {"campaign": CAMPAIGN, "prospects": [prospect]}, llm=llm)
    after = final["prospects"][0]
    assert after.compliance.verdict == "approved"
    assert after.follow_ups[0].compliance.verdict == "needs_review"
    assert "tone_review" in after.follow_ups[0].compliance.rules_checked
    assert len(llm.seen) == 2 and "One last note" in llm.seen[1][1].content


def test_next_step_reads_the_outbox_contract() -> None:
    """What stops a sequence: a `replied_at` or `complained_at`, or a status of bounced / replied /
    complained on any step (what `cmo inbox import` writes today, and SES notifications may write)."""
    prospect = drafted()
    steps = [
        fu.model_copy(update={"compliance": ComplianceReview(verdict="approved")})
        for fu in template_follow_ups(prospect, [3], SENDER)
    ]
    approved = prospect.model_copy(update={"follow_ups": steps})
    sent = StepRecord("sent", 0.0, None, None)
    assert next_step(approved, {}, 0.0).kind == "due"
    assert next_step(approved, {1: sent}, 3 * DAY - 1).kind == "waiting"
    due = next_step(approved, {1: sent}, 3 * DAY)
    assert due.kind == "due" and due.step == 2 and due.draft is not None and "last note" in due.draft.message.body  # type: ignore[union-attr]
    assert next_step(approved, {1: sent}, 3 * DAY, follow_ups=False).reason == "finished"
    for record, reason in [
        (StepRecord("sent", 0.0, 1.0, None), "replied"),
        (StepRecord("sent", 0.0, None, 1.0), "complained"),
        (StepRecord("bounced", 0.0, None, None), "bounced"),
        (StepRecord("replied", 0.0, None, None), "replied"),
        (StepRecord("rejected", 0.0, None, None), "rejected"),
    ]:
        assert next_step(approved, {1: record}, 10 * DAY).reason == reason
    assert next_step(approved, {1: StepRecord("pending", 0.0, None, None)}, 10 * DAY).kind == "in_doubt"
    assert next_step(approved, {1: sent, 2: StepRecord("deferred", 1.0, None, None)}, 10 * DAY).step == 2
