"""The data contract: SPEC.md's Prospect and Campaign schemas plus the planner's plan."""

from foundation.schemas.campaign import (
    Analytics,
    Campaign,
    CampaignSettings,
    MessageTemplate,
    Messaging,
    SenderProfile,
    TargetAudience,
)
from foundation.schemas.plan import SearchPlan, SearchQuery
from foundation.schemas.prospect import (
    ComplianceReview,
    DeveloperProfile,
    EngagementEvent,
    Evidence,
    Fact,
    FollowUp,
    Message,
    PrivacySettings,
    Prospect,
    Provenance,
    Signal,
)

__all__ = [
    "Analytics",
    "Campaign",
    "CampaignSettings",
    "ComplianceReview",
    "DeveloperProfile",
    "EngagementEvent",
    "Evidence",
    "Fact",
    "FollowUp",
    "Message",
    "MessageTemplate",
    "Messaging",
    "PrivacySettings",
    "Prospect",
    "Provenance",
    "SearchPlan",
    "SearchQuery",
    "SenderProfile",
    "Signal",
    "TargetAudience",
]
