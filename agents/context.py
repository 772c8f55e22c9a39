"""Run-scoped dependencies handed to every node through `Runtime[Context]` (never globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from foundation.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from foundation.events import EventSink
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
    # Set by a caller that persists events (the service's worker): they go to it instead of the
    # stream, and every task ends with `events.flush()`, so a task's results are never checkpointed
    # before its events are stored (a crash loses none; a re-run task repeats them, and they are dropped).
    events: EventSink | None = None
