"""The compliance rules: each a small named function, so every verdict says which rule fired and why.

Rules come from GitHub's Acceptable Use Policy (§7 no spam from GitHub data, §8 honour do-not-contact
requests), the GDPR (Art. 6(1)(f), Art. 14 notice, Art. 21 objection), ePrivacy/UWG consent states,
CAN-SPAM and CASL (see FIELD-NOTES.md). A rule returns None when it passes, or a `Flag` that either
rejects the prospect (never contactable) or sends the draft to a human (fixable before sending).
Reasons read "<stable code>: <human explanation>", so reports can count codes and people can read them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal
from urllib.parse import urlsplit

from agents.copy_templates import SenderIdentity, sender_identity
from agents.do_not_contact import find_opt_out
from foundation.companies import company_matches
from foundation.regions import CONSENT_REQUIRED_COUNTRIES, EU
from foundation.schemas import Campaign, ComplianceReview, Prospect
from foundation.settings import Settings
from privacy.pii import personal_data_except
from tools.identity import is_bot, is_noreply
from tools.suppression import SuppressionList

FlagVerdict = Literal["rejected", "needs_review"]

EEA = EU | {"NO", "IS", "LI"}
_GDPR_BASIS = "GDPR Art. 6(1)(f) legitimate interest (B2B, published address)"
DEFAULT_BASIS = f"{_GDPR_BASIS}; CAN-SPAM commercial message with opt-out"
_BASIS_BY_COUNTRY = {
    "GB": "UK GDPR Art. 6(1)(f) legitimate interest (B2B, published address); PECR permits B2B email to corporate "
    "subscribers with an opt-out",
    "CH": "Swiss FADP: legitimate interest (B2B, published address) with an opt-out in every message",
    "US": "CAN-SPAM commercial message with opt-out (B2B, published address)",
    "CA": "CASL implied consent: business address conspicuously published, message relevant to the recipient's "
    "role, no statement refusing messages; sender identified and unsubscribe included",
}
_DECEPTIVE_SUBJECT = tuple(
    (re.compile(pattern, re.IGNORECASE), why)
    for pattern, why in (
        (r"^\s*(?:re|fwd?|aw|wg)\s*:", "a reply/forward prefix on a first contact"),
        (r"\burgent\b", "false urgency ('urgent')"),
        (r"\binvoice\b", "looks like a bill ('invoice')"),
        (r"\byour\s+account\b", "impersonates an account notice ('your account')"),
        (r"\bpassword\b", "impersonates a security notice ('password')"),
        (r"\bfinal\s+notice\b", "false urgency ('final notice')"),
        (r"\baction\s+required\b", "false urgency ('action required')"),
        (r"!{2,}", "repeated exclamation marks"),
    )
)
_DOCUMENTATION_DOMAIN = re.compile(r"(^|\.)(example\.(?:com|org|net))$")
_RESERVED_TLD = re.compile(r"\.(invalid|example|test)$")
_LOOPBACK = re.compile(r"(^|\.)localhost$")


@dataclass(frozen=True)
class Flag:
    """A rule's finding: the verdict it forces and a sentence a reviewer can act on."""

    verdict: FlagVerdict
    explanation: str


@dataclass(frozen=True)
class ReviewInput:
    """Everything a rule may look at."""

    prospect: Prospect
    campaign: Campaign
    suppression: SuppressionList
    settings: Settings

    @cached_property
    def sender(self) -> SenderIdentity:
        return sender_identity(self.campaign, self.settings)

    @property
    def body(self) -> str:
        return self.prospect.message.body if self.prospect.message else ""

    @property
    def opt_out_url(self) -> str:
        """The draft's own per-recipient `List-Unsubscribe` link, else the sender's opt-out base."""
        header = self.prospect.message.headers.get("List-Unsubscribe", "") if self.prospect.message else ""
        return header.strip("<>") or self.sender.unsubscribe_base


Rule = Callable[[ReviewInput], Flag | None]
RULES: dict[str, Rule] = {}


def rule(code: str) -> Callable[[Rule], Rule]:
    """Register a rule under its stable reason code (evaluation follows definition order)."""

    def register(function: Rule) -> Rule:
        RULES[code] = function
        return function

    return register


def _reject(explanation: str) -> Flag:
    return Flag("rejected", explanation)


def _review(explanation: str) -> Flag:
    return Flag("needs_review", explanation)


