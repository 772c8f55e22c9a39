"""Run-scoped dependencies handed to every node through `Runtime[Context]` (never globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agents.model_calls import CallPolicy, ModelGate
from foundation.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from foundation.events import EventSink
    from tools.github import GitHubClient
    from tools.suppression import SuppressionList
    from tools.vectors.base import Embedder, VectorStore


@dataclass
class Context:
    """What a node may use besides the state: settings, the GitHub client, the model (or None) and
    the gate every call of it goes through (None exactly when the model is: agents test `gate`)."""

    settings: Settings
    github: GitHubClient
    suppression: SuppressionList
    llm: BaseChatModel | None = None
    gate: ModelGate | None = None  # built from `llm` and the settings when not given (the runner seeds it on resume)
    prompt_version: str = "v1"
    prompts_dir: Path | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Set by a caller that persists events (the service's worker): they go to it instead of the
    # stream, and every task ends with `events.flush()`, so a task's results are never checkpointed
    # before its events are stored (a crash loses none; a re-run task repeats them, and they are dropped).
    events: EventSink | None = None
    # Semantic matching (`tools/semantic.py`): None leaves the researcher to its topic rules and makes a
    # lookalike goal stop with one line. Vectors go to `vectors` (when set) in the tenant's namespace.
    embedder: Embedder | None = None
    vectors: VectorStore | None = None
    vector_namespace: str = "local"

    def __post_init__(self) -> None:
        if self.gate is None and self.llm is not None:
            self.gate = ModelGate(self.llm, CallPolicy.from_settings(self.settings))
