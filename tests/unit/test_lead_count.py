"""How many leads a run keeps: one rule (`lead_count`), used by the planner, the `job.created`
webhook and the chat, so what they announce is what the run does.

Before the rule had one home each caller wrote its own chain, and they differed: the planner and
the webhook fell back to the campaign's `campaign_settings.max_prospects`, the chat's "top N" (its
reply and the "top 50 → top 20" change it reports) skipped the campaign.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from langgraph.runtime import Runtime

from agents.context import Context
from agents.planner import planner
from api.services.chat_intents import Thread, apply, lead_target, parse_intent
from foundation.limits import DEFAULT_MAX_PROSPECTS
from foundation.schemas import Campaign, CampaignSettings
from foundation.schemas.plan import lead_count
from foundation.settings import Settings

SETS_40 = Campaign(campaign_settings=CampaignSettings(max_prospects=40))


@pytest.mark.parametrize(
    ("requested", "goal", "campaign", "expected"),
    [
        (10, 30, SETS_40, 10),  # the run's own number beats everything
        (None, 30, SETS_40, 30),  # the goal's number beats the campaign's
        (None, None, SETS_40, 40),  # the campaign's, when it sets one
        (None, None, Campaign(), DEFAULT_MAX_PROSPECTS),  # a campaign's default is not a choice
        (None, None, Campaign(campaign_settings=CampaignSettings(channels=["github"])), DEFAULT_MAX_PROSPECTS),
        (None, None, None, DEFAULT_MAX_PROSPECTS),
        (None, 30, None, 30),
        (7, None, None, 7),
    ],
)
def test_requested_then_goal_then_campaign_then_default(
    requested: int | None, goal: int | None, campaign: Campaign | None, expected: int
) -> None:
    assert lead_count(requested, goal, campaign) == expected


def test_a_stored_campaign_keeps_telling_a_choice_from_a_default() -> None:
    """The service stores a job's campaign without its unset fields (`exclude_unset`); read back,
    the webhook's count must see the same explicit setting the planner sees."""
    stored = SETS_40.model_dump(mode="json", exclude_unset=True)
    assert lead_count(None, None, Campaign.model_validate(stored)) == 40
    assert lead_count(None, None, Campaign.model_validate(Campaign().model_dump(mode="json", exclude_unset=True))) == 50


def _planned(goal: str, requested: int | None, campaign: Campaign) -> int:
    context = Context(settings=Settings(), github=None, suppression=None, now=datetime(2026, 1, 5, 12, tzinfo=UTC))  # type: ignore[arg-type]
    state = {"goal": goal, "campaign": campaign, "max_prospects": requested}
    return planner(state, Runtime(context=context))["plan"].max_prospects  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("goal", "requested"),
    [
        ("Find Python maintainers active in ML", None),
        ("Find 30 Rust maintainers in Germany", None),
        ("top 200 Go developers", None),
        ("Find 30 Rust maintainers in Germany", 12),
        ("Find a dozen Kubernetes contributors", None),
    ],
)
def test_the_chat_announces_what_the_planner_keeps(goal: str, requested: int | None) -> None:
    thread = Thread(goal=goal, max_prospects=requested)
    assert lead_target(thread) == _planned(goal, requested, Campaign())


def test_the_planner_lets_the_goal_beat_the_campaign() -> None:
    assert _planned("Find 30 Rust maintainers", None, SETS_40) == 30
    assert _planned("Find Rust maintainers", None, SETS_40) == 40
    assert _planned("Find 30 Rust maintainers", 5, SETS_40) == 5


def test_a_chat_refinement_reports_the_change_from_the_count_in_force() -> None:
    thread = Thread(goal="Find 30 Rust maintainers")
    intent = parse_intent("top 20", has_goal=True)
    assert intent is not None
    refined, changes = apply(thread, intent)
    assert (refined.max_prospects, changes) == (20, ["top 30 → top 20"])
    assert apply(refined, intent) == (refined, []), "asking again for the count in force changes nothing"
