"""Every event a run emits can be stored by the service and is listened for by the web app's trace."""

from __future__ import annotations

import re
from pathlib import Path

from api.services.events import CATALOGUE
from foundation import events

TRACE_JS = Path(__file__).resolve().parents[2] / "api" / "web" / "js" / "trace.js"


def graph_events() -> set[str]:
    return {value for name, value in vars(events).items() if name.isupper() and isinstance(value, str) and "." in value}


def test_the_service_stores_every_graph_event() -> None:
    assert graph_events() - CATALOGUE == set()


def test_the_web_trace_listens_for_every_stored_event() -> None:
    listed = re.search(r"const EVENTS = \[(.*?)\];", TRACE_JS.read_text(), re.S)
    assert listed is not None
    assert CATALOGUE - set(re.findall(r'"([a-z_.]+)"', listed.group(1))) == set()


def test_the_sending_events_are_stored_and_sent_to_webhooks() -> None:
    from api.services.events import SEND_EVENTS
    from api.services.webhooks import WEBHOOK_EVENTS

    assert {"message.sent", "message.bounced", "message.replied", "campaign.paused"} == SEND_EVENTS
    assert SEND_EVENTS <= CATALOGUE and SEND_EVENTS <= WEBHOOK_EVENTS
