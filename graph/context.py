"""Run-scoped dependencies handed to every node through `Runtime[Context]` (never globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cmo.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from tools.github import GitHubClient
    from tools.suppression import SuppressionList


@dataclass
class Context:
    """What a node may use besides the state: settings, the GitHub client, the model (or None)."""

    settings: Settings
    github: GitHubClient
    suppression: SuppressionList
    llm: BaseChatModel | None = None
    prompt_version: str = "v1"
    prompts_dir: Path | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