@rule("no_email")
def no_email(r: ReviewInput) -> Flag | None:
    return None if r.prospect.email else _reject("no email address on the public profile")


@rule("no_published_email")
def no_published_email(r: ReviewInput) -> Flag | None:
    if not r.prospect.email or r.prospect.email_source == "profile":
        return None
    if r.prospect.email_source == "commit":
        return _reject("the only address came from commit metadata, not the profile")
    return _reject("the address's source is unknown, so it is not known to be published")


@rule("noreply_email")
def noreply_email(r: ReviewInput) -> Flag | None:
    return _reject(f"{r.prospect.email} is a no-reply address") if is_noreply(r.prospect.email) else None


@rule("bot_account")
def bot_account(r: ReviewInput) -> Flag | None:
    return _reject("the account is a bot") if is_bot(r.prospect.username, r.prospect.account_type) else None


@rule("organization_account")
def organization_account(r: ReviewInput) -> Flag | None:
    if r.prospect.account_type != "Organization":
        return None
    return _reject("the account is an organisation, not a person")


@rule("suppressed")
def suppressed(r: ReviewInput) -> Flag | None:
    p = r.prospect
    logins = [p.username, *p.merged_logins]
    if any(r.suppression.contains(github_id=p.github_id, login=login, email=p.email) for login in logins):
        return _reject("on the suppression list (opt-out or do-not-contact request)")
    return None


@rule("bio_do_not_contact")
def bio_do_not_contact(r: ReviewInput) -> Flag | None:
    """GitHub AUP §8: a bio that refuses contact (recruiters, sales, cold email, ...) in any wording we read."""
    found = find_opt_out(r.prospect.bio)
    return _reject(f'the bio asks not to be contacted ("{found.evidence}")') if found else None


@rule("excluded_company")
def excluded_company(r: ReviewInput) -> Flag | None:
    excluded = r.campaign.target_audience.exclude_companies
    if excluded and company_matches(r.prospect.company, excluded):
        return _reject(f"company {r.prospect.company!r} is excluded by the campaign")
    return None


@rule("contact_not_allowed")
def contact_not_allowed(r: ReviewInput) -> Flag | None:
    return None if r.prospect.privacy_settings.contact_allowed else _reject("privacy settings forbid contact")


@rule("consent_required")
def consent_required(r: ReviewInput) -> Flag | None:
    country = r.prospect.country
    if country not in CONSENT_REQUIRED_COUNTRIES:
        return None
    why = f"{country} requires prior consent for marketing email even to business addresses"
    if r.campaign.campaign_settings.compliance_level == "strict":
        return _reject(f"consent required; legitimate interest not sufficient ({why})")
    return _review(f"consent required: {why}; confirm consent before sending")


@rule("no_message")
def no_message(r: ReviewInput) -> Flag | None:
    return None if r.prospect.message else _review("no draft to review")


@rule("missing_postal_address")
def missing_postal_address(r: ReviewInput) -> Flag | None:
    address = r.sender.postal_address
    if not address:
        return _review("no sender postal address (CAN-SPAM); set CMO_SENDER_POSTAL_ADDRESS or a sender profile's")
    if r.prospect.message and address not in r.body:
        return _review("the body does not contain the sender's postal address")
    return None


@rule("missing_unsubscribe")
def missing_unsubscribe(r: ReviewInput) -> Flag | None:
    base = r.opt_out_url
    if r.prospect.message and base.split("?")[0] not in r.body:
        return _review(f"the body has no opt-out link ({base})")
    return None


def placeholder_reason(url: str) -> str | None:
    """Why a link cannot reach anyone (None: it can): no host, or a reserved one (example.com,
    *.invalid, *.test, *.example, localhost). The rule below and the service's sender settings both
    ask, and both say why, so whoever set the link learns the rule and not just "placeholder"."""
    host = (urlsplit(url).hostname or "").lower()
    if not host:
        return "the link has no host"
    if (domain := _DOCUMENTATION_DOMAIN.search(host)) is not None:
        return f"{domain.group(2)} is reserved for documentation (RFC 2606) and reaches no one"
    if (tld := _RESERVED_TLD.search(host)) is not None:
        return f".{tld.group(1)} is a top-level domain reserved by RFC 2606 that never resolves on the internet"
    if _LOOPBACK.search(host):
        return f"{host} is the sender's own machine (RFC 6761), which no recipient can reach"
    return None


