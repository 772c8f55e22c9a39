"""Optional help from an LLM for chat messages the rules did not understand.

The model never decides what happens: it only rewrites the message into one of the commands the
rule-based parser knows ("only EU", "exclude Google", "top 20", ...), and that command goes through
the same parser as typed text. So a model can widen what is understood, but every action stays one
the rules can explain, and without a model (or when it fails) the chat works exactly the same.
"""

from __future__ import annotations

import asyncio

import structlog
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from api.models.jobs import MAX_GOAL_CHARS
from foundation.settings import Settings
from prompts import load_prompt

log = structlog.get_logger("api.chat")


async def rewrite(model: BaseChatModel, settings: Settings, message: str) -> str | None:
    """The command the model reads in `message`, or None (NONE, an error, a timeout).

    A chat reply must not hang on a slow model, so it waits `CMO_LLM_TIMEOUT_SECONDS` at most, as an
    agent's request does (one try: the help text is the fallback)."""
    try:
        prompt = load_prompt("chat", settings.cmo_prompt_version, settings.cmo_prompts_dir)
        request = model.ainvoke([SystemMessage(prompt), HumanMessage(message)])
        reply = await asyncio.wait_for(request, settings.cmo_llm_timeout_seconds)
    except Exception as exc:  # a missing prompt version or any model failure means: answer without it
        log.warning("chat model unavailable; answering with the rules alone", error=f"{type(exc).__name__}: {exc}")
        return None
    lines = str(reply.content).strip().strip("\"'`").splitlines()
    command = lines[0].strip() if lines else ""
    return None if not command or command.upper() == "NONE" else command[:MAX_GOAL_CHARS]
