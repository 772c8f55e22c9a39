"""What every suite shares: the per-example result, the suite result and the context a suite runs in.

A suite module (`evals/suite_<name>.py`) exposes `evaluate(example, ctx) -> ExampleResult` and
`aggregate(results) -> (aggregates, advisory_names)`; the runner maps the first over the dataset and
calls the second once. Results are plain pydantic models so `results.json` is the single contract
between the runner, the reports and `compare`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agents.model_calls import ModelGate
from evals.settings import EvalSettings
from foundation.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from evals.recording import LLMSession

RESULTS = "results.json"
# The sender the eval's drafts are written from: fixed, so message scores never depend on who runs them.
EVAL_SENDER = {
    "cmo_sender_name": "Dana Evals",
    "cmo_sender_company": "TechFlow",
    "cmo_sender_postal_address": "TechFlow, 1 Main St, Springfield, USA",
    "cmo_unsubscribe_url": "https://techflow.dev/unsubscribe",
}


class ExampleResult(BaseModel):
    """One example's inputs, outputs, scores, verdict and the reasons it failed (empty when it passed)."""

    id: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    scores: dict[str, Any] = Field(default_factory=dict)
    advisory: dict[str, Any] = Field(default_factory=dict, description="LLM-judge scores: reported, never gated")
    passed: bool
    failures: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    seconds: float = 0.0


class SuiteResult(BaseModel):
    suite: str
    dataset_version: str
    examples: list[ExampleResult]
    aggregates: dict[str, Any]
    advisory: list[str] = Field(default_factory=list, description="aggregate names that are LLM-judge scores")
    latency_s: dict[str, Any] = Field(default_factory=dict, description="p50/p95/mean seconds per example")
    seconds: float = 0.0


@dataclass
class SuiteContext:
    """What a suite may use: the run directory, the fixed date, the prompt choice and the models."""

    run_dir: Path
    today: date
    prompt_version: str
    prompts_dir: Path | None
    session: LLMSession | None

    def chat_model(self, scope: str) -> BaseChatModel | None:
        """The model for one example (its own recorded or replayed connection), None on the deterministic path."""
        return self.session.chat_model(scope) if self.session else None

    def gate(self, scope: str) -> ModelGate | None:
        """`chat_model` behind its own model gate (the default limits), as agents call a model in a run."""
        model = self.chat_model(scope)
        return ModelGate(model) if model is not None else None

    def settings(self, home: Path | None = None, **overrides: Any) -> Settings:
        """Offline settings: the sandbox, SQLite in `home`, the eval sender, this run's prompt choice."""
        values: dict[str, Any] = {
            **EVAL_SENDER,
            "cmo_home": home or self.run_dir / "home",
            "cmo_prompt_version": self.prompt_version,
            "cmo_prompts_dir": self.prompts_dir,
        }
        if self.session:
            values |= self.session.settings_values()
        return EvalSettings(**(values | overrides))


def scope(suite: str, example_id: str) -> str:
    """The recording scope of one example (see `evals.recording`)."""
    return f"{suite}/{example_id}"
