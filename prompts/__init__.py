"""Versioned prompts: `prompts/<agent>/<version>.md`, selected by `CMO_PROMPT_VERSION`.

`CMO_PROMPTS_DIR` names an extra folder of the same layout, searched first, so a prompt engineer
can try a new version without touching the installed package.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


class PromptNotFound(LookupError):
    """No prompt file for that agent and version."""


def load_prompt(agent: str, version: str, extra_dir: Path | None = None) -> str:
    """The text of `<extra_dir>/<agent>/<version>.md` if it exists, else `prompts/<agent>/<version>.md`."""
    if extra_dir is not None and (own := extra_dir / agent / f"{version}.md").is_file():
        return own.read_text(encoding="utf-8")
    path = resources.files("prompts").joinpath(agent, f"{version}.md")
    if not path.is_file():
        raise PromptNotFound(f"no prompt prompts/{agent}/{version}.md (set CMO_PROMPT_VERSION to an existing version)")
    return path.read_text(encoding="utf-8")


def available_versions(agent: str, extra_dir: Path | None = None) -> list[str]:
    folders = [resources.files("prompts").joinpath(agent)]
    if extra_dir is not None and (extra_dir / agent).is_dir():
        folders.append(extra_dir / agent)
    return sorted({p.name.removesuffix(".md") for f in folders for p in f.iterdir() if p.name.endswith(".md")})
