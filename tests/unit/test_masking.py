"""Masking: the per-field rules applied to the leads artifacts, and the log pipeline that masks
whatever the PII detector finds (secrets fully, emails partially)."""

from __future__ import annotations

import csv
import io
import json
import logging
from typing import Any

import pytest
import structlog
from pydantic import ValidationError

from api.core.logging import configure_logging, mask_pii
from foundation.artifacts import LEADS_CONTACTABLE, LEADS_FULL, SUMMARY, TRACE, leads_csv
from foundation.schemas import ComplianceReview, Message, Prospect
from privacy.masking import REDACTED, MaskingRules, mask_artifact, mask_record, mask_text, mask_value

KEY = bytes(range(32))
GITHUB_TOKEN = "ghp_" + "Z9y8X7w6V5" * 3 + "u4T3s2"
API_KEY = "cmo_sk_" + "Q2hhbmdlTWUhU2VjcmV0S2V5UGxlYXNl"


def ada() -> Prospect:
    return Prospect(
        id="gh_ada",
        username="ada",
        name="Ada Lovelace",
        email="ada@analytical.dev",
        location="London, UK",
        bio="Engines. Call +44 20 7946 0958 or visit 12 Marylebone Road.",
        website="https://ada.dev",
        social_links={"twitter": "https://x.com/ada"},
        message=Message(subject="Ada, your engine", body="Hi Ada,\nYour notes (ada@analytical.dev) on Adaptive engines..."),
        compliance=ComplianceReview(verdict="approved"),
    )


def test_default_rules_keep_contact_fields_and_mask_pii_inside_bios() -> None:
    record = ada().model_dump(mode="json")
    masked = mask_record(record, MaskingRules(), KEY)
    assert {k: masked[k] for k in ("name", "email", "location", "website")} == {
        k: record[k] for k in ("name", "email", "location", "website")
    }
    assert masked["bio"] == "Engines. Call [phone] or visit [address]."
    assert masked["message"] == record["message"]


@pytest.mark.parametrize(
    ("field", "value", "mode", "expected"),
    [
        ("email", "ada@analytical.dev", "partial", "a***@analytical.dev"),
        ("email", "ada@analytical.dev", "full", REDACTED),
        ("name", "Ada Lovelace", "partial", "A***"),
        ("location", "London, UK", "partial", "***, UK"),
        ("location", "London", "partial", "L***"),
        ("bio", "mail ada@analytical.dev", "detect", "mail a***@analytical.dev"),
        ("name", "Ada Lovelace", "none", "Ada Lovelace"),
    ],
)
def test_mask_value_modes(field: str, value: str, mode: Any, expected: str) -> None:
    assert mask_value(field, value, mode, KEY) == expected


def test_hash_is_a_stable_keyed_pseudonym() -> None:
    first = mask_value("email", "Ada@Analytical.dev", "hash", KEY)
    assert first.startswith("hmac:") and len(first) == len("hmac:") + 16
    assert mask_value("email", "ada@analytical.dev ", "hash", KEY) == first, "case and spacing do not change it"
    assert mask_value("email", "ada@analytical.dev", "hash", bytes(32)) != first, "another tenant's key, another pseudonym"


def test_a_masked_field_is_masked_where_the_record_quotes_it() -> None:
    rules = MaskingRules(email="full", name="partial")
    masked = mask_record(ada().model_dump(mode="json"), rules, KEY)
    assert masked["message"]["subject"] == "A***, your engine"
    assert masked["message"]["body"] == f"Hi A***,\nYour notes ({REDACTED}) on Adaptive engines..."
    assert masked["id"] == "gh_ada" and masked["username"] == "ada"


def test_links_are_masked_including_social_links() -> None:
    masked = mask_record(ada().model_dump(mode="json"), MaskingRules(links="full"), KEY)
    assert masked["website"] == REDACTED and masked["social_links"] == {"twitter": REDACTED}


def test_rules_are_validated() -> None:
    with pytest.raises(ValidationError):
        MaskingRules.model_validate({"email": "scramble"})
    with pytest.raises(ValidationError):
        MaskingRules.model_validate({"phone_number": "full"})
    assert MaskingRules(name="hash").needs_key and not MaskingRules().needs_key


