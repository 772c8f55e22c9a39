"""What a run is: the facts it starts with (`RunInfo`, kept in its checkpoint for `cmo resume`) and
what it ends with (`RunSummary`, whose first fields are SPEC's `campaign.completed` data)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from foundation.schemas.plan import SearchPlan

RunStatus = Literal["complete", "partial", "refused", "cancelled", "failed"]
BucketName = Literal["core", "search", "graphql"]
"""GitHub's own rate-limit buckets (its `X-RateLimit-Resource`): REST core, search, GraphQL points."""


def _absent(value: object) -> bool:
    return value is None


class RunInfo(BaseModel):
    """Facts about this run that the artifacts and `cmo resume` need."""

    run_id: str
    out_dir: str | None = Field(default=None, description="Where the CLI writes the artifacts; None for a service job")
    started_at: datetime
    sandbox: bool
    llm: str = Field(description="'none' or the model name")
    prompt_version: str
    api_base: str = Field(description="GitHub API base URL, or sandbox:<seed>:<users>")
    tenant_id: str | None = Field(default=None, description="The service tenant of a job; None for a CLI run")


class BucketUse(BaseModel):
    """One GitHub rate-limit bucket's use by a run."""

    requests: int = Field(description="Requests that counted against the bucket (GraphQL: points).")
    saved_by_cache: int = Field(description="304s from the ETag cache, which GitHub does not count.")
    retries: int = Field(description="Requests sent again after a 5xx or a rate limit.")
    remaining: int | None = Field(description="What GitHub last reported left in the bucket; null if never reported.")


class GitHubBudget(BaseModel):
    """A run's GitHub spend per bucket, and in budget units (core + search requests + GraphQL points)."""

    core: BucketUse
    search: BucketUse
    graphql: BucketUse
    budget_units: int = Field(description="core requests + search requests + GraphQL points.")


class EnrichmentPaths(BaseModel):
    """Which GitHub API enriched the candidates: GraphQL batches where it can, REST where it cannot."""

    graphql: int = Field(default=0, description="Candidates enriched over GraphQL.")
    rest: int = Field(default=0, description="Candidates enriched over REST.")
    graphql_off: str | None = Field(default=None, description="Why GraphQL did not serve (all or part of) the run.")


LLMStatus = Literal["none", "unused", "used", "partially used", "failed -> deterministic"]
"""How much of a run the model did: `none` no model configured; `unused` configured, no agent needed
it; `used` every agent that asked got its answers; `partially used` some agents or items took their
deterministic path; `failed -> deterministic` the model contributed nothing and every agent ran
deterministically."""
FailureKind = Literal["timeout", "rate_limited", "error", "unparsable", "invalid", "rejected", "breaker_open"]
"""Why a model call gave no usable answer (`llm.failed`'s `kind`): `timeout`, `rate_limited` (HTTP 429)
or `error` the request failed; `unparsable` no structured answer could be read from the reply;
`invalid` the answer broke the schema; `rejected` an agent's own check (grounding, vocabulary)
refused it; `breaker_open` the call was not sent because the run's circuit breaker was open."""


class LLMFallback(BaseModel):
    """Items of one agent that took the deterministic path for one reason."""

    agent: str
    reason: str
    count: int = Field(description="Items (a plan, drafts, reviews) that fell back for this reason.")


class LLMTokens(BaseModel):
    """Tokens the model reported (`usage`) over every answered request, failed or rejected ones included."""

    input: int = 0
    output: int = 0


class LLMUsage(BaseModel):
    """What the run asked of the model and what came of it: the gate's totals (agents/model_calls.py)."""

    status: LLMStatus
    structured_output: Literal["function_calling", "json_schema"] | None = Field(
        default=None, description="How agents asked for structured answers; null without a model."
    )
    requests: int = Field(default=0, description="Model requests sent, every retry included.")
    answers: int = Field(default=0, description="Answers an agent used.")
    failures: dict[FailureKind, int] = Field(
        default_factory=dict, description="Requests or answers that gave nothing usable, per kind."
    )
    refused: int = Field(default=0, description="Calls not sent because the circuit breaker was open.")
    breaker_opened: bool = Field(default=False, description="The circuit breaker opened during the run.")
    fallbacks: list[LLMFallback] = Field(default_factory=list, description="Where agents took their deterministic path, and why.")
    tokens: LLMTokens = Field(default_factory=LLMTokens)
    model_seconds: float = Field(default=0.0, description="Wall-clock seconds requests were in flight, summed.")


ResearchStop = Literal["finished", "steps", "budget", "github", "model_error", "no_tool_call"]


