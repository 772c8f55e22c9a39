"""The real `ChatOpenAI` (and the planner through it) against the scripted OpenAI-compatible server.

Every test runs with outside connections blocked, so a forgotten tokenizer download or a request
to api.openai.com fails loudly instead of passing on a machine that happens to be online.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import date
from typing import Any

import openai
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from pydantic import BaseModel

from agents.model_calls import ModelGate
from agents.planner_llm import PlannerLLMError, plan_with_llm
from prompts import load_prompt
from tests.support.openai_server import Reply, ScriptedOpenAIServer


class Weather(BaseModel):
    """The weather in a city."""

    city: str
    celsius: float


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse every connection that does not go to 127.0.0.1."""
    connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> None:
        if not (isinstance(address, tuple) and address[0] == "127.0.0.1"):
            raise OSError(f"test tried to reach {address!r}: only the scripted server is allowed")
        connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def weather_server() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer([Reply.tool("Weather", {"city": "Oslo", "celsius": -3.5})]) as srv:
        yield srv


def test_plain_invoke_returns_content_and_usage() -> None:
    with ScriptedOpenAIServer([Reply.text("Hello from the script.")]) as srv:
        message = srv.chat_model().invoke("Say hello")

    assert message.content == "Hello from the script."
    assert message.usage_metadata is not None and message.usage_metadata["total_tokens"] > 0
    (request,) = srv.requests
    assert request["model"] == "scripted"
    assert request["messages"] == [{"role": "user", "content": "Say hello"}]


def test_streaming_yields_several_tokens_and_final_usage() -> None:
    with ScriptedOpenAIServer([Reply.text("one two three four")]) as srv:
        chunks = list(srv.chat_model(stream_usage=True).stream("Count"))

    assert [chunk.content for chunk in chunks if chunk.content] == ["one", " two", " three", " four"]
    total = sum(chunks[1:], chunks[0])
    assert total.content == "one two three four"
    assert total.usage_metadata is not None and total.usage_metadata["output_tokens"] > 0
    assert srv.requests[0]["stream"] is True and srv.requests[0]["stream_options"] == {"include_usage": True}


def test_bound_tools_produce_parsed_tool_calls(weather_server: ScriptedOpenAIServer) -> None:
    message = weather_server.chat_model().bind_tools([Weather]).invoke("Weather in Oslo?")

    assert message.tool_calls == [
        {"name": "Weather", "args": {"city": "Oslo", "celsius": -3.5}, "id": "call_1", "type": "tool_call"}
    ]
    assert message.response_metadata["finish_reason"] == "tool_calls"
    assert weather_server.requests[0]["tools"][0]["function"]["name"] == "Weather"


def test_streamed_tool_call_deltas_are_reassembled(weather_server: ScriptedOpenAIServer) -> None:
    chunks = list(weather_server.chat_model().bind_tools([Weather]).stream("Weather in Oslo?"))

    total = sum(chunks[1:], chunks[0])
    assert isinstance(total, AIMessageChunk)
    assert len([chunk for chunk in chunks if chunk.tool_call_chunks]) > 2
    assert total.tool_calls[0]["args"] == {"city": "Oslo", "celsius": -3.5}


@pytest.mark.parametrize("stream", [False, True])
def test_several_tool_calls_in_one_answer(stream: bool) -> None:
    """OpenAI's parallel tool calls: one answer, several calls, each with its own id (`call_<n>_<i>`)."""
    reply = Reply.tools(("Weather", {"city": "Oslo", "celsius": -3.5}), ("Weather", "Bergen, please"))
    with ScriptedOpenAIServer([reply]) as srv:
        model = srv.chat_model().bind_tools([Weather])
        chunks = list(model.stream("Weather in Oslo and Bergen?")) if stream else None
        message = sum(chunks[1:], chunks[0]) if chunks else model.invoke("Weather in Oslo and Bergen?")

    assert isinstance(message, AIMessage)
    assert [call["id"] for call in message.tool_calls] == ["call_1_1"]
    assert message.tool_calls[0]["args"] == {"city": "Oslo", "celsius": -3.5}
    assert [call["id"] for call in message.invalid_tool_calls] == ["call_1_2"], "malformed arguments stay malformed"


