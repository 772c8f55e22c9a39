"""Compliance: every rule fires on its failing case and stays quiet on a passing one; the model review can
only add caution (needs_review) or a do-not-contact rejection, never lift one."""

from __future__ import annotations

from typing import Any

import pytest

from agents.compliance import DO_NOT_CONTACT, RULES, ToneOut, apply_tone_review, compliance, review_prospect
from agents.compliance_rules import DEFAULT_BASIS, lawful_basis
from agents.copywriter import draft_from_template
from foundation.schemas import Campaign, ComplianceReview, Message, PrivacySettings, TargetAudience
from foundation.settings import Settings
from tests.support.fake_llm import scripted, tool_call_message
from tests.unit.test_copywriter import CAMPAIGN, POSTAL, SETTINGS, alice, run_node
from tools.geo import normalize_location
from tools.suppression import SuppressionList

EXCLUDING = CAMPAIGN.model_copy(update={"target_audience": TargetAudience(exclude_companies=["Google", "Meta"])})
STANDARD = CAMPAIGN.model_copy(
    update={"campaign_settings": CAMPAIGN.campaign_settings.model_copy(update={"compliance_level": "standard"})}
)
OPT_OUT = "https://optout.techflow.io/u"
NO_POSTAL = SETTINGS.model_copy(update={"cmo_sender_postal_address": None})
PLACEHOLDER_OPT_OUT = SETTINGS.model_copy(update={"cmo_unsubscribe_url": "https://example.invalid/unsubscribe"})
SUPPRESSED = SuppressionList(
    github_ids=frozenset({1001}),
    logins=frozenset({"bob"}),
    emails=frozenset({"carol@x.io"}),
    domains=frozenset({"corp.io"}),
)


def review(
    *,
    settings: Settings = SETTINGS,
    campaign: Campaign = EXCLUDING,
    suppression: SuppressionList | None = None,
    **fields: Any,
) -> ComplianceReview:
    """Review `alice(**fields)` with a template draft (unless `message` is given)."""
    prospect = alice(**fields)
    if "message" not in fields:
        prospect = prospect.model_copy(update={"message": draft_from_template(prospect, campaign, "A", settings)})
    return review_prospect(prospect, campaign, suppression or SuppressionList.empty(), settings)


def codes(result: ComplianceReview) -> list[str]:
    return [reason.split(":", 1)[0] for reason in result.reasons]


def message(subject: str = "Your work on alice/fastgrad", body: str | None = None) -> Message:
    """A draft whose subject or body a test controls; the default body is a real template body."""
    full = draft_from_template(alice(), CAMPAIGN, "A", SETTINGS)
    return full.model_copy(update={"subject": subject, "body": full.body if body is None else body})


def test_a_clean_prospect_is_approved_with_every_rule_checked() -> None:
    result = review()
    assert result.verdict == "approved", result.reasons
    assert result.reasons == []
    assert result.rules_checked == list(RULES)
    assert result.lawful_basis == "CAN-SPAM commercial message with opt-out (B2B, published address)"