class ResearchReport(BaseModel):
    """What the researcher agent did: how far it went, what it cost and why it stopped."""

    steps: int = Field(description="Model turns taken.")
    tool_calls: int = Field(description="Tool calls the model made, valid or not.")
    tool_errors: int = Field(description="Calls answered as errors: bad arguments, unknown tools or repos, GitHub refusals.")
    repeated_calls: int = Field(default=0, description="Calls identical to an earlier one (answered without GitHub).")
    budget_units: int = Field(description="GitHub units (core + search requests) its tools spent.")
    repos_seen: int = Field(description="Repos its tools showed it.")
    repos_judged: int = Field(description="Repos it judged, relevant or not.")
    repos_relevant: int = Field(
        description="Repos it judged relevant that count (seen, of the audience's language, not forks or archived)."
    )
    stopped_by: ResearchStop = Field(description="finished (it called finish), or the limit or failure that stopped it.")
    fell_back: bool = Field(default=False, description="True when it found nothing and the deterministic researcher ran instead.")
    tokens: int = Field(default=0, description="Model tokens used, as the endpoint reported them.")


class CampaignCompleted(BaseModel):
    """SPEC's `campaign.completed` data, field for field: the one definition of what the graph's event,
    the job's stored terminal event (and so its SSE stream) and the webhook carry."""

    model_config = ConfigDict(frozen=True)

    # Whole seconds, as SPEC's example shows; a fractional value (a summary stored before) is rounded.
    duration_seconds: Annotated[int, BeforeValidator(round)] = Field(
        description="Wall-clock seconds from the start of the run to its end, whole."
    )
    prospects_found: int = Field(description="Leads kept (ranked, after suppression).")
    emails_contactable: int = Field(description="Leads whose compliance review is `approved`.")
    conversion_rate: float | None = Field(default=None, description="Null: engagement is recorded after the run.")
    artifacts: list[str] = Field(description="Names of the run's files.")

    def without_leads(self, found: int, contactable: int) -> Self:
        """The counts without `found` leads removed after the run, `contactable` of them approved (erasure)."""
        return self.model_copy(
            update={
                "prospects_found": max(0, self.prospects_found - found),
                "emails_contactable": max(0, self.emails_contactable - contactable),
            }
        )


class RunSummary(CampaignCompleted):
    """How a run ended: `summary.json`, `JobResult.summary`, a service job's `summary` column and
    `GET /api/jobs/{id}/summary`. SPEC's `campaign.completed` fields come first (`completed_event`).

    The facts from `plan` to `prompt_version` exist only for a run that reached `finalize`; a service
    job that stopped before it (cancelled, failed) has none, and they are left out of its JSON rather
    than written as null. `suppressed_after_run` appears only when the service dropped leads that were
    suppressed while the job ran.
    """

    run_id: str
    status: RunStatus = Field(description="complete, partial (a budget or rate limit stopped it), refused, cancelled, failed.")
    stop_reasons: list[str] = Field(default_factory=list, description="Why a partial run stopped early, sorted.")
    goal: str
    plan: SearchPlan | None = Field(default=None, exclude_if=_absent)
    verdicts: dict[str, int] | None = Field(default=None, exclude_if=_absent, description="Reviews per compliance verdict.")
    dropped: dict[str, int] | None = Field(default=None, exclude_if=_absent, description="People dropped, per reason.")
    api_requests: int | None = Field(default=None, exclude_if=_absent, description="GitHub requests that counted.")
    api_requests_saved_by_cache: int | None = Field(default=None, exclude_if=_absent, description="304s from the ETag cache.")
    api_retries: int | None = Field(default=None, exclude_if=_absent)
    budget: GitHubBudget | None = Field(
        default=None, exclude_if=_absent, description="GitHub spend per bucket; api_* are its core + search totals."
    )
    enrichment: EnrichmentPaths | None = Field(
        default=None, exclude_if=_absent, description="Candidates enriched per GitHub API, and why not GraphQL."
    )
    api_base: str | None = Field(default=None, exclude_if=_absent, description="GitHub API base URL, or sandbox:...")
    llm: str | None = Field(default=None, exclude_if=_absent, description="'none' or the model name.")
    llm_usage: LLMUsage | None = Field(
        default=None, exclude_if=_absent, description="Model requests, answers, failures, fallbacks, tokens and status."
    )
    sandbox: bool | None = Field(default=None, exclude_if=_absent)
    prompt_version: str | None = Field(default=None, exclude_if=_absent)
    suppressed_after_run: int | None = Field(default=None, exclude_if=_absent)
    research: ResearchReport | None = Field(
        default=None,
        exclude_if=_absent,
        description="The researcher agent's steps, spend and stop; absent when the rules researched.",
    )

    def completed_event(self) -> CampaignCompleted:
        """SPEC's `campaign.completed` data of this run, and nothing else."""
        return CampaignCompleted.model_validate(self.model_dump(include=set(CampaignCompleted.model_fields)))
