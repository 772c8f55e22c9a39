"""The model gate on its own: retries, the circuit breaker, the rate limit, events and totals.

Runs against scripted runnables (the HTTP behaviour is tests/integration/test_model_gate.py's).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda
from langchain_openai.chat_models.base import OpenAIAPIError, OpenAIInvalidRequestError, OpenAITimeoutError
from pydantic import BaseModel

from agents import model_calls
from agents.model_calls import CallPolicy, ModelGate, ModelUnavailable
from agents.rate_limit import MinuteLimit
from agents.state import later_usage
from foundation.events import LLM_CALLED, LLM_FAILED, LLM_RESULT
from foundation.schemas.run import LLMUsage
from tests.support.fake_llm import scripted, tool_call_message

REQUEST = httpx.Request("POST", "http://model.test/v1/chat/completions")


class Verdict(BaseModel):
    ok: bool


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    """Every event the gate emits, as (name, agent, data)."""
    seen: list[tuple[str, str, dict[str, Any]]] = []
    monkeypatch.setattr(model_calls, "emit", lambda name, agent, **data: seen.append((name, agent, data)))
    monkeypatch.setattr(model_calls, "_backoff", lambda retry, exc: 0.0)
    return seen


def server_error(status: int = 500, headers: dict[str, str] | None = None) -> OpenAIAPIError:
    response = httpx.Response(status, headers=headers, request=REQUEST)
    return OpenAIAPIError(message=f"Error code: {status}", response=response, body=None)


def scripted_runnable(*outcomes: Any) -> tuple[RunnableLambda[Any, Any], list[Any]]:
    """A runnable answering (or raising) `outcomes` in order, and the list of inputs it was called with."""
    calls: list[Any] = []
    pending = list(outcomes)

    def answer(value: Any) -> Any:
        calls.append(value)
        outcome = pending.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return RunnableLambda(answer), calls


def test_a_transient_failure_is_retried_and_each_try_is_an_event(events: list) -> None:
    runnable, calls = scripted_runnable(OpenAITimeoutError(request=REQUEST), AIMessage("fine"))
    gate = ModelGate(scripted())

    assert gate.invoke("researcher", runnable, "hi", "v2", label="tools").content == "fine"

    assert len(calls) == 2
    assert [(name, data["retry"]) for name, _, data in events] == [
        (LLM_CALLED, 0),
        (LLM_FAILED, 0),
        (LLM_CALLED, 1),
        (LLM_RESULT, 1),
    ]
    failed = events[1][2]
    assert failed["kind"] == "timeout" and failed["will_retry"] and failed["schema"] == "tools"
    assert failed["prompt_version"] == "v2" and failed["call_id"] == events[3][2]["call_id"]
    assert gate.usage().failures == {"timeout": 1} and gate.usage().status == "used"


def test_a_request_the_server_refuses_is_not_retried(events: list) -> None:
    refused = OpenAIInvalidRequestError(message="bad", response=httpx.Response(400, request=REQUEST), body=None)
    runnable, calls = scripted_runnable(refused)
    with pytest.raises(ModelUnavailable) as caught:
        ModelGate(scripted()).invoke("planner", runnable, "hi", "v1")

    assert len(calls) == 1 and caught.value.kind == "error"
    assert caught.value.fallback_reason == "model call failed (error)"


def test_the_server_can_forbid_a_retry(events: list) -> None:
    runnable, calls = scripted_runnable(server_error(500, {"x-should-retry": "false"}))
    with pytest.raises(ModelUnavailable):
        ModelGate(scripted()).invoke("planner", runnable, "hi", "v1")
    assert len(calls) == 1


def test_the_breaker_opens_after_consecutive_failures_and_refuses_at_once(events: list) -> None:
    runnable, calls = scripted_runnable(*(server_error() for _ in range(4)))
    gate = ModelGate(scripted(), CallPolicy(max_retries=1, breaker_failures=3))

    with pytest.raises(ModelUnavailable):  # two tries
        gate.invoke("planner", runnable, "a", "v1")
    with pytest.raises(ModelUnavailable) as caught:  # one try opens the breaker; its retry is not sent
        gate.invoke("copywriter", runnable, "b", "v1")
    assert caught.value.kind == "error" and gate.is_open
    with pytest.raises(ModelUnavailable) as refused:
        gate.invoke("compliance", runnable, "c", "v1")

    assert calls == ["a", "a", "b"]
    assert refused.value.kind == "breaker_open" and refused.value.fallback_reason == "not sent: circuit breaker open"
    opening = [data for name, _, data in events if name == LLM_FAILED][-1]
    assert opening["breaker"] == "open" and opening["will_retry"] is False
    usage = gate.usage()
    assert (usage.requests, usage.refused, usage.breaker_opened, usage.failures) == (3, 1, True, {"error": 3})


def test_an_answer_resets_the_count_of_consecutive_failures(events: list) -> None:
    runnable, _ = scripted_runnable(server_error(), server_error(), AIMessage("ok"), server_error(), server_error())
    gate = ModelGate(scripted(), CallPolicy(max_retries=0, breaker_failures=3))
    for _ in range(5):
        try:
            gate.invoke("copywriter", runnable, "x", "v1")
        except ModelUnavailable:
            pass
    assert not gate.is_open and gate.usage().failures == {"error": 4}


def test_unreadable_answers_open_the_breaker_but_schema_violations_do_not(events: list) -> None:
    """A server that cannot produce a structured answer never will; a wrong field can be fixed by feedback."""
    invalid = scripted(*(tool_call_message("Verdict", {"ok": "perhaps"}) for _ in range(3)))
    gate = ModelGate(invalid, CallPolicy(breaker_failures=2))
    answers = [gate.structured("compliance", Verdict, "judge", "v1") for _ in range(3)]
    assert all(a.parsed is None and a.problem and "ok: Input should be a valid boolean" in a.problem for a in answers)
    assert not gate.is_open and gate.usage().failures == {"invalid": 3}

    text = ModelGate(scripted("no tool call", "still none"), CallPolicy(breaker_failures=2))
    first = text.structured("compliance", Verdict, "judge", "v1")
    assert first.problem == "you answered without calling the Verdict tool; call it exactly once"
    text.structured("compliance", Verdict, "judge", "v1")
    assert text.is_open and text.usage().failures == {"unparsable": 2}
    kinds = [data["kind"] for name, _, data in events if name == LLM_FAILED]
    assert kinds == ["invalid"] * 3 + ["unparsable"] * 2


def test_rejections_and_fallbacks_decide_the_status(events: list) -> None:
    gate = ModelGate(scripted(tool_call_message("Verdict", {"ok": True}), tool_call_message("Verdict", {"ok": False})))
    assert gate.usage().status == "unused"
    first = gate.structured("copywriter", Verdict, "draft", "v1")
    assert first.parsed == Verdict(ok=True) and gate.usage().status == "used"

    gate.rejected("copywriter", "names a repository the evidence lacks", first)
    gate.fell_back("copywriter", "ungrounded or invalid after 3 attempts")
    assert gate.usage().status == "failed -> deterministic" and gate.usage().answers == 0
    rejection = events[-1][2]
    assert rejection["kind"] == "rejected" and rejection["call_id"] == first.call_id and rejection["attempt"] == 1

    gate.structured("compliance", Verdict, "review", "v1")
    usage = gate.usage()
    assert usage.status == "partially used" and usage.answers == 1 and usage.failures == {"rejected": 1}
    assert [f.model_dump() for f in usage.fallbacks] == [
        {"agent": "copywriter", "reason": "ungrounded or invalid after 3 attempts", "count": 1}
    ]


def test_tokens_come_from_the_answers_usage(events: list) -> None:
    answer = tool_call_message("Verdict", {"ok": True})
    answer.usage_metadata = {"input_tokens": 120, "output_tokens": 7, "total_tokens": 127}
    gate = ModelGate(scripted(answer))
    gate.structured("compliance", Verdict, "review", "v1")
    assert gate.usage().tokens.model_dump() == {"input": 120, "output": 7}
    result = events[-1][2]
    assert (result["tokens_in"], result["tokens_out"]) == (120, 7)


def test_a_resumed_gate_counts_on_from_its_checkpoint(events: list) -> None:
    earlier = LLMUsage(status="used", requests=4, answers=3, failures={"timeout": 1}, model_seconds=2.5)
    runnable, _ = scripted_runnable(AIMessage("ok"))
    gate = ModelGate(scripted(), seed=earlier)
    assert gate.changes() is None
    gate.invoke("copywriter", runnable, "x", "v1")
    usage = gate.changes()
    assert usage is not None and (usage.requests, usage.answers, usage.failures) == (5, 4, {"timeout": 1})
    assert gate.changes() is None, "nothing new since"
    assert later_usage(earlier, usage) is usage and later_usage(usage, earlier) is usage
    assert later_usage(None, earlier) is earlier


def test_many_calls_keep_their_order_and_stop_once_the_breaker_opens(events: list) -> None:
    gate = ModelGate(scripted(), CallPolicy(max_retries=0, breaker_failures=1))
    gate.invoke("x", RunnableLambda(lambda _: AIMessage("ok")), "warm", "v1")
    with pytest.raises(ModelUnavailable):
        gate.invoke("x", scripted_runnable(server_error())[0], "boom", "v1")
    answers = gate.structured_many("copywriter", Verdict, ["a", "b", "c"], "v1")
    assert [a.kind for a in answers if isinstance(a, ModelUnavailable)] == ["breaker_open"] * 3
    assert gate.usage().refused == 3


class FakeClock:
    """A clock whose waits pass at once (`stop.wait` advances it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def stop(self, opened: Callable[[], bool] = lambda: False) -> threading.Event:
        clock = self

        class Advancing(threading.Event):
            def wait(self, timeout: float | None = None) -> bool:
                clock.now += timeout or 0
                return opened()

        return Advancing()


def test_the_minute_limit_holds_requests_and_tokens_back() -> None:
    clock = FakeClock()
    limit = MinuteLimit(requests_per_minute=2, tokens_per_minute=None, clock=clock)
    stop = clock.stop()
    first, second = (limit.acquire(10, stop) for _ in range(2))
    assert first is not None and second is not None and (first[1], second[1]) == (0.0, 0.0)
    clock.now += 2.0  # the answers take 2 s: each request counts until a minute after its answer
    limit.finish(first[0])
    limit.finish(second[0])
    admitted = limit.acquire(10, stop)
    assert admitted is not None and admitted[1] == pytest.approx(60.0) and admitted[0].at == pytest.approx(1062.0)

    tokens = MinuteLimit(requests_per_minute=None, tokens_per_minute=100, clock=clock)
    one = tokens.acquire(80, stop)
    assert one is not None
    tokens.settle(one[0], 30)  # the answer reported fewer tokens than estimated
    tokens.finish(one[0])
    two = tokens.acquire(60, stop)  # 30 + 60 fit in 100
    assert two is not None and two[1] == 0.0
    tokens.finish(two[0])
    later = tokens.acquire(50, stop)
    assert later is not None and later[1] == pytest.approx(60.0)


def test_a_request_in_flight_counts_until_a_minute_after_its_answer() -> None:
    """However long the way to the provider takes, a request never leaves the window before its answer."""
    clock = FakeClock()
    limit = MinuteLimit(requests_per_minute=1, tokens_per_minute=None, clock=clock)
    slow = limit.acquire(1, clock.stop())
    assert slow is not None

    def answered_after_90_s() -> bool:
        if clock.now >= 1090.0 and slow[0].done is None:
            limit.finish(slow[0])
        return False  # the breaker stays closed

    admitted = limit.acquire(1, clock.stop(opened=answered_after_90_s))
    assert admitted is not None and admitted[1] == pytest.approx(150.0, abs=0.1)


def test_an_open_breaker_ends_a_wait_for_the_limit() -> None:
    clock = FakeClock()
    limit = MinuteLimit(requests_per_minute=1, tokens_per_minute=None, clock=clock)
    assert limit.acquire(1, clock.stop()) is not None
    assert limit.acquire(1, clock.stop(opened=lambda: True)) is None
