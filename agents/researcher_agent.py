"""Researcher agent: for a goal whose subject is outside the vocabulary, the model finds the repos.

The planner's fixed searches work for subjects the vocabulary knows; for "Go developers writing
kubectl plugins" they can only search the words literally, or (when the words were not even
understood) the language alone. So when a model is configured and the planner marks the subject
open-ended (`SearchPlan.open_ended`), or `CMO_RESEARCH=agent` / `cmo run --research agent` asks for
it, this node replaces the deterministic researcher: the model proposes and refines searches with
typed tools (`tools.research_tools`, through the run's budgeted GitHub client), reads READMEs, looks
at contributors and profiles, and judges each repo with a reason (`agents.researcher_agent_loop`).

The repos it judged relevant become the audience's subject (`TargetAudience.subject_repos`: activity
then counts in them, `foundation.subjects`) after the same keep-check as the rules' (forks, archived
repos, other languages and suppressed owners never count), and go to the deterministic path through
the same state keys the deterministic researcher fills: mining, selection by role, enrichment. If it
judged nothing relevant (or could not run at all), the deterministic researcher runs instead.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from agents.context import Context
from agents.mining import next_chunk, repo_order
from agents.researcher import researcher
from agents.researcher_agent_loop import AGENT, Exploration, Outcome
from agents.state import State
from foundation.events import reasoning
from foundation.schemas import SearchPlan, TargetAudience
from foundation.schemas.github import RepoInfo
from foundation.subjects import fits
from foundation.vocabulary import load_vocabulary
from prompts import PromptNotFound, load_prompt
from tools.research_tools import ResearchTools
from tools.suppression import SuppressionList


def wants_agent(plan: SearchPlan, ctx: Context) -> bool:
    """Whether the agent researches this plan: a model is configured, research is not `rules`, and
    either `agent` is asked for or (`auto`) the planner marked the subject open-ended."""
    mode = ctx.settings.cmo_research
    if ctx.gate is None or mode == "rules" or plan.refusal:
        return False
    return mode == "agent" or plan.open_ended


def brief(goal: str, plan: SearchPlan, today: str) -> str:
    """The user message: the goal and what the planner understood of it (the goal is the operator's
    own words; nothing here comes from GitHub)."""
    a = plan.audience
    lines = [
        f"Goal: {goal}",
        "What the planner understood:",
        f"- languages: {', '.join(a.languages) or 'any'} (relevant repositories are in one of them)",
        f"- role: {a.role} (maintainer, contributor or any developer)",
        f"- subject words: {', '.join(a.keywords) or 'none recognised'}",
    ]
    if plan.ignored_terms:
        lines.append(f"- words it could not place: {', '.join(plan.ignored_terms)}")
    if a.exclude_keywords or a.exclude_domains:
        lines.append(f"- leave out repositories about: {', '.join(a.exclude_keywords + a.exclude_domains)}")
    if a.stars_range:
        lines.append(f"- stars: {a.stars_range}")
    lines.append(f"Today's date: {today}")
    return "\n".join(lines)


def researcher_agent(state: State, runtime: Runtime[Context]) -> dict:
    ctx = runtime.context
    plan, settings = state["plan"], ctx.settings
    if ctx.gate is None:  # routed here with a model, resumed without one (`cmo resume` with no key)
        reasoning(AGENT, "no model is configured any more; the deterministic researcher runs the plan's searches")
        return researcher(state, runtime)
    why = "the goal's subject is outside the vocabulary" if plan.open_ended else "agent research was asked for"
    steps, budget = settings.cmo_research_max_steps, settings.cmo_research_budget
    reasoning(AGENT, f"{why}: the model researches GitHub with tools (at most {steps} turns and {budget} GitHub units)")
    try:
        prompt = load_prompt("researcher_agent", ctx.prompt_version, ctx.prompts_dir)
    except PromptNotFound as exc:
        reasoning(AGENT, f"{exc}; the deterministic researcher runs the plan's searches")
        return researcher(state, runtime)
    tools = ResearchTools(ctx.github)
    system = prompt.format(max_steps=steps, budget=budget)
    outcome = Exploration(ctx.gate, tools, max_steps=steps, budget=budget, prompt_version=ctx.prompt_version).run(
        system, brief(state["goal"], plan, ctx.now.date().isoformat())
    )
    return hand_off(state, runtime, tools, outcome)


def keep(
    relevant: list[str], seen: dict[str, RepoInfo], audience: TargetAudience, suppression: SuppressionList
) -> dict[str, RepoInfo]:
    """The repos judged relevant that count, as the rules keep repos (`foundation.subjects.fits` with
    them as the subject: never forks, archived repos or other languages), suppressed owners left out,
    tagged with their vocabulary domains like the rules' repos."""
    subject = audience.model_copy(update={"subject_repos": relevant})
    vocabulary = load_vocabulary()
    return {
        name: seen[name].model_copy(update={"domains": vocabulary.domains_of(seen[name].topics, seen[name].description)})
        for name in relevant
        if fits(subject, seen[name]) and not suppression.contains(login=seen[name].owner)
    }


def hand_off(state: State, runtime: Runtime[Context], tools: ResearchTools, outcome: Outcome) -> dict:
    """The repos judged relevant, kept as the rules keep repos, as the deterministic researcher's
    state update (plus the narrowed audience and the agent's report); the rules' research when none is left."""
    plan, ctx = state["plan"], runtime.context
    relevant = sorted(name for name, judgement in outcome.judgements.items() if judgement.relevant)
    kept = keep(relevant, tools.seen, plan.audience, ctx.suppression)
    report = outcome.report.model_copy(update={"repos_relevant": len(kept)})
    if not kept:
        reasoning(AGENT, "the agent judged no repo relevant that counts; the deterministic researcher runs the plan's searches")
        fallback = researcher(state, runtime)
        return {
            **fallback,
            "stop_reasons": outcome.stop_reasons + fallback["stop_reasons"],
            "core_stopped": outcome.core_stopped or fallback["core_stopped"],
            "research": report.model_copy(update={"fell_back": True}),
        }
    reasoning(
        AGENT,
        f"{report.repos_judged} repos judged in {report.steps} turns ({report.budget_units} GitHub units, "
        f"{report.tool_errors} tool errors); {len(relevant)} relevant, {len(kept)} count (forks, archived repos, "
        "other languages and suppressed owners never do): their contributors are mined next",
        repos=len(kept),
        stopped_by=report.stopped_by,
    )
    audience = plan.audience.model_copy(update={"subject_repos": sorted(kept)})
    update: State = {
        "plan": plan.model_copy(update={"audience": audience}),
        "campaign": state["campaign"].model_copy(update={"target_audience": audience}),
        "repos": kept,
        "repo_order": repo_order(kept),
        "mined": 0,
        "core_stopped": outcome.core_stopped,
        "research": report,
    }
    return {"stop_reasons": outcome.stop_reasons, **update, **next_chunk({**state, **update})}
