"""Field mapping: which Prospect facts leave the system, under which vendor field names.

A destination's mapping is a small declarative file (or the `mapping:` block of its config): `fields`
names the platform's standard fields, `custom` its custom properties, each set to one of the
`MappingSource` values below. Only what it names is sent; a Prospect field the mapping does not name
never reaches the vendor (GDPR Art. 5(1)(c), data minimisation). `cmo schema mapping` prints its
JSON Schema. Connectors publish a `DEFAULT_MAPPING` in their module for when the config names none.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from foundation.profile_text import full_name, written_company
from foundation.schemas import Prospect
from tools.destinations.base import DestinationContact, FieldValue

MappingSource = Literal[
    "name",
    "first_name",
    "last_name",
    "email",
    "company",
    "location",
    "country",
    "github_login",
    "github_url",
    "score",
    "signals",
    "evidence_summary",
    "lawful_basis",
    "verdict",
    "source",
]
SOURCE = "cmo-agent (public GitHub activity)"
EVIDENCE_SUMMARY_CHARS = 500


class FieldMapping(BaseModel):
    """Vendor field name -> the Prospect fact it carries. Vendor names are the platform's own
    (HubSpot `firstname`, Salesforce `LastName`, Pipedrive `name`...)."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, MappingSource] = Field(default_factory=dict, description="the platform's standard fields")
    custom: dict[str, MappingSource] = Field(
        default_factory=dict, description="custom properties (created by you in the platform)"
    )

    def sends(self, source: MappingSource) -> bool:
        return source in self.fields.values() or source in self.custom.values()


def github_url(prospect: Prospect) -> str:
    return f"https://github.com/{prospect.username}"


def _split_name(name: str | None, login: str) -> tuple[str, str]:
    """CRMs want a last name (Salesforce requires one): a single word is the last name, the login stands in for none."""
    words = (name or "").split()
    if not words:
        return "", login
    if len(words) == 1:
        return "", words[0]
    return " ".join(words[:-1]), words[-1]


def _evidence_summary(prospect: Prospect) -> str:
    """The score's one-line explanation, else the signals and their first evidence; bounded."""
    if prospect.score_explanation:
        return prospect.score_explanation[:EVIDENCE_SUMMARY_CHARS]
    parts = []
    for signal in prospect.signals:
        first = signal.evidence[0] if signal.evidence else None
        where = f" ({first.kind} {first.repo or ''} {first.count or ''})".replace("  ", " ") if first else ""
        parts.append(f"{signal.name}{where}")
    return "; ".join(parts)[:EVIDENCE_SUMMARY_CHARS]


def source_value(prospect: Prospect, source: MappingSource) -> FieldValue:
    # GitHub's name and company are hostile input: they end up in the vendor's merge fields, and so in
    # emails sent under the user's name; only what a draft could quote is sent (else the login / nothing)
    name = full_name(prospect.name)
    first, last = _split_name(name, prospect.username)
    values: dict[str, FieldValue] = {
        "name": name or prospect.username,
        "first_name": first or None,
        "last_name": last,
        "email": prospect.email,
        "company": written_company(prospect.company),
        "location": prospect.location,
        "country": prospect.country,
        "github_login": prospect.username,
        "github_url": github_url(prospect),
        "score": round(prospect.score, 4),
        "signals": ";".join(prospect.signal_names()),
        "evidence_summary": _evidence_summary(prospect) or None,
        "lawful_basis": prospect.compliance.lawful_basis if prospect.compliance else None,
        "verdict": prospect.compliance.verdict if prospect.compliance else None,
        "source": SOURCE,
    }
    return values[source]


def map_prospect(prospect: Prospect, mapping: FieldMapping) -> DestinationContact:
    """The contact as the mapping renders it. `email` rides along (for the duplicate search) only
    when the mapping sends the email; empty values are left out so they never blank a vendor field."""

    def render(names: dict[str, MappingSource]) -> dict[str, FieldValue]:
        rendered = {field: source_value(prospect, source) for field, source in names.items()}
        return {field: value for field, value in rendered.items() if value not in (None, "")}

    return DestinationContact(
        prospect_id=prospect.id,
        email=prospect.email if mapping.sends("email") else None,
        github_id=prospect.github_id,
        github_url=github_url(prospect),
        fields=render(mapping.fields),
        custom=render(mapping.custom),
    )
