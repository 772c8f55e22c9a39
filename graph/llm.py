"""The chat model factory: `ChatOpenAI` when a key is configured, otherwise None.

With no key nothing here touches the network (no tiktoken download, no tracing): callers take
their deterministic path when they get None.
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
        max_retries=2,
        timeout=60,
        http_client=http_client,
    )


def describe(settings: Settings) -> str:
    """What the summary's `llm` field says: 'none' or the model name."""
    return settings.cmo_model if settings.llm_enabled else "none"
