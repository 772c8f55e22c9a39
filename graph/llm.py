"""The chat model factory: `ChatOpenAI` when a key is configured, otherwise None.

With no key nothing here touches the network (no tiktoken download, no tracing): callers take
their deterministic path when they get None. The model waits `CMO_LLM_TIMEOUT_SECONDS` for a
request and never retries by itself: the run's `ModelGate` (agents/model_calls.py) retries up to
`CMO_LLM_MAX_RETRIES` times, so every try is an event and an open circuit breaker stops them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from foundation.settings import Settings

if TYPE_CHECKING:
    import httpx
    from langchain_core.language_models import BaseChatModel


def get_chat_model(settings: Settings, http_client: httpx.Client | None = None) -> BaseChatModel | None:
    """An OpenAI-compatible chat model (OpenAI, vLLM, Ollama, ...) or None without a key.

    `http_client` lets the eval harness record or replay every request at the HTTP level.
    """
    if not settings.llm_enabled:
        return None
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.cmo_model,
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        temperature=0,
        max_retries=0,  # the gate's retries: see the module docstring
        timeout=settings.cmo_llm_timeout_seconds,
        http_client=http_client,
    )


def describe(settings: Settings) -> str:
    """What the summary's `llm` field says: 'none' or the model name."""
    return settings.cmo_model if settings.llm_enabled else "none"
