"""Versioned prompts: `prompts/<agent>/<version>.md`, selected by `CMO_PROMPT_VERSION`.

`CMO_PROMPTS_DIR` names an extra folder of the same layout, searched first, so a prompt engineer
can try a new version without touching the installed package.

A prompt file may open with a header for its human readers: an HTML comment (`<!-- ... -->`, where
the file says what uses it and which placeholders it has) and/or a `# title` line. `load_prompt` is
the one place that strips it, so no agent sends the model notes that were never meant for it.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

_COMMENT = re.compile(r"\A\s*<!--.*?-->\s*", re.DOTALL)
_TITLE = re.compile(r"\A# [^\n]*(?:\n\s*|\Z)")


class PromptNotFound(LookupError):
    """No prompt file for that agent and version."""


def load_prompt(agent: str, version: str, extra_dir: Path | None = None) -> str:
    """The body of `<extra_dir>/<agent>/<version>.md` if it exists, else of `prompts/<agent>/<version>.md`."""
    if extra_dir is not None and (own := extra_dir / agent / f"{version}.md").is_file():
        return _body(own.read_text(encoding="utf-8"))
    path = resources.files("prompts").joinpath(agent, f"{version}.md")
    if not path.is_file():
        raise PromptNotFound(f"no prompt prompts/{agent}/{version}.md (set CMO_PROMPT_VERSION to an existing version)")
    return _body(path.read_text(encoding="utf-8"))


def _body(text: str) -> str:
    """`text` without its leading header: first a `<!-- -->` comment, then a `# title` line, each optional."""
    return _TITLE.sub("", _COMMENT.sub("", text, count=1), count=1)


def available_versions(agent: str, extra_dir: Path | None = None) -> list[str]:
    folders = [resources.files("prompts").joinpath(agent)]
    if extra_dir is not None and (extra_dir / agent).is_dir():
        folders.append(extra_dir / agent)
    return sorted({p.name.removesuffix(".md") for f in folders for p in f.iterdir() if p.name.endswith(".md")})