REJECTIONS: list[tuple[str, dict[str, Any]]] = [
    ("no_email", {"email": None, "email_source": None}),
    ("no_published_email", {"email_source": "commit"}),
    ("no_published_email", {"email_source": None}),
    ("noreply_email", {"email": "1001+alice@users.noreply.github.com"}),
    ("noreply_email", {"email": "noreply@fastgrad.dev"}),
    ("noreply_email", {"email": "no-reply@fastgrad.dev"}),
    ("bot_account", {"username": "fastgrad-ci[bot]"}),
    ("bot_account", {"account_type": "Bot"}),
    ("organization_account", {"account_type": "Organization"}),
    ("suppressed", {"suppression": SUPPRESSED}),
    ("suppressed", {"suppression": SUPPRESSED, "github_id": 7, "username": "BOB"}),
    ("suppressed", {"suppression": SUPPRESSED, "github_id": 7, "email": "Carol@X.io"}),
    ("suppressed", {"suppression": SUPPRESSED, "github_id": 7, "email": "dev@eu.corp.io"}),
    ("suppressed", {"suppression": SUPPRESSED, "github_id": 7, "merged_logins": ["bob"]}),
    ("bio_do_not_contact", {"bio": "ML infra. No recruiters please."}),
    ("bio_do_not_contact", {"bio": "please don't email me about products"}),
    ("bio_do_not_contact", {"bio": "Please dont email"}),
    ("bio_do_not_contact", {"bio": "Don\u2019t contact me"}),
    ("bio_do_not_contact", {"bio": "DO NOT CONTACT"}),
    ("bio_do_not_contact", {"bio": "no cold emails"}),
    ("bio_do_not_contact", {"bio": "No sales. Just code."}),
    ("bio_do_not_contact", {"bio": "DMs closed"}),
    # issue 10: an opt-out aimed at job offers and sales, phrased as "ignored", was approved
    ("bio_do_not_contact", {"bio": "Job offers and sales pitches will be ignored."}),
    ("bio_do_not_contact", {"bio": "Recruiter messages go straight to /dev/null"}),
    ("bio_do_not_contact", {"bio": "Keine Anfragen von Recruitern"}),
    ("excluded_company", {"company": "@google"}),
    ("excluded_company", {"company": "Meta"}),
    ("excluded_company", {"company": "Google Inc."}),
    ("contact_not_allowed", {"privacy_settings": PrivacySettings(contact_allowed=False)}),
    ("consent_required", {"country": "DE"}),
]


@pytest.mark.parametrize(("code", "fields"), REJECTIONS)
def test_rejection_rules(code: str, fields: dict[str, Any]) -> None:
    result = review(**fields)
    assert result.verdict == "rejected"
    assert code in codes(result), result.reasons
    assert result.lawful_basis is None


def test_reasons_carry_code_and_explanation() -> None:
    result = review(email_source="commit")
    assert result.reasons == ["no_published_email: the only address came from commit metadata, not the profile"]
    assert "consent required; legitimate interest not sufficient" in review(country="DE").reasons[0]


REVIEWS: list[tuple[str, dict[str, Any]]] = [
    ("no_message", {"message": None}),
    ("missing_postal_address", {"settings": NO_POSTAL}),
    ("missing_postal_address", {"message": message(body=message().body.replace(POSTAL, ""))}),
    ("missing_unsubscribe", {"message": message(body=message().body.split("To opt out")[0])}),
    ("placeholder_unsubscribe_url", {"settings": PLACEHOLDER_OPT_OUT}),
    ("missing_source_notice", {"message": message(body=message().body.split("Why you are")[0] + OPT_OUT)}),
    ("deceptive_subject", {"message": message("Re: your fastgrad PR")}),
    ("deceptive_subject", {"message": message("FWD: hello")}),
    ("deceptive_subject", {"message": message("Urgent question about alice/fastgrad")}),
    ("deceptive_subject", {"message": message("Your invoice from TechFlow")}),
    ("deceptive_subject", {"message": message("About your account")}),
    ("deceptive_subject", {"message": message("Password reset for fastgrad")}),
    ("deceptive_subject", {"message": message("Final notice: fastgrad")}),
    ("deceptive_subject", {"message": message("Quick question!!!")}),
    ("deceptive_subject", {"message": message("A GREAT FIT FOR YOU")}),
    ("consent_required", {"country": "AT", "campaign": STANDARD}),
]


@pytest.mark.parametrize(("code", "fields"), REVIEWS)
def test_needs_review_rules(code: str, fields: dict[str, Any]) -> None:
    result = review(**fields)
    assert result.verdict == "needs_review"
    assert code in codes(result), result.reasons


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "reply@fastgrad.dev"},
        {"username": "robot-arm"},
        {"bio": "Don't panic. I build recruiting software and sales dashboards."},
        {"company": "Fastgrad Labs"},
        {"country": "FR"},
        {"suppression": SUPPRESSED, "github_id": 7, "email": "dev@notcorp.io"},
        {"message": message("Re-thinking autodiff in alice/fastgrad")},
        {"message": message("CUDA kernels in alice/fastgrad")},
    ],
)
def test_near_misses_pass_every_rule(fields: dict[str, Any]) -> None:
    result = review(**fields)
    assert result.verdict == "approved", result.reasons


