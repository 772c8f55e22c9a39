"""Every model call an agent makes goes through the run's `ModelGate`: bounded, limited and observable.

Why one gate: a model endpoint that hung cost a run minutes in every agent (each retried on its own
behind hard-coded timeouts) and left no trace, and a failing one cost dozens of requests. The gate
is created once per run (graph/runner.py puts it on `Context.gate`, next to the model) and shared by
every agent and every concurrent call, so the limits hold for the run as a whole:

- One structured-output method for every agent, `CMO_LLM_STRUCTURED_OUTPUT`: function calling by
  default (OpenAI-compatible servers such as vLLM and Ollama support it), JSON schema where supported.
- The chat model waits `CMO_LLM_TIMEOUT_SECONDS` for a request and never retries by itself
  (graph/llm.py); the gate retries a timeout, a connection error, a 429 or a 5xx up to
  `CMO_LLM_MAX_RETRIES` times, after the server's Retry-After or an exponential backoff.
- A circuit breaker opens after `CMO_LLM_BREAKER_FAILURES` consecutive failed requests (a reply with
  no readable structured answer counts: a server that cannot produce one will not start to). From
  then on every call is refused at once with `ModelUnavailable`, retries waiting for their turn stop,
  and each agent takes its deterministic path. It stays open for the rest of the run.
- An optional requests/tokens-per-minute limit (`agents.rate_limit`) holds calls back; at most
  `CMO_LLM_CONCURRENCY` calls of one batch (`structured_many`) are in flight at once.
- Every try emits `llm.called`, then `llm.result` or `llm.failed` (agent, model, prompt version,
  attempt, retry, latency, tokens, the reason); agents report the answers they reject (`rejected`)
  and where they fell back (`fell_back`), and `usage()` is the run's totals for summary.json.

`attempt` is the agent's attempt at one item (2 = the answer after its first rejection); `retry` is
the gate's transport retry within that attempt (0 = the first request).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from langchain_core.exceptions import ModelError, ModelRateLimitError, ModelRefusalError, ModelTimeoutError
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.runnables import Runnable
from langchain_core.runnables.config import ContextThreadPoolExecutor
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from agents.rate_limit import MinuteLimit, Ticket
from foundation.events import LLM_CALLED, LLM_FAILED, LLM_RESULT, emit
from foundation.schemas.run import FailureKind, LLMFallback, LLMTokens, LLMUsage
from foundation.settings import Settings

StructuredMethod = Literal["function_calling", "json_schema"]
T = TypeVar("T", bound=BaseModel)

BREAKER_KINDS: frozenset[FailureKind] = frozenset({"timeout", "rate_limited", "error", "unparsable"})
_MAX_RETRY_AFTER_SECONDS = 60.0
_MAX_BACKOFF_SECONDS = 8.0
_REASON_CHARS = 300
_SHOWN_INPUT_CHARS = 80


@dataclass(frozen=True)
class CallPolicy:
    """The limits of one run's model calls (`CMO_LLM_*`; the defaults are the settings' defaults).
    The per-request timeout is the chat model's own (`get_chat_model`)."""

    max_retries: int = 2
    breaker_failures: int = 3
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    structured_output: StructuredMethod = "function_calling"
    concurrency: int = 8  # calls of one `structured_many` in flight at once

    @classmethod
    def from_settings(cls, settings: Settings) -> CallPolicy:
        return cls(
            max_retries=settings.cmo_llm_max_retries,
            breaker_failures=settings.cmo_llm_breaker_failures,
            requests_per_minute=settings.cmo_llm_requests_per_minute,
            tokens_per_minute=settings.cmo_llm_tokens_per_minute,
            structured_output=settings.cmo_llm_structured_output,
            concurrency=settings.cmo_llm_concurrency,
        )


