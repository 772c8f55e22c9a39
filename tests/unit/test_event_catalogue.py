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