@rule("placeholder_unsubscribe_url")
def placeholder_unsubscribe_url(r: ReviewInput) -> Flag | None:
    if (reason := placeholder_reason(r.opt_out_url)) is None:
        return None
    return _review(
        f"the opt-out link {r.opt_out_url} cannot work: {reason}; set CMO_UNSUBSCRIBE_URL to an opt-out page on your own domain"
    )


@rule("missing_ad_identification")
def missing_ad_identification(r: ReviewInput) -> Flag | None:
    """CAN-SPAM: a commercial message must identify itself as one (clearly, not deceptively)."""
    if not r.prospect.message or re.search(r"\b(?:commercial|promotional|marketing)\s+message\b", r.body, re.IGNORECASE):
        return None
    return _review("the message does not identify itself as a commercial message (CAN-SPAM)")


@rule("missing_source_notice")
def missing_source_notice(r: ReviewInput) -> Flag | None:
    if not r.prospect.message:
        return None
    text = r.body.lower()
    parts = {
        f"the source (github.com/{r.prospect.username})": f"github.com/{r.prospect.username}".lower() in text,
        "the legal basis (legitimate interest)": "legitimate interest" in text,
        "how long data is kept": re.search(r"\b(?:keep|retain|store)\w*\b[^.]*\bdays?\b", text) is not None,
        "the recipient's rights": "right to" in text,
    }
    missing = [name for name, present in parts.items() if not present]
    return _review(f"the GDPR Art. 14 notice lacks {', '.join(missing)}") if missing else None


@rule("deceptive_subject")
def deceptive_subject(r: ReviewInput) -> Flag | None:
    if not r.prospect.message:
        return None
    subject = r.prospect.message.subject
    problems = [why for pattern, why in _DECEPTIVE_SUBJECT if pattern.search(subject)]
    letters = [c for c in subject if c.isalpha()]
    if len(letters) >= 6 and all(c.isupper() for c in letters):
        problems.append("an all-caps subject")
    return _review(f"subject {subject!r} is misleading: {'; '.join(problems)}") if problems else None


@rule("third_party_personal_data")
def third_party_personal_data(r: ReviewInput) -> Flag | None:
    """A draft may carry the sender's published contact data and the recipient's own, nobody else's."""
    p, profiles = r.prospect, r.campaign.messaging.sender_profiles
    if not p.message:
        return None
    own = [r.sender.postal_address, r.sender.unsubscribe_base, r.settings.cmo_sender_email, r.settings.cmo_sender_phone]
    own += [value for profile in profiles for value in (profile.email, profile.postal_address)]
    own += [p.email, p.bio, p.location, p.website, *p.social_links.values()]
    leaks = personal_data_except(f"{p.message.subject}\n{r.body}", own)
    kinds = ", ".join(sorted({finding.kind for finding in leaks}))
    return _review(f"the draft contains someone else's personal data ({kinds}); remove it") if leaks else None


def lawful_basis(country: str | None) -> str:
    """The basis we rely on for this recipient's jurisdiction (both GDPR and CAN-SPAM when unknown)."""
    if country in EEA:
        return f"{_GDPR_BASIS}; Art. 14 notice and Art. 21 opt-out included"
    if country is None:
        return DEFAULT_BASIS
    return _BASIS_BY_COUNTRY.get(country, f"{DEFAULT_BASIS}; check local rules for {country}")


def review_prospect(
    prospect: Prospect, campaign: Campaign, suppression: SuppressionList, settings: Settings, codes: Iterable[str] | None = None
) -> ComplianceReview:
    """Run every rule (or those of `codes`); any rejection rejects, else any flag needs review, else approved."""
    subject = ReviewInput(prospect, campaign, suppression, settings)
    checked = list(RULES) if codes is None else list(codes)
    flags = [(code, flag) for code in checked if (flag := RULES[code](subject)) is not None]
    verdicts = {flag.verdict for _, flag in flags}
    verdict = "rejected" if "rejected" in verdicts else "needs_review" if verdicts else "approved"
    return ComplianceReview(
        verdict=verdict,
        reasons=[f"{code}: {flag.explanation}" for code, flag in flags],
        lawful_basis=None if verdict == "rejected" else lawful_basis(prospect.country),
        rules_checked=checked,
    )
