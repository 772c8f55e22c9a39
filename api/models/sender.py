"""Body of `GET`/`PUT /api/sender`: who the tenant's drafts come from and where recipients opt out."""

from __future__ import annotations

import unicodedata
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from agents.compliance_rules import placeholder_reason
from tools.suppression import normalize_entry

MAX_NAME_CHARS = 200
MAX_ADDRESS_CHARS = 500
MAX_URL_CHARS = 2048
MAX_EMAIL_CHARS = 254


def _no_controls(text: str) -> str:
    """Every value lands in the footer of an email: one line each, no control character."""
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise ValueError("control characters (line breaks, tabs, NUL ...) are not allowed; write the value on one line")
    return text


def _opt_out_url(url: str) -> str:
    """An opt-out link every recipient can open: absolute https, and not a placeholder host, which the
    compliance rule `placeholder_unsubscribe_url` would flag on every draft."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{url!r} is not an absolute https URL (e.g. https://acme.dev/unsubscribe)")
    if (reason := placeholder_reason(url)) is not None:
        raise ValueError(
            f"{reason}, so the compliance rule placeholder_unsubscribe_url would send every draft to review;"
            " use an opt-out page on your own domain"
        )
    return url


def _email(address: str) -> str:
    normalize_entry("email", address)  # raises "'…' is not an email address"
    return address


Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NAME_CHARS), AfterValidator(_no_controls)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_ADDRESS_CHARS), AfterValidator(_no_controls)]
OptOutUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_URL_CHARS),
    AfterValidator(_no_controls),
    AfterValidator(_opt_out_url),
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_EMAIL_CHARS),
    AfterValidator(_no_controls),
    AfterValidator(_email),
]


class SenderSettings(BaseModel):
    """The tenant's sender profile, used by every new job whose campaign names none. A `PUT` replaces
    the whole document: a field left out (or blank) is not set, and drafts fall back to the
    deployment's `CMO_SENDER_*` / `CMO_UNSUBSCRIBE_URL` for it."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = Field(default=None, description="Who signs the drafts, e.g. 'Ada Lovelace'.")
    company: Name | None = Field(default=None, description="The company the drafts come from.")
    postal_address: Address | None = Field(
        default=None, description="The sender's postal address (CAN-SPAM), on one line: '1 Main St, Springfield, IL 62701, USA'."
    )
    unsubscribe_url: OptOutUrl | None = Field(
        default=None,
        description="Absolute https URL of the tenant's own opt-out page; each draft links to it with `?u=<prospect id>`.",
    )
    email: Email | None = Field(
        default=None, description="The sender's address (drafts may carry it without it counting as someone else's data)."
    )

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        """A form's empty field means "not set"."""
        return None if isinstance(value, str) and not value.strip() else value