def test_structured_output_by_function_calling(weather_server: ScriptedOpenAIServer) -> None:
    structured = weather_server.chat_model().with_structured_output(Weather, method="function_calling")

    assert structured.invoke("Weather in Oslo?") == Weather(city="Oslo", celsius=-3.5)
    choice = weather_server.requests[0]["tool_choice"]
    assert choice == {"type": "function", "function": {"name": "Weather"}}


@pytest.mark.parametrize("status", [500, 429])
def test_transient_error_is_retried_by_the_client(status: int) -> None:
    with ScriptedOpenAIServer([Reply.error(status), Reply.text("recovered")]) as srv:
        message = srv.chat_model(max_retries=1).invoke("hi")

    assert message.content == "recovered"
    assert len(srv.requests) == 2 and srv.requests[0] == srv.requests[1]


def test_responder_reacts_to_the_request() -> None:
    def echo(body: dict[str, Any]) -> Reply:
        return Reply.text(body["messages"][-1]["content"].upper())

    with ScriptedOpenAIServer(echo) as srv:
        assert srv.chat_model().invoke("shout this").content == "SHOUT THIS"


def test_exhausted_script_fails_without_retrying() -> None:
    with ScriptedOpenAIServer([]) as srv, pytest.raises(openai.BadRequestError, match="script exhausted"):
        srv.chat_model(max_retries=2).invoke("hi")

    assert len(srv.requests) == 1


def test_unanswered_tool_calls_are_rejected_like_openai_does() -> None:
    history = [HumanMessage("hi"), AIMessage("", tool_calls=[{"name": "Weather", "args": {}, "id": "call_9"}])]
    with ScriptedOpenAIServer([Reply.text("never sent")]) as srv, pytest.raises(openai.BadRequestError, match="call_9"):
        srv.chat_model().invoke([*history, HumanMessage("and now?")])


def test_models_endpoint_lists_the_scripted_model() -> None:
    with ScriptedOpenAIServer([], model="scripted-7b") as srv:
        models = openai.OpenAI(base_url=srv.base_url, api_key="test").models.list()

    assert [model.id for model in models] == ["scripted-7b"]


def test_planner_end_to_end_with_feedback_as_tool_messages() -> None:
    good = {"audience": {"languages": ["Python"], "domains": ["machine_learning"], "role": "maintainer"}}
    script = [Reply.tool("LLMPlan", '{"audience": {"languages": ["Py'), Reply.tool("LLMPlan", good)]
    with ScriptedOpenAIServer(script) as srv:
        plan = plan_with_llm(
            ModelGate(srv.chat_model()), "Python ML maintainers", load_prompt("planner", "v1"), date(2025, 3, 14)
        )

    assert plan.audience.languages == ["Python"] and "deep-learning" in plan.audience.topics
    first, second = srv.requests
    assert first["tool_choice"] == {"type": "function", "function": {"name": "LLMPlan"}}
    assert first["messages"][0]["role"] == "system" and "machine_learning" in first["messages"][0]["content"]
    feedback = second["messages"][-1]
    assert feedback["role"] == "tool" and feedback["tool_call_id"] == "call_1"
    assert "could not be parsed" in feedback["content"]
    assert plan.usage is not None and plan.usage["input_tokens"] > 0


def test_planner_gives_up_with_planner_error_after_max_attempts() -> None:
    script = [Reply.tool("LLMPlan", {"audience": {"languages": ["Klingon"]}})] * 2
    with ScriptedOpenAIServer(script) as srv, pytest.raises(PlannerLLMError) as caught:
        plan_with_llm(
            ModelGate(srv.chat_model()), "Klingon devs", load_prompt("planner", "v1"), date(2025, 3, 14), max_attempts=2
        )

    assert len(srv.requests) == 2
    assert caught.value.usage is not None and caught.value.usage["total_tokens"] > 0
