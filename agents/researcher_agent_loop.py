"""The researcher agent's conversation: the model calls typed GitHub tools until it finishes or a limit stops it.

One `Exploration` is one bounded session. Each turn is one model call (`_ask_model`, the only place
this agent talks to the model); every tool call in the answer gets exactly one `ToolMessage`, so the
conversation stays valid for OpenAI-compatible servers. What can go wrong is answered, never raised:
arguments that are not JSON, miss a field or break a limit come back as a `ToolMessage` with
`status="error"` saying what was wrong (and are counted); a repeated call is answered without GitHub;
a repo the model never saw cannot be judged. The session stops when the model calls `finish`, when it
has taken `max_steps` turns, when a GitHub tool is refused because `budget` units are spent, when
GitHub takes no more requests, when the model call fails, or when it twice answers without tools.
Whatever it judged relevant up to then is the outcome.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ValidationError

from agents.model_calls import ModelGate
from foundation.events import TOOL_CALLED, TOOL_RESULT, emit, reasoning
from foundation.schemas.run import ResearchReport, ResearchStop
from tools.github_transport import GitHubStop
from tools.research_tools import TOOLS, FinishArgs, JudgeReposArgs, RepoJudgement, ResearchTools, ToolError, tool_schemas

AGENT = "researcher_agent"
_GITHUB_TOOLS = frozenset({"search_repositories", "read_repo", "list_contributors", "user_profile"})
_NUDGE = "Answer only with tool calls: judge the repositories you considered with judge_repos, then call finish."
_SHOWN_ERROR_CHARS = 300


@dataclass
class Outcome:
    """What a session found and what it cost."""

    judgements: dict[str, RepoJudgement]
    report: ResearchReport
    stop_reasons: list[str] = field(default_factory=list)
    core_stopped: bool = False
    trail: list[dict[str, Any]] = field(default_factory=list)  # every call: tool, args, reason or error


def _ask_model(
    gate: ModelGate, model: Runnable[list[BaseMessage], BaseMessage], messages: list[BaseMessage], prompt_version: str
) -> AIMessage:
    """The researcher agent's one model call (the tools are bound), through the run's gate: its
    timeout, retries, circuit breaker, rate limit and `llm.*` events apply as to every agent."""
    answer = gate.invoke(AGENT, model, messages, prompt_version, label="research")
    if not isinstance(answer, AIMessage):
        raise TypeError(f"the model answered with a {type(answer).__name__}, not an AI message")
    return answer


class Exploration:
    """One agent session over `tools`, at most `max_steps` model turns and `budget` GitHub units."""

    def __init__(self, gate: ModelGate, tools: ResearchTools, *, max_steps: int, budget: int, prompt_version: str = "v1") -> None:
        self.gate, self.prompt_version = gate, prompt_version
        self.model = gate.llm.bind_tools(tool_schemas())
        self.tools, self.max_steps, self.budget = tools, max_steps, budget
        self.judgements: dict[str, RepoJudgement] = {}
        self.answers: dict[str, str] = {}  # canonical call -> the result already given
        self.steps = self.calls = self.errors = self.repeats = self.tokens = 0
        self.stops: list[str] = []
        self.trail: list[dict[str, Any]] = []
        self.core_stopped = False
        self._stop: ResearchStop | None = None

    def run(self, system: str, brief: str) -> Outcome:
        messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(brief)]
        nudged = False
        while self._stop is None:
            if self.steps >= self.max_steps:
                self._stop = "steps"
                reasoning(
                    AGENT, f"the step limit ({self.max_steps} turns) stopped the agent before it finished; {self._going_on()}"
                )
                break
            self.steps += 1
            try:
                answer = _ask_model(self.gate, self.model, messages, self.prompt_version)
            except Exception as exc:  # any provider failure: the run goes on without the model
                self._stop = "model_error"
                reasoning(AGENT, f"the model call failed ({str(exc)[:_SHOWN_ERROR_CHARS]}); {self._going_on()}")
                break
            self.tokens += answer.usage_metadata["total_tokens"] if answer.usage_metadata else 0
            messages.append(answer)
            if not answer.tool_calls and not answer.invalid_tool_calls:
                if nudged:
                    self._stop = "no_tool_call"
                    reasoning(AGENT, f"the model answered twice without calling a tool; {self._going_on()}")
                    break
                nudged = True
                messages.append(HumanMessage(_NUDGE))
                continue
            messages += self._answer_all(answer)
        return Outcome(self.judgements, self._report(), self.stops, self.core_stopped, self.trail)

    def _going_on(self) -> str:
        relevant = sum(j.relevant for j in self.judgements.values())
        return f"continuing with the {relevant} repos it judged relevant"

    def _answer_all(self, answer: AIMessage) -> list[ToolMessage]:
        """One ToolMessage per call of the answer, valid or not (OpenAI rejects a conversation without them)."""
        replies = []
        for bad in answer.invalid_tool_calls:
            self.calls += 1
            text = f"the arguments of {bad.get('name') or 'this call'} are not valid JSON: {bad.get('error') or 'unparseable'}"
            replies.append(self._error(bad.get("id") or "", bad.get("name") or "?", text))
        for call in answer.tool_calls:
            self.calls += 1
            replies.append(self._answer(call["name"], call.get("args") or {}, call.get("id") or ""))
        return replies

    def _answer(self, name: str, raw: dict[str, Any], call_id: str) -> ToolMessage:
        model = TOOLS.get(name)
        if model is None:
            return self._error(call_id, name, f"there is no tool {name!r}; the tools are {', '.join(TOOLS)}")
        try:
            args = model.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or name}: {e['msg']}" for e in exc.errors()[:5])
            return self._error(call_id, name, f"invalid arguments for {name}: {problems}")
        if isinstance(args, JudgeReposArgs):
            self.trail.append({"tool": name, "args": {"repos": len(args.judgements)}})
            return ToolMessage(self._judge(args), tool_call_id=call_id)
        if isinstance(args, FinishArgs):
            self.trail.append({"tool": name, "args": {}, "reason": args.summary})
            self._stop = self._stop or "finished"
            reasoning(AGENT, f"the agent finished after {self.steps} turns: {args.summary}")
            return ToolMessage("finished", tool_call_id=call_id)
        return self._github(name, args, call_id)

    def _github(self, name: str, args: BaseModel, call_id: str) -> ToolMessage:
        given = args.model_dump(exclude={"reason"})
        key = f"{name} {json.dumps(given, sort_keys=True)}"
        if key in self.answers:
            self.repeats += 1
            return ToolMessage(f"You already made this call; its result was: {self.answers[key]}", tool_call_id=call_id)
        if self.tools.spent() >= self.budget:
            if self._stop is None:
                self._stop = "budget"
                reasoning(AGENT, f"the agent's GitHub budget ({self.budget} units) is spent; {self._going_on()}")
            return self._error(call_id, name, f"the research budget of {self.budget} GitHub units is spent: call finish")
        reason = getattr(args, "reason", "")
        emit(TOOL_CALLED, AGENT, tool=name, args=given, reason=reason)
        started = time.perf_counter()
        outcome: dict[str, Any] = {}
        self.trail.append({"tool": name, "args": given, "reason": reason})
        try:
            result = self.tools.run(name, args)
            content = json.dumps({"result": result.model_dump(mode="json"), **self._left()})
            self.answers[key] = content
            outcome["summary"] = _summary(result)
            return ToolMessage(content, tool_call_id=call_id)
        except ToolError as exc:
            self.errors += 1
            outcome["error"] = str(exc)
            return ToolMessage(f"error: {exc}", tool_call_id=call_id, status="error")
        except GitHubStop as exc:
            self._stop, self.core_stopped = "github", exc.stops_core
            self.stops.append(str(exc))
            outcome["error"] = str(exc)
            reasoning(AGENT, f"GitHub takes no more requests ({exc}); {self._going_on()}")
            return ToolMessage(f"error: {exc}", tool_call_id=call_id, status="error")
        finally:
            self.trail[-1] |= {"error": outcome["error"]} if "error" in outcome else {}
            duration = round((time.perf_counter() - started) * 1000, 1)
            emit(TOOL_RESULT, AGENT, tool=name, **outcome, duration_ms=duration, budget_left=self.tools.client.budget.left())

    def _judge(self, args: JudgeReposArgs) -> str:
        by_lower = {name.lower(): name for name in self.tools.seen}
        recorded, unknown = 0, []
        for judgement in args.judgements:
            name = by_lower.get(judgement.full_name.lower())
            if name is None:
                unknown.append(judgement.full_name)
                continue
            self.judgements[name] = judgement.model_copy(update={"full_name": name})
            recorded += 1
            verdict = "relevant" if judgement.relevant else "not relevant"
            reasoning(AGENT, f"{name}: {verdict}: {judgement.reason}", repo=name, relevant=judgement.relevant)
        if unknown:
            self.errors += 1
            reasoning(
                AGENT, f"the model judged {len(unknown)} repos no tool showed it; they are left out: {', '.join(unknown[:5])}"
            )
        reply: dict[str, Any] = {"recorded": recorded, **self._left()}
        if unknown:
            reply["not_recorded"] = {"repos": unknown, "why": "no tool result showed them: search for or read them first"}
        return json.dumps(reply)

    def _left(self) -> dict[str, int]:
        return {"budget_left": max(self.budget - self.tools.spent(), 0), "turns_left": self.max_steps - self.steps}

    def _error(self, call_id: str, name: str, text: str) -> ToolMessage:
        self.errors += 1
        self.trail.append({"tool": name, "error": text[:_SHOWN_ERROR_CHARS]})
        reasoning(AGENT, f"answered the model's {name} call with an error ({self.errors} so far): {text[:_SHOWN_ERROR_CHARS]}")
        return ToolMessage(f"error: {text}", tool_call_id=call_id, status="error")

    def _report(self) -> ResearchReport:
        return ResearchReport(
            steps=self.steps,
            tool_calls=self.calls,
            tool_errors=self.errors,
            repeated_calls=self.repeats,
            budget_units=self.tools.spent(),
            repos_seen=len(self.tools.seen),
            repos_judged=len(self.judgements),
            repos_relevant=sum(j.relevant for j in self.judgements.values()),
            stopped_by=self._stop or "finished",
            tokens=self.tokens,
        )


def _summary(result: BaseModel) -> str:
    """A short line for the trace's `tool.result`."""
    data = result.model_dump()
    if "total_count" in data:
        return f"{len(data['repos'])} of {data['total_count']} repos"
    if "contributors" in data:
        return f"{len(data['contributors'])} contributors"
    if "untrusted_readme_excerpt" in data:
        text = data["untrusted_readme_excerpt"]
        return f"README excerpt of {len(text)} characters" if text else "no README"
    return f"profile with {len(data.get('recent_activity', []))} recent events"