@pytest.mark.parametrize(
    ("country", "expected"),
    [
        ("FR", "GDPR Art. 6(1)(f) legitimate interest"),
        ("NO", "GDPR Art. 6(1)(f) legitimate interest"),
        ("GB", "UK GDPR"),
        ("CA", "CASL implied consent"),
        ("US", "CAN-SPAM"),
        (None, DEFAULT_BASIS),
        ("JP", "check local rules for JP"),
    ],
)
def test_lawful_basis_names_the_applicable_law(country: str | None, expected: str) -> None:
    result = review(country=country)
    assert result.verdict == "approved"
    assert expected in (result.lawful_basis or "")


# --- tone review -----------------------------------------------------------------------------

FLAGGED = ToneOut(verdict="needs_review", reasons=["opens with false familiarity"])


def test_tone_review_can_downgrade_approved() -> None:
    result = apply_tone_review(review(), FLAGGED)
    assert result.verdict == "needs_review"
    assert result.reasons == ["tone_review: opens with false familiarity"]
    assert result.rules_checked[-1] == "tone_review"


@pytest.mark.parametrize("fields", [{"email": None}, {"message": None}])
def test_tone_review_never_upgrades(fields: dict[str, Any]) -> None:
    flagged_by_rules = review(**fields)
    assert apply_tone_review(flagged_by_rules, ToneOut(verdict="ok")).verdict == flagged_by_rules.verdict
    assert apply_tone_review(flagged_by_rules, FLAGGED).reasons == flagged_by_rules.reasons


OPTED_OUT = ToneOut(verdict="ok", bio_opt_out=True, opt_out_quote="my inbox is not a sales channel")


def test_the_models_opt_out_shares_the_rules_reason_code() -> None:
    assert DO_NOT_CONTACT in RULES


@pytest.mark.parametrize("fields", [{}, {"country": "AT", "campaign": STANDARD}])
def test_model_opt_out_adds_a_rejection(fields: dict[str, Any]) -> None:
    """Approved or needs_review, a bio the model reads as an opt-out rejects the prospect."""
    before = review(bio="My inbox is not a sales channel.", **fields)
    assert before.verdict in ("approved", "needs_review"), before.reasons  # the rules miss this one
    result = apply_tone_review(before, OPTED_OUT)
    assert result.verdict == "rejected" and result.lawful_basis is None
    assert result.reasons == [
        *before.reasons,
        'bio_do_not_contact: the model reads the bio as asking not to be contacted ("my inbox is not a sales channel")',
    ]


@pytest.mark.parametrize("tone", [ToneOut(verdict="ok"), FLAGGED, ToneOut(verdict="ok", bio_opt_out=False)])
def test_model_never_lifts_a_rules_opt_out(tone: ToneOut) -> None:
    rejected = review(bio="Job offers and sales pitches will be ignored.")
    assert rejected.verdict == "rejected" and "bio_do_not_contact" in codes(rejected)
    result = apply_tone_review(rejected, tone)
    assert (result.verdict, result.reasons, result.lawful_basis) == ("rejected", rejected.reasons, None)


def drafted(**fields: Any) -> Any:
    prospect = alice(**fields)
    return prospect.model_copy(update={"message": draft_from_template(prospect, CAMPAIGN, "A", SETTINGS)})


def test_node_without_llm_reviews_everyone_and_skips_tone() -> None:
    prospects = [drafted(), drafted(id="gh_bob", username="bob", email=None)]
    final, events = run_node(compliance, {"campaign": CAMPAIGN, "prospects": prospects})
    assert [p.compliance.verdict for p in final["prospects"]] == ["approved", "rejected"]
    reviewed = [e["data"] for e in events if e["event"] == "compliance.reviewed"]
    bob = final["prospects"][1]
    assert reviewed[1] == {"prospect_id": "gh_bob", "verdict": "rejected", "reasons": bob.compliance.reasons}
    (summary,) = [e["data"]["text"] for e in events if e["event"] == "agent.reasoning"]
    assert "1 approved" in summary and "1 rejected" in summary and "tone review skipped: no LLM" in summary