def test_leads_artifacts_are_masked_and_others_untouched() -> None:
    rules = MaskingRules(email="partial", name="full")
    leads = json.dumps([ada().model_dump(mode="json")]).encode()
    full = json.loads(mask_artifact(LEADS_FULL, leads, rules, KEY))
    assert (full[0]["email"], full[0]["name"]) == ("a***@analytical.dev", REDACTED)

    rows = list(csv.DictReader(io.StringIO(mask_artifact(LEADS_CONTACTABLE, leads_csv([ada()]).encode(), rules, KEY).decode())))
    assert (rows[0]["email"], rows[0]["name"], rows[0]["username"]) == ("a***@analytical.dev", REDACTED, "ada")
    assert "ada@analytical.dev" not in rows[0]["body"] and "Ada" not in rows[0]["body"].replace("Adaptive", "")

    summary = b'{"prospects_found": 1}'
    assert mask_artifact(SUMMARY, summary, rules, KEY) is summary


def test_the_trace_is_masked_like_the_leads_including_quotes_in_other_events() -> None:
    lead = ada().model_dump(mode="json")
    events = [
        {
            "seq": 1,
            "event": "prospect.enriched",
            "data": {"prospect_id": lead["id"], "name": lead["name"], "email": lead["email"]},
        },
        {"seq": 2, "event": "message.drafted", "data": {"prospect_id": lead["id"], "body": f"Hi {lead['name']}, ..."}},
        {"seq": 3, "event": "job.progress", "data": {"enriched": 1}},
    ]
    trace = "".join(json.dumps(event) + "\n" for event in events).encode()
    masked = [
        json.loads(line) for line in mask_artifact(TRACE, trace, MaskingRules(email="partial", name="full"), KEY).splitlines()
    ]
    assert masked[0]["data"]["email"] == "a***@analytical.dev" and masked[0]["data"]["name"] == REDACTED
    assert lead["name"] not in masked[1]["data"]["body"], "the draft quoting the name in another event"
    assert masked[2] == events[2]
    assert mask_artifact(TRACE, trace, MaskingRules(name="none", bio="none"), KEY) is trace, "rules that change nothing"


def test_mask_text_masks_every_kind() -> None:
    text = f"ada@analytical.dev +49 30 1234567 203.0.113.7 Hauptstraße 5 token {GITHUB_TOKEN}"
    assert mask_text(text) == "a***@analytical.dev [phone] [ip] [address] token [secret]"


def test_mask_pii_replaces_credential_fields_whatever_their_value() -> None:
    event = {"event": "request", "headers": {"Authorization": "whatever-it-is", "cookie": "session=1"}, "password": "x"}
    masked = mask_pii(None, "info", event)
    assert masked["headers"] == {"Authorization": "[secret]", "cookie": "[secret]"} and masked["password"] == "[secret]"


def test_logged_secrets_and_contact_data_never_reach_the_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    structlog.get_logger("api.test").warning(
        f"GitHub said 401 for token {GITHUB_TOKEN}; key {API_KEY}",
        request_headers={"Authorization": f"Bearer {API_KEY}", "X-Forwarded-For": "203.0.113.7"},
        note="call Ada on +44 20 7946 0958 or ada@analytical.dev",
    )
    logging.getLogger("third.party").error("upstream sent 'Authorization: token %s' from 2001:db8::7", GITHUB_TOKEN)
    output = capsys.readouterr().err
    records = [json.loads(line) for line in output.strip().splitlines()[-2:]]
    for leaked in (GITHUB_TOKEN, API_KEY, "+44 20 7946 0958", "ada@analytical.dev", "203.0.113.7", "2001:db8::7"):
        assert leaked not in output
    ours, theirs = records
    assert ours["event"] == "GitHub said 401 for token [secret]; key [secret]"
    assert ours["request_headers"] == {"Authorization": "[secret]", "X-Forwarded-For": "[ip]"}
    assert ours["note"] == "call Ada on [phone] or a***@analytical.dev"
    assert theirs["event"] == "upstream sent 'Authorization: token [secret]' from [ip]"
