"""The logging pipeline masks personal data itself: emails anywhere, names in name fields."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import structlog

from api.core.logging import configure_logging, mask_pii


def test_mask_pii_masks_emails_at_any_depth_and_name_fields() -> None:
    event: dict[str, Any] = {
        "event": "enriched octocat@github.com via commits",
        "prospect": {"name": "The Octocat", "email": "mona.lisa+ml@example.co.uk", "login": "octocat"},
        "recipients": ["a@b.io", {"full_name": "Ada Lovelace"}],
        "count": 3,
        "campaign_name": "Q1 Python ML Outreach",
    }
    masked = mask_pii(None, "info", event)
    assert masked["event"] == "enriched o***@github.com via commits"
    assert masked["prospect"] == {"name": "T***", "email": "m***@example.co.uk", "login": "octocat"}
    assert masked["recipients"] == ["a***@b.io", {"full_name": "A***"}]
    assert masked["count"] == 3 and masked["campaign_name"] == "Q1 Python ML Outreach"
    assert event["prospect"]["name"] == "The Octocat", "the caller's dict is not mutated"


def test_mask_pii_leaves_non_emails_alone() -> None:
    text = "pushed to main@v1.2 at 10:00, see https://github.com/org/repo and @octocat"
    assert mask_pii(None, "info", {"event": text})["event"] == text


def test_configured_pipeline_writes_masked_json_with_context(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    structlog.contextvars.bind_contextvars(request_id="req-1", tenant="acme", job_id="cmo_1")
    try:
        structlog.get_logger("api.test").info("drafted for ada@example.com", name="Ada Lovelace")
        logging.getLogger("third.party").warning("bounce from bob@example.org")
    finally:
        structlog.contextvars.clear_contextvars()
    ours, theirs = (json.loads(line) for line in capsys.readouterr().err.strip().splitlines()[-2:])
    assert ours["event"] == "drafted for a***@example.com" and ours["name"] == "A***"
    assert (ours["request_id"], ours["tenant"], ours["job_id"]) == ("req-1", "acme", "cmo_1")
    assert theirs["event"] == "bounce from b***@example.org" and theirs["level"] == "warning"