def test_node_with_llm_sends_only_approved_drafts_to_tone_review() -> None:
    llm = scripted(tool_call_message("ToneOut", FLAGGED.model_dump()))
    prospects = [drafted(), drafted(id="gh_bob", username="bob", email=None)]
    final, events = run_node(compliance, {"campaign": CAMPAIGN, "prospects": prospects}, llm=llm)
    assert [p.compliance.verdict for p in final["prospects"]] == ["needs_review", "rejected"]
    assert len(llm.seen) == 1 and "gh_alice" in llm.seen[0][1].content
    assert "moved 1 of 1 approved" in next(e for e in events if e["event"] == "agent.reasoning")["data"]["text"]


def test_node_with_llm_rejects_what_the_model_reads_as_an_opt_out() -> None:
    """The rules reject one bio without asking the model; the model rejects the paraphrase they missed."""
    llm = scripted(tool_call_message("ToneOut", OPTED_OUT.model_dump()))
    prospects = [
        drafted(bio="My inbox is not a sales channel."),
        drafted(id="gh_bob", username="bob", bio="Job offers and sales pitches will be ignored."),
    ]
    final, events = run_node(compliance, {"campaign": CAMPAIGN, "prospects": prospects}, llm=llm)
    reviews = [p.compliance for p in final["prospects"]]
    assert [r.verdict for r in reviews] == ["rejected", "rejected"]
    assert [codes(r) for r in reviews] == [["bio_do_not_contact"], ["bio_do_not_contact"]]
    assert "the model reads the bio" in reviews[0].reasons[0] and "ignored" in reviews[1].reasons[0]
    assert len(llm.seen) == 1 and "inbox is not a sales channel" in llm.seen[0][1].content
    summary = next(e for e in events if e["event"] == "agent.reasoning")["data"]["text"]
    assert "rejected 1 whose bio asks not to be contacted" in summary


def test_unusable_tone_answer_fails_closed() -> None:
    final, _ = run_node(compliance, {"campaign": CAMPAIGN, "prospects": [drafted()]}, llm=scripted("looks fine to me"))
    result = final["prospects"][0].compliance
    assert result.verdict == "needs_review"
    assert result.reasons == ["tone_review: the tone review could not be completed"]


@pytest.mark.parametrize(
    "bio",
    [
        "Please do not send me marketing emails.",
        "No cold-emails.",
        "Please don't reach out with sales pitches.",
        "I do not want to be contacted by vendors",
        "No vendor pitches please",
        "Not interested in vendor emails",
        "Recruiters: please don't",
    ],
)
def test_more_do_not_contact_phrasings_reject(bio: str) -> None:
    result = review(bio=bio)
    assert result.verdict == "rejected"
    assert "bio_do_not_contact" in codes(result)


def test_message_must_identify_itself_as_commercial() -> None:
    assert "missing_ad_identification" not in codes(review())
    unmarked = message(body=message().body.replace("This is a commercial message", "This is a note"))
    result = review(message=unmarked)
    assert result.verdict == "needs_review"
    assert "missing_ad_identification" in codes(result)


@pytest.mark.parametrize(
    ("location", "consent"),
    [
        ("Paris, TX", False),
        ("Berlin, NH", False),
        ("Rome, GA", False),
        ("Hamburg, NY", False),
        ("DE", False),  # Germany or Delaware: unknown, so no country rule applies
        ("Berlin", True),
        ("Berlin, DE", True),
        ("Rome", True),
    ],
)
def test_the_consent_rule_follows_the_location_reading(location: str, consent: bool) -> None:
    """ "Paris, TX" is not in the EU: a US town named like a European city gets no EU consent rule."""
    place = normalize_location(location)
    result = review(country=place.country, location=location)
    assert ("consent_required" in codes(result)) is consent
    assert ("Art. 14 notice and Art. 21 opt-out included" in lawful_basis(place.country)) is (place.region == "EU")
