"""Masking rules: how personal data is shown in what leaves the service (artifact downloads and
exports), and the one way every masker turns a PII finding into its mask.

A tenant chooses a mode per field (SPEC "Data Masking: configurable masking rules"):

- `none`: as stored;
- `partial`: a hint a person can still recognise: `a***@example.com`, `A***`, `***, Germany`;
- `full`: `[redacted]`;
- `hash`: `hmac:<16 hex>`, a keyed HMAC-SHA256 with the tenant's own key, so the same person gets the
  same pseudonym in every export (joins still work) but a dictionary of known addresses cannot be
  hashed to reverse it, as it could with a plain SHA-256;
- `detect`: the value is kept except the PII the detector finds inside it (for free text like bios).

Defaults (`MaskingRules()`): the artifacts exist so that approved leads can be contacted, so email,
name, location and links are kept by default — masking them would make `leads_contactable.csv`
useless; a tenant that only analyses leads can switch them off. Bios are `detect`: the phone
numbers, street addresses and IPs people put in bios are never needed for outreach.

A masked field is also masked wherever its value is quoted elsewhere in the record (a draft's
"Hi Ada," or a provenance note), so a masked export does not leak it through the message body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from foundation.artifacts import LEADS_CONTACTABLE, LEADS_FULL, TRACE
from foundation.csv_cells import csv_text, read_csv
from privacy.pii import Finding, replace_pii

MaskMode = Literal["none", "partial", "full", "hash", "detect"]
REDACTED = "[redacted]"
_NOT_REPLACED_ELSEWHERE = frozenset({"id", "username", "merged_logins"})
_EMAIL_PARTS = re.compile(r"^(.)[^@]*@(.+)$")


def mask_finding(finding: Finding) -> str:
    """The mask of one detector finding, shared by logs and `detect`: emails keep their first
    character and domain (`o***@github.com`), secrets become `[secret]`, the rest `[phone]`,
    `[address]`, `[ip]`."""
    if finding.kind == "email":
        return partial_email(finding.text)
    return f"[{finding.kind}]"


def partial_email(email: str) -> str:
    match = _EMAIL_PARTS.match(email)
    return f"{match.group(1)}***@{match.group(2)}" if match else f"{email[:1]}***"


def mask_text(text: str) -> str:
    """`text` with every finding of the detector masked by `mask_finding`."""
    return replace_pii(text, mask_finding)


class MaskingRules(BaseModel):
    """A mode per personal-data field of a lead (see the module doc for modes and defaults)."""

    model_config = ConfigDict(extra="forbid")

    email: MaskMode = Field(default="none", description="The lead's email address.")
    name: MaskMode = Field(default="none", description="The lead's display name (also where a draft quotes it).")
    location: MaskMode = Field(default="none", description="The free-text location of the profile.")
    bio: MaskMode = Field(default="detect", description="The profile bio.")
    links: MaskMode = Field(default="none", description="Website and social links.")

    @property
    def needs_key(self) -> bool:
        return "hash" in self.model_dump().values()


def mask_value(field: str, value: str, mode: MaskMode, key: bytes) -> str:
    """One value masked by `mode`; `field` chooses the partial form (email, location, other)."""
    if mode == "none" or not value:
        return value
    if mode == "full":
        return REDACTED
    if mode == "hash":
        return "hmac:" + hmac.new(key, value.strip().casefold().encode(), hashlib.sha256).hexdigest()[:16]
    if mode == "detect":
        return mask_text(value)
    if field == "email":
        return partial_email(value)
    if field == "location" and "," in value:
        return "***," + value.rsplit(",", 1)[1]
    return f"{value[0]}***"


def _quoted_forms(field: str, value: str, mode: MaskMode, key: bytes) -> dict[str, str]:
    """What to replace elsewhere in the record once `field` is masked: the value, and for a name
    each of its words (drafts greet by first name)."""
    if mode in ("none", "detect"):
        return {}
    forms = {value: mask_value(field, value, mode, key)}
    if field == "name":
        forms |= {word: mask_value(field, word, mode, key) for word in value.split() if len(word) >= 2}
    return forms


def _replace_quoted(value: Any, pattern: re.Pattern[str], forms: dict[str, str], key: str | None = None) -> Any:
    if key in _NOT_REPLACED_ELSEWHERE:
        return value
    if isinstance(value, str):
        return pattern.sub(lambda m: forms[m.group(0)], value)
    if isinstance(value, dict):
        return {k: _replace_quoted(v, pattern, forms, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_quoted(v, pattern, forms) for v in value]
    return value


def _record_keys(field: str) -> tuple[str, ...]:
    """The keys of a lead record that a rule field governs."""
    return ("website", "social_links") if field == "links" else (field,)


def _mask_field(field: str, value: Any, mode: MaskMode, key: bytes, forms: dict[str, str]) -> Any:
    """`value` (a string, or a dict of them such as social links) masked; adds its quoted forms to `forms`."""
    if isinstance(value, dict):
        return {k: _mask_field(field, v, mode, key, forms) for k, v in value.items()}
    if not isinstance(value, str) or not value:
        return value
    forms.update(_quoted_forms(field, value, mode, key))
    return mask_value(field, value, mode, key)


def mask_record(record: dict[str, Any], rules: MaskingRules, key: bytes) -> dict[str, Any]:
    """A lead (a Prospect as JSON, or a CSV row) with `rules` applied; the input is not changed."""
    masked, forms = _mask_fields(record, rules, key)
    return _mask_quotes(masked, forms)


def _mask_fields(record: dict[str, Any], rules: MaskingRules, key: bytes) -> tuple[dict[str, Any], dict[str, str]]:
    """`record` with its governed fields masked, and the quoted forms (original -> mask) to replace elsewhere."""
    masked = dict(record)
    forms: dict[str, str] = {}
    for field, mode in rules.model_dump().items():
        for name in _record_keys(field):
            if name in masked:
                masked[name] = _mask_field(field, masked[name], mode, key, forms)
    return masked, {original: mask for original, mask in forms.items() if original != mask}


def _mask_quotes(masked: dict[str, Any], forms: dict[str, str]) -> dict[str, Any]:
    """Every quoted form in the record's other values replaced by its mask."""
    if not forms:
        return masked
    alternatives = "|".join(re.escape(original) for original in sorted(forms, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
    governed = {name for field in MaskingRules.model_fields for name in _record_keys(field)}
    return {k: v if k in governed else _replace_quoted(v, pattern, forms, k) for k, v in masked.items()}


def _mask_trace(content: bytes, rules: MaskingRules, key: bytes) -> bytes:
    """trace.jsonl: each event's data masked like a lead, and what one event names (the enriched
    prospect) masked where another quotes it (the draft's greeting, the reasoning)."""
    lines = [json.loads(line) for line in content.decode("utf-8").splitlines() if line.strip()]
    fields: list[dict[str, Any] | None] = []
    forms: dict[str, str] = {}
    for line in lines:
        data = line.get("data")
        masked_data, found = _mask_fields(data, rules, key) if isinstance(data, dict) else (None, {})
        fields.append(masked_data)
        forms.update(found)
    masked = [
        line if data is None else line | {"data": _mask_quotes(data, forms)} for line, data in zip(lines, fields, strict=True)
    ]
    if masked == lines:
        return content
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in masked).encode()


def mask_artifact(name: str, content: bytes, rules: MaskingRules, key: bytes) -> bytes:
    """The artifact `name` as a download with `rules` applied: the leads files and the trace are
    masked per field (the CSV's text cells neutralised against formula injection, like every CSV we
    write); the summary (counts, the plan), and files the rules leave as they are, are returned byte
    for byte."""
    if name == LEADS_FULL:
        leads = json.loads(content)
        masked = [mask_record(lead, rules, key) for lead in leads]
        return content if masked == leads else (json.dumps(masked, indent=2, ensure_ascii=False) + "\n").encode()
    if name == LEADS_CONTACTABLE:
        text = content.decode("utf-8")
        columns, rows = read_csv(text)  # the values as the run had them, before `csv_text` neutralised them
        masked_rows = [mask_record(row, rules, key) for row in rows]
        # Written again through the one neutraliser, so a file stored before it existed is safe too.
        rendered = csv_text(columns, masked_rows, lineterminator="\r\n" if "\r\n" in text else "\n")
        return content if rendered == text else rendered.encode()
    if name == TRACE:
        return _mask_trace(content, rules, key)
    return content
