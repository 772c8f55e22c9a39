"""SPEC's per-prospect `privacy_settings`: `contact_allowed=false` can never end in an approved
message, whatever else is true of the prospect and whatever a tone review says, and
`data_retention_days` is what the draft's GDPR Art. 14 notice promises. (That an objection sets
`contact_allowed=false` on stored prospects, and that stored prospects carry `CMO_RETENTION_DAYS`,
is shown in tests/integration/test_api_unsubscribe.py.)"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agents.compliance import ToneOut, apply_tone_review, review_prospect
from agents.copywriter import draft_from_template
from foundation.schemas import Prospect
from foundation.schemas.prospect import PrivacySettings
from tests.unit.test_copywriter import CAMPAIGN, SETTINGS, alice
from tools.suppression import SuppressionList


def reviewed(prospect: Prospect) -> Prospect:
    draft = draft_from_template(prospect, CAMPAIGN, "A", SETTINGS)
    prospect = prospect.model_copy(update={"message": draft})
    return prospect.model_copy(update={"compliance": review_prospect(prospect, CAMPAIGN, SuppressionList.empty(), SETTINGS)})


def test_the_same_prospect_is_approved_while_contact_is_allowed() -> None:
    assert reviewed(alice()).compliance.verdict == "approved"  # type: ignore[union-attr]


@pytest.mark.parametrize("email_visible", [True, False])
@pytest.mark.parametrize("retention", [1, 30, 365, 3650])
def test_contact_not_allowed_is_always_rejected_with_a_clear_reason(email_visible: bool, retention: int) -> None:
    settings = PrivacySettings(email_visible=email_visible, contact_allowed=False, data_retention_days=retention)
    review = reviewed(alice(privacy_settings=settings)).compliance
    assert review is not None and review.verdict == "rejected"
    assert review.reasons == ["contact_not_allowed: privacy settings forbid contact"]
    assert review.lawful_basis is None, "no basis is claimed for a message that must not be sent"


def test_a_tone_review_cannot_approve_it() -> None:
    review = reviewed(alice(privacy_settings=PrivacySettings(contact_allowed=False))).compliance
    assert review is not None
    assert apply_tone_review(review, ToneOut(verdict="ok")).verdict == "rejected"


def test_the_notice_promises_the_prospects_own_retention() -> None:
    draft = draft_from_template(alice(privacy_settings=PrivacySettings(data_retention_days=30)), CAMPAIGN, "A", SETTINGS)
    assert "We keep this data for at most 30 days, or until you object." in draft.body


def test_retention_is_at_least_a_day_and_contact_is_allowed_by_default() -> None:
    assert PrivacySettings().contact_allowed is True
    with pytest.raises(ValidationError):
        PrivacySettings(data_retention_days=0)