class ModelUnavailable(Exception):
    """The call got no reply: every try failed, or the circuit breaker was open. The agent should
    take its deterministic path (the gate has already retried what was worth retrying)."""

    def __init__(self, kind: FailureKind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason

    @property
    def fallback_reason(self) -> str:
        """The reason an agent reports when it falls back (`fell_back`): by kind, so items aggregate."""
        return "not sent: circuit breaker open" if self.kind == "breaker_open" else f"model call failed ({self.kind})"


@dataclass(frozen=True)
class Answer(Generic[T]):
    """A reply to `ModelGate.structured`: the parsed object, or None and the `problem` with the reply
    in words fit to send back to the model. `error` is LangChain's parsing error as it came
    (`ValidationError`, `OutputParserException`, `ModelRefusalError`) for agents that need its detail."""

    agent: str
    call_id: int
    attempt: int
    prompt_version: str
    raw: AIMessage
    parsed: T | None
    error: BaseException | None
    problem: str | None


@dataclass
class _Sent:
    """One successful try of a call: what `_send` hands to the reader of its output."""

    call_id: int
    facts: dict[str, Any]  # what every event of the call carries
    retry: int
    seconds: float
    ticket: Ticket | None


class ModelGate:
    """The run's model calls (see the module docstring). Thread-safe: agents call it from a thread pool."""

    def __init__(self, llm: BaseChatModel, policy: CallPolicy | None = None, *, seed: LLMUsage | None = None) -> None:
        """`seed`: the totals a resumed run had before (from its checkpoint); the breaker starts closed."""
        self.llm = llm
        self.policy = policy or CallPolicy()
        self.model = str(getattr(llm, "model_name", None) or getattr(llm, "model", None) or type(llm).__name__)
        self._lock = threading.Lock()
        self._opened = threading.Event()
        self._limit = (
            MinuteLimit(self.policy.requests_per_minute, self.policy.tokens_per_minute)
            if self.policy.requests_per_minute or self.policy.tokens_per_minute
            else None
        )
        self._runnables: dict[type[BaseModel], Runnable[LanguageModelInput, Any]] = {}
        self._calls = 0
        self._consecutive = 0
        self._changed = False
        done = seed or LLMUsage(status="unused")
        self._requests, self._answers, self._refused = done.requests, done.answers, done.refused
        self._failures: Counter[FailureKind] = Counter(done.failures)
        self._fallbacks: Counter[tuple[str, str]] = Counter({(f.agent, f.reason): f.count for f in done.fallbacks})
        self._tokens = [done.tokens.input, done.tokens.output]
        self._seconds = done.model_seconds
        self._breaker_opened = done.breaker_opened

    @property
    def is_open(self) -> bool:
        """The circuit breaker is open: every call is refused until the run ends."""
        return self._opened.is_set()

    def structured(
        self, agent: str, schema: type[T], messages: LanguageModelInput, prompt_version: str, *, attempt: int = 1
    ) -> Answer[T]:
        """Ask for one `schema` object. Returns the reply even when it could not be parsed (`problem`
        says why, for the agent's feedback); raises `ModelUnavailable` when there was no reply."""
        runnable = self._structured_runnable(schema)
        output, sent = self._send(agent, runnable, messages, prompt_version, attempt, schema.__name__)
        raw: AIMessage = output["raw"]
        error: BaseException | None = output.get("parsing_error")
        parsed = output.get("parsed")
        problem = None if isinstance(parsed, schema) or isinstance(error, ModelRefusalError) else _problem(schema, raw, error)
        kind: FailureKind | None = (
            None if problem is None else ("invalid" if isinstance(error, ValidationError) else "unparsable")
        )
        self._answered(agent, sent, raw.usage_metadata, kind, problem)
        return Answer(
            agent=agent,
            call_id=sent.call_id,
            attempt=attempt,
            prompt_version=prompt_version,
            raw=raw,
            parsed=parsed if problem is None else None,
            error=error,
            problem=problem,
        )

    def structured_many(
        self, agent: str, schema: type[T], conversations: Sequence[LanguageModelInput], prompt_version: str, *, attempt: int = 1
    ) -> list[Answer[T] | ModelUnavailable]:
        """`structured` for many conversations, `policy.concurrency` at a time, in order; a call that got
        no reply is its `ModelUnavailable`. Once the breaker opens the calls not yet sent are refused."""

        def one(messages: LanguageModelInput) -> Answer[T] | ModelUnavailable:
            try:
                return self.structured(agent, schema, messages, prompt_version, attempt=attempt)
            except ModelUnavailable as exc:
                return exc

        if len(conversations) <= 1:
            return [one(messages) for messages in conversations]
        with ContextThreadPoolExecutor(max_workers=min(self.policy.concurrency, len(conversations))) as pool:
            return list(pool.map(one, conversations))

    def invoke(
        self,
        agent: str,
        runnable: Runnable[Any, Any],
        input: Any,
        prompt_version: str,
        *,
        attempt: int = 1,
        label: str = "invoke",
    ) -> Any:
        """Run `runnable` (e.g. `gate.llm.bind_tools(tools)`) under the gate's retries, breaker, limit
        and events, and return its output; `label` names the call in events. Raises `ModelUnavailable`."""
        output, sent = self._send(agent, runnable, input, prompt_version, attempt, label)
        self._answered(agent, sent, output.usage_metadata if isinstance(output, AIMessage) else None, None, None)
        return output

    def rejected(self, agent: str, reason: str, answer: Answer[Any] | None = None) -> None:
        """An agent refused a reply the gate let through (grounding, vocabulary, a tool it does not
        have): `llm.failed` with kind `rejected`. The endpoint worked, so the breaker does not count it."""
        with self._lock:
            self._answers -= 1
            self._failures["rejected"] += 1
            self._changed = True
        facts: dict[str, Any] = {"call_id": answer.call_id} if answer else {}
        facts["model"] = self.model
        facts |= {"prompt_version": answer.prompt_version, "attempt": answer.attempt} if answer else {}
        emit(LLM_FAILED, agent, **facts, kind="rejected", reason=_cut(reason), will_retry=False)

    def fell_back(self, agent: str, reason: str, count: int = 1) -> None:
        """`count` items of `agent` took the deterministic path for `reason` (summary.json's `fallbacks`)."""
        if count:
            with self._lock:
                self._fallbacks[agent, reason] += count
                self._changed = True

    def usage(self) -> LLMUsage:
        """The run's totals so far, with the status they amount to."""
        with self._lock:
            fallbacks = [LLMFallback(agent=a, reason=r, count=n) for (a, r), n in sorted(self._fallbacks.items())]
            if not fallbacks:
                status = "used" if self._requests else "unused"
            else:
                status = "partially used" if self._answers > 0 else "failed -> deterministic"
            return LLMUsage(
                status=status,
                structured_output=self.policy.structured_output,
                requests=self._requests,
                answers=self._answers,
                failures=dict(sorted(self._failures.items())),
                refused=self._refused,
                breaker_opened=self._breaker_opened,
                fallbacks=fallbacks,
                tokens=LLMTokens(input=self._tokens[0], output=self._tokens[1]),
                model_seconds=round(self._seconds, 3),
            )

    def changes(self) -> LLMUsage | None:
        """`usage()` when anything happened since the last call of `changes` (for the checkpoint), else None."""
        with self._lock:
            changed, self._changed = self._changed, False
        return self.usage() if changed else None

    # --- internals ----------------------------------------------------------------------------

    def _structured_runnable(self, schema: type[BaseModel]) -> Runnable[LanguageModelInput, Any]:
        with self._lock:
            if schema not in self._runnables:
                self._runnables[schema] = self.llm.with_structured_output(
                    schema, method=self.policy.structured_output, include_raw=True
                )
            return self._runnables[schema]

    def _send(
        self, agent: str, runnable: Runnable[Any, Any], input: Any, prompt_version: str, attempt: int, label: str
    ) -> tuple[Any, _Sent]:
        """One call: tries until a reply, a non-retryable error, the last retry or an open breaker."""
        with self._lock:
            self._calls += 1
            call_id = self._calls
        facts = {"call_id": call_id, "model": self.model, "prompt_version": prompt_version, "attempt": attempt, "schema": label}
        estimate = _estimate_tokens(input) if self._limit and self._limit.tokens_per_minute else 0
        retry, failure = 0, None
        while True:
            admitted = self._admit(estimate)
            if admitted is None:  # a retry the breaker stopped fails as its last try did
                raise failure or ModelUnavailable("breaker_open", "not sent: the circuit breaker is open")
            ticket, waited = admitted
            emit(LLM_CALLED, agent, **facts, retry=retry, **({"waited_ms": round(waited * 1000)} if waited >= 0.001 else {}))
            started = time.perf_counter()
            try:
                output = runnable.invoke(input)
            except Exception as exc:  # every provider failure is classified, counted and maybe retried
                self._answered_by_provider(ticket)
                seconds = time.perf_counter() - started
                kind, reason = _kind(exc), _reason(exc)
                opened = self._failed(kind, seconds)
                again = retry < self.policy.max_retries and _retryable(exc) and not self.is_open
                emit(
                    LLM_FAILED,
                    agent,
                    **facts,
                    retry=retry,
                    latency_ms=round(seconds * 1000),
                    kind=kind,
                    reason=reason,
                    will_retry=again,
                    **({"breaker": "open"} if opened else {}),
                )
                failure = ModelUnavailable(kind, reason)
                if not again or self._opened.wait(_backoff(retry, exc)):
                    raise failure from exc
                retry += 1
                continue
            self._answered_by_provider(ticket)
            return output, _Sent(call_id, facts, retry, time.perf_counter() - started, ticket)

    def _answered_by_provider(self, ticket: Ticket | None) -> None:
        """The request is over (answered or failed): the minute limit counts it for one more minute."""
        if ticket is not None and self._limit is not None:
            self._limit.finish(ticket)

    def _admit(self, estimate: int) -> tuple[Ticket | None, float] | None:
        """Count one request, after the rate limit lets it through; None: the breaker is open."""
        admitted: tuple[Ticket | None, float] | None = (None, 0.0)
        if not self.is_open and self._limit is not None:
            admitted = self._limit.acquire(estimate, self._opened)
        with self._lock:
            self._changed = True
            if admitted is None or self._opened.is_set():
                self._refused += 1
                return None
            self._requests += 1
        return admitted

    def _failed(self, kind: FailureKind, seconds: float) -> bool:
        """Count a failed try; True when it is the one that opened the breaker."""
        with self._lock:
            self._seconds += seconds
            return self._count_failure(kind)

    def _count_failure(self, kind: FailureKind) -> bool:
        """(Lock held.) Count a failure of `kind`; True when it opened the breaker. A reply, even an
        invalid one, shows the endpoint works, so only `BREAKER_KINDS` in a row open it."""
        self._failures[kind] += 1
        self._changed = True
        if kind not in BREAKER_KINDS:
            self._consecutive = 0
            return False
        self._consecutive += 1
        if self._consecutive < self.policy.breaker_failures or self._opened.is_set():
            return False
        self._breaker_opened = True
        self._opened.set()
        return True

    def _answered(
        self, agent: str, sent: _Sent, usage: UsageMetadata | None, kind: FailureKind | None, problem: str | None
    ) -> None:
        """Count a reply (tokens, time, and an answer or a failure of `kind`) and emit its event."""
        tokens = {"tokens_in": usage["input_tokens"], "tokens_out": usage["output_tokens"]} if usage else {}
        if self._limit is not None and sent.ticket is not None and usage:
            self._limit.settle(sent.ticket, usage["total_tokens"])
        with self._lock:
            self._tokens[0] += tokens.get("tokens_in", 0)
            self._tokens[1] += tokens.get("tokens_out", 0)
            self._seconds += sent.seconds
            self._changed = True
            if kind is None:
                self._answers += 1
                self._consecutive = 0
                opened = False
            else:
                opened = self._count_failure(kind)
        facts = {**sent.facts, "retry": sent.retry, "latency_ms": round(sent.seconds * 1000), **tokens}
        if kind is None:
            emit(LLM_RESULT, agent, **facts)
        else:
            breaker = {"breaker": "open"} if opened else {}
            emit(LLM_FAILED, agent, **facts, kind=kind, reason=_cut(problem or ""), will_retry=False, **breaker)


def describe_validation(error: ValidationError) -> list[str]:
    """Each pydantic error as `field.path: message (got value)`, the value cut short to keep prompts small."""
    return [_describe(detail) for detail in error.errors()]


def _describe(detail: ErrorDetails) -> str:
    where = ".".join(str(part) for part in detail["loc"]) or "the answer"
    shown = repr(detail.get("input"))
    if len(shown) > _SHOWN_INPUT_CHARS:
        shown = shown[: _SHOWN_INPUT_CHARS - 3] + "..."
    return f"{where}: {detail['msg']} (got {shown})"


def _problem(schema: type[BaseModel], raw: AIMessage, error: BaseException | None) -> str:
    """Why a reply holds no `schema` object, in words the model can act on."""
    name = schema.__name__
    if isinstance(error, ValidationError):
        return "; ".join(describe_validation(error))
    if error is not None:
        return f"the {name} answer could not be read: {error}"
    broken = [call.get("error") or "not valid JSON" for call in raw.invalid_tool_calls]
    if broken:
        return f"the {name} arguments could not be parsed: {broken[0]}"
    return f"you answered without calling the {name} tool; call it exactly once"


def _estimate_tokens(input: Any) -> int:
    """A rough prompt size for the tokens-per-minute limit (no tokenizer: it would download offline)."""
    if isinstance(input, str):
        return max(1, len(input) // 4)
    if isinstance(input, Sequence) and all(isinstance(item, BaseMessage) for item in input):
        return count_tokens_approximately(list(input))
    return 0


def _kind(exc: BaseException) -> FailureKind:
    """LangChain's provider-independent errors (`ModelError`) say what happened, whatever the provider."""
    if isinstance(exc, ModelTimeoutError):
        return "timeout"
    if isinstance(exc, ModelRateLimitError):
        return "rate_limited"
    return "error"


def _retryable(exc: BaseException) -> bool:
    """What may succeed when sent again (`ModelError.is_retryable`: timeouts, connection errors, 429s
    and 5xx), unless the server says otherwise (`x-should-retry`, as the OpenAI client honours it)."""
    should = _headers(exc).get("x-should-retry", "").lower()
    if should in ("true", "false"):
        return should == "true"
    return isinstance(exc, ModelError) and exc.is_retryable


def _backoff(retry: int, exc: BaseException) -> float:
    """The server's Retry-After (up to a minute) or 0.5 s, 1 s, 2 s, ... (at most 8 s), jittered."""
    headers = _headers(exc)
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            seconds = float(headers.get(name, "")) * scale
        except ValueError:
            continue
        if 0 < seconds <= _MAX_RETRY_AFTER_SECONDS:
            return seconds
    return min(0.5 * 2**retry, _MAX_BACKOFF_SECONDS) * (1 - 0.25 * random.random())


def _headers(exc: BaseException) -> Mapping[str, str]:
    """The HTTP response headers of a provider error (the SDKs keep the httpx response), else none."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    return headers if isinstance(headers, Mapping) else {}


def _reason(exc: BaseException) -> str:
    return _cut(f"{type(exc).__name__}: {exc}")


def _cut(text: str) -> str:
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 3] + "..."
