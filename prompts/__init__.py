"""Versioned prompts: `prompts/<agent>/<version>.md`, selected by `CMO_PROMPT_VERSION`."""

from __future__ import annotations

from importlib import resources


class PromptNotFound(LookupError):
    """No prompt file for that agent and version."""


def load_prompt(agent: str, version: str) -> str:
    """The text of `prompts/<agent>/<version>.md`."""
    path = resources.files("prompts").joinpath(agent, f"{version}.md")
    if not path.is_file():
        raise PromptNotFound(f"no prompt prompts/{agent}/{version}.md (set CMO_PROMPT_VERSION to an existing version)")
    return path.read_text(encoding="utf-8")


def available_versions(agent: str) -> list[str]:
    folder = resources.files("prompts").joinpath(agent)
    return sorted(p.name.removesuffix(".md") for p in folder.iterdir() if p.name.endswith(".md"))
