"""Benchmark: personalised drafts per hour from the copywriter against a 2 s-latency model, under a
requests-per-minute limit (SPEC: 50,000 drafts/hour, without exceeding the limit).

The model is the project's scripted OpenAI-compatible server (`tests/support/openai_server.py`) on
127.0.0.1, in a process of its own (as a provider is: its threads do not compete for the drafting
process's interpreter lock, and it notes arrivals as they happen), answering every `DraftOut`
request after `--latency` seconds with the brief's template draft (so each draft is accepted at its
first attempt: one request per draft), reached over real HTTP by the real `ChatOpenAI` through the
run's `ModelGate`, exactly as `cmo run` drafts:
`agents.copywriter.draft_many_with_llm` with its grounding checks and footers. The server notes the
arrival time of every request, and the bench reports the most requests that arrived in any 60 s.

Runs, one after the other, against the same server:
1. baseline: one call in flight (`CMO_LLM_CONCURRENCY=1`), no rate limit: latency-bound;
2. the previous default, 8 calls in flight (the gate's old hard-coded cap), no rate limit;
3. the configured run: `--concurrency` calls in flight under `CMO_LLM_REQUESTS_PER_MINUTE=--rpm`.
Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import threading
import time
from bisect import bisect_left
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from langchain_openai import ChatOpenAI

from agents.copywriter import assign_variant, draft_many_with_llm, variant_names
from agents.model_calls import CallPolicy, ModelGate
from foundation.schemas import Campaign, DeveloperProfile, Evidence, Prospect, Signal
from foundation.settings import Settings
from prompts import load_prompt
from tests.support.openai_server import Reply, ScriptedOpenAIServer

SETTINGS = Settings(
    _env_file=None,
    cmo_sender_name="Sarah Chen",
    cmo_sender_company="TechFlow",
    cmo_sender_postal_address="TechFlow Inc., 500 Market St, San Francisco, CA 94105, USA",
    cmo_unsubscribe_url="https://optout.techflow.io/u",
)
CAMPAIGN = Campaign(id="cmp_bench")


def prospect(n: int) -> Prospect:
    """A realistic enriched prospect: a name, a company, languages and one dated signal."""
    login = f"dev{n}"
    repo = f"{login}/project{n % 97}"
    return Prospect(
        id=f"gh_{login}",
        username=login,
        name=f"Ada{n} Lovelace",
        email=f"{login}@example-devs.org",
        email_source="profile",
        company="@fastgrad-labs",
        developer_profile=DeveloperProfile(languages=["Python", "C++"], repositories=[repo]),
        signals=[
            Signal(
                name="ml_contributor",
                evidence=[Evidence(kind="commits", repo=repo, date=datetime(2026, 11, 1, tzinfo=UTC), count=10 + n % 50)],
            )
        ],
    )


class Model:
    """The responder: the brief's template draft after `latency` seconds; arrival times recorded."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.arrivals: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.arrivals.append(time.monotonic())
        draft = json.loads(body["messages"][-1]["content"])["template_draft"]
        return Reply(tool_name="DraftOut", arguments={**draft, "facts_used": []}, stall=self.latency)

    def arrived(self) -> list[float]:
        with self._lock:
            return list(self.arrivals)


def serve(latency: float, conn: Connection) -> None:
    """The server process: sends its base URL, then the arrival times whenever asked, until "stop"."""
    model = Model(latency)
    with ScriptedOpenAIServer(model) as server:
        conn.send(server.base_url)
        while conn.recv() != "stop":
            conn.send(model.arrived())


def max_per_minute(arrivals: list[float], since: float) -> int:
    """The most requests that arrived in any 60 s window (each window starting at an arrival);
    `time.monotonic` is the same clock in both processes on Linux."""
    times = sorted(t for t in arrivals if t >= since)
    return max((bisect_left(times, t + 60.0) - i for i, t in enumerate(times)), default=0)


def measure(base_url: str, server: Connection, drafts: int, concurrency: int, rpm: int | None) -> dict[str, Any]:
    settings = SETTINGS.model_copy(update={"cmo_llm_concurrency": concurrency, "cmo_llm_requests_per_minute": rpm})
    llm = ChatOpenAI(base_url=base_url, api_key="test", model="scripted", timeout=30, max_retries=0)  # type: ignore[arg-type]
    gate = ModelGate(llm, CallPolicy.from_settings(settings))
    prospects = [prospect(n) for n in range(drafts)]
    arms = variant_names(CAMPAIGN)
    variants = [assign_variant(p.id, arms, salt=CAMPAIGN.id) for p in prospects]
    prompt = load_prompt("copywriter", "v1")
    since = time.monotonic()
    messages, fallbacks = draft_many_with_llm(gate, prospects, variants, CAMPAIGN, settings, prompt)
    seconds = time.monotonic() - since
    usage = gate.usage()
    server.send("arrivals")
    return {
        "drafts": len(messages),
        "by_llm": sum(m.written_by == "llm" for m in messages),
        "fallbacks": fallbacks.total(),
        "requests": usage.requests,
        "seconds": seconds,
        "per_hour": len(messages) / seconds * 3600,
        "max_per_minute": max_per_minute(server.recv(), since),
        "tokens_per_request": usage.tokens.input / max(usage.requests, 1),
    }


def show(name: str, result: dict[str, Any], rpm: int | None) -> None:
    limit = f"limit {rpm}" if rpm else "no limit"
    print(
        f"{name:<34} {result['drafts']:>6} drafts ({result['by_llm']} by the model, {result['fallbacks']} fell back) "
        f"in {result['seconds']:7.1f} s = {result['per_hour']:>9,.0f} drafts/hour; "
        f"{result['requests']} requests, at most {result['max_per_minute']} in any 60 s ({limit}); "
        f"{result['tokens_per_request']:,.0f} prompt tokens a request",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--latency", type=float, default=2.0, help="seconds the model takes per request")
    parser.add_argument("--rpm", type=int, default=1000, help="CMO_LLM_REQUESTS_PER_MINUTE of the configured run")
    parser.add_argument("--concurrency", type=int, default=36, help="CMO_LLM_CONCURRENCY of the configured run")
    parser.add_argument("--drafts", type=int, default=3000, help="drafts of the configured run")
    parser.add_argument("--baseline-drafts", type=int, default=10, help="drafts of the sequential baseline")
    parser.add_argument("--default-drafts", type=int, default=80, help="drafts at the old default of 8 in flight")
    args = parser.parse_args()
    print(f"model latency {args.latency} s per request; SPEC target 50,000 drafts/hour", flush=True)
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=serve, args=(args.latency, theirs), daemon=True)
    process.start()
    base_url = ours.recv()
    try:
        show("baseline: 1 in flight", measure(base_url, ours, args.baseline_drafts, 1, None), None)
        show("old default: 8 in flight", measure(base_url, ours, args.default_drafts, 8, None), None)
        configured = measure(base_url, ours, args.drafts, args.concurrency, args.rpm)
        show(f"configured: {args.concurrency} in flight, {args.rpm} RPM", configured, args.rpm)
    finally:
        ours.send("stop")
        process.join(timeout=10)


if __name__ == "__main__":
    main()
