"""A scripted chat model for unit tests of the LLM paths (no network).

LangChain's fake models raise on `bind_tools`; this subclass returns itself so agents that bind
tools or ask for structured output can be driven by a fixed list of responses.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage
from pydantic import Field


class ScriptedChatModel(FakeMessagesListChatModel):
    """Answers with `responses` in order and remembers every prompt it was sent in `seen`."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def tool_call_message(name: str, args: dict[str, Any], call_id: str = "call_1") -> AIMessage:
    """An AI message that calls `name` with `args` (what structured output parses)."""
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}])


def scripted(*responses: BaseMessage | str) -> ScriptedChatModel:
    """A model that answers with `responses` (strings become plain AI messages)."""
    messages = [AIMessage(content=r) if isinstance(r, str) else r for r in responses]
    return ScriptedChatModel(responses=messages, seen=[])
