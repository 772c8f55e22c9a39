"""Planner: goal text (+ optional campaign) -> target audience and the GitHub searches that find it.

With an LLM it asks for structured output through the run's model gate (validated, retried);
without one — or when the model keeps failing — the deterministic parser reads the goal. Fields the
campaign file sets explicitly win over what the goal says; the search plan is always built by code
from the audience. How many leads to keep follows `lead_count` instead (a number in the goal beats
the campaign's), the rule the service's `job.created` webhook and the chat announce too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from langgraph.runtime import Runtime

from agents.context import Context
from agents.goal_parser import ParsedGoal, parse_goal
from agents.planner_llm import AGENT, TOPIC_SLUG, LLMPlan, PlannerLLMError, plan_with_llm
from agents.state import State
from foundation.events import reasoning
from foundation.schemas import Campaign, SearchPlan, SearchQuery, TargetAudience
from foundation.schemas.plan import lead_count
from foundation.vocabulary import load_vocabulary
from prompts import load_prompt

if TYPE_CHECKING:
    from agents.model_calls import ModelGate

_MAX_TEXT_KEYWORDS = 5
_UNSAFE = re.compile(r"[^a-z0-9 .+#-]")


def planner(state: State, runtime: Runtime[Context]) -> dict:
    ctx = runtime.context
    plan, campaign = make_plan(
        state["goal"],
        state["campaign"],
        state.get("max_prospects"),
        lookalike_of=state.get("lookalike_of", []),
        today=ctx.now.date(),
        gate=ctx.gate,
        prompt_version=ctx.prompt_version,
        prompts_dir=ctx.prompts_dir,
    )
    return {"plan": plan, "campaign": campaign}


def make_plan(
    goal: str,
    campaign: Campaign,
    requested: int | None,
    *,
    lookalike_of: Sequence[str] = (),
    today: date,
    gate: ModelGate | None = None,
    prompt_version: str = "v1",
    prompts_dir: Path | None = None,
) -> tuple[SearchPlan, Campaign]:
    """The plan for `goal` (the model's reading when `gate` is given and its plan stays valid, else
    the rules'), and the campaign updated with the audience and lead count it settled on. The node and
    the planner eval share it: the eval needs no GitHub, suppression list or run context.
    `lookalike_of` (seeds given with the run) wins over the goal's @-mentions ("like @alice")."""
    rules = parse_goal(goal, today=today)
    parsed: ParsedGoal | LLMPlan = rules
    seeds = list(dict.fromkeys(lookalike_of)) or rules.lookalike_of
    planned_by = "rules"
    if gate is not None and not parsed.refusal:
        try:
            parsed = plan_with_llm(gate, goal, load_prompt("planner", prompt_version, prompts_dir), today, prompt_version)
            planned_by = "llm"
        except PlannerLLMError as exc:
            gate.fell_back(AGENT, exc.fallback)
            reasoning(AGENT, f"no plan from the model ({exc}); using the deterministic parser")
    audience = _merge(parsed.audience, campaign.target_audience)
    max_prospects = lead_count(requested, parsed.max_prospects, campaign)
    plan = SearchPlan(
        audience=audience,
        max_prospects=max_prospects,
        queries=[] if parsed.refusal or seeds else build_queries(audience, today, max_prospects),
        ignored_terms=parsed.ignored_terms,
        notes=parsed.notes,
        refusal=parsed.refusal,
        planned_by=planned_by,
        open_ended=not parsed.refusal and not seeds and open_subject(audience, parsed.ignored_terms),
        lookalike_of=seeds,
    )
    reasoning(  # the audience rides along so a reader (the web app's chips) shows what was understood
        AGENT,
        describe(plan),
        planned_by=planned_by,
        ignored=plan.ignored_terms,
        audience=audience.model_dump(mode="json"),
        max_prospects=max_prospects,
        open_ended=plan.open_ended,
        notes=plan.notes,  # how the model (or the rules) read the goal: in the trace, not only in summary.json
    )
    updated = campaign.model_copy(
        update={
            "goal": campaign.goal or goal,
            "target_audience": audience,
            "campaign_settings": campaign.campaign_settings.model_copy(update={"max_prospects": max_prospects}),
        }
    )
    return plan, updated


def open_subject(audience: TargetAudience, ignored_terms: list[str]) -> bool:
    """Whether the goal's subject is outside the vocabulary: no domain or topic matched (nor named
    repos), only words we do not know (keywords, or words the reading ignored). Searching such words
    literally finds little, so with a model the researcher agent explores instead (`CMO_RESEARCH`)."""
    known = audience.domains or audience.topics or audience.subject_repos
    return not known and bool(audience.keywords or ignored_terms)


SEARCH_REPOS_PER_LEAD = 2


def build_queries(audience: TargetAudience, today: date, max_prospects: int) -> list[SearchQuery]:
    """One repository search per (language, subject term) (`subject_terms`).

    Searches exclude archived repos (GitHub already leaves forks out). They carry no `pushed:`
    window: "active" is about the person, who may maintain a quiet repo and commit elsewhere. Each
    asks for `SEARCH_REPOS_PER_LEAD` repos a lead (at least 100): the researcher mines them in rounds,
    only as far as needed (`agents.mining`), and every 100 results cost a search request of the 30
    GitHub allows a minute.
    """
    common = ["archived:false"]
    if audience.stars_range:
        common.append(f"stars:{audience.stars_range}")
    languages: Sequence[str | None] = audience.languages or [None]  # None: a search with no language
    limit = min(10_000, max(100, SEARCH_REPOS_PER_LEAD * max_prospects))
    subjects = subject_terms(audience)
    queries = []
    for language in languages:
        lang = [f'language:"{language}"' if " " in language else f"language:{language}"] if language else []
        for subject in subjects or [""]:
            q = " ".join(filter(None, [subject, *lang, *common]))
            queries.append(SearchQuery(q=q, max_results=limit, purpose=subject or "language"))
    return queries


def subject_terms(audience: TargetAudience) -> list[str]:
    """The search terms of the audience's subject, each searched on its own.

    A domain is searched by its narrowest part (`Vocabulary.search_facet`: the topics in
    `audience.topics`, its phrases in descriptions); the researcher's keep-check then enforces
    every part, the keywords and the exclusions. Keywords alone (a subject outside the vocabulary)
    are searched as topic slugs ("webassembly", "webassembly-runtime") and as words in name,
    description and topics.
    """
    vocabulary = load_vocabulary()
    terms = [f"topic:{topic}" for topic in audience.topics]
    for subject in audience.domains:
        facet = vocabulary.search_facet(subject)
        terms += [f'"{phrase}" in:description' for phrase in facet.phrases] if facet else []
    words = [word for word in (_search_word(k) for k in audience.keywords) if word]
    if words and not audience.domains:
        slugs = [*(w.replace(" ", "-") for w in words), "-".join(words[:3]).replace(" ", "-")]
        terms += [f"topic:{slug}" for slug in slugs if TOPIC_SLUG.match(slug)]
        text = " ".join(f'"{w}"' if " " in w else w for w in words[:_MAX_TEXT_KEYWORDS])
        terms.append(f"{text} in:name,description,topics")
    return list(dict.fromkeys(terms))


def _search_word(keyword: str) -> str:
    """A keyword as search text: lower case, only letters, digits, spaces and `.+#-` (never a qualifier or quote)."""
    return " ".join(_UNSAFE.sub(" ", keyword.casefold()).split())


def describe(plan: SearchPlan) -> str:
    """One sentence a person can check: what the planner understood."""
    if plan.refusal:
        return f"cannot run this goal: {plan.refusal}"
    a = plan.audience
    parts = [
        f"role={a.role}",
        f"languages={a.languages or 'any'}",
        f"domains={a.domains or 'any'}",
        *([f"keywords={a.keywords}"] if a.keywords else []),
        f"stars={a.stars_range or 'any'}",
        f"active within {a.activity_days} days",
        f"regions={a.target_regions or 'anywhere'}",
    ]
    if a.exclude_domains or a.exclude_keywords:
        parts.append(f"not about {', '.join(a.exclude_domains + a.exclude_keywords)}")
    if a.activity_scope == "anywhere":
        parts.append("activity anywhere on GitHub counts")
    if a.exclude_regions or a.exclude_cities:
        parts.append(f"not in {', '.join(a.exclude_cities + a.exclude_regions)}")
    if a.exclude_companies:
        parts.append(f"excluding {', '.join(a.exclude_companies)}")
    searches = "searches from the seeds" if plan.lookalike_of else f"{len(plan.queries)} searches"
    text = f"plan: {'; '.join(parts)}; {searches}; top {plan.max_prospects}"
    if plan.ignored_terms:
        text += f"; ignored words: {', '.join(plan.ignored_terms)}"
    if plan.notes:
        text += f"; read as: {'; '.join(plan.notes)}"
    if plan.open_ended:
        text += "; the subject is outside the vocabulary (open-ended)"
    if plan.lookalike_of:
        text += f"; lookalikes of {', '.join('@' + s for s in plan.lookalike_of)}"
    return text


def _merge(parsed: TargetAudience, from_campaign: TargetAudience) -> TargetAudience:
    """Fields the campaign file set explicitly override what was read from the goal."""
    explicit = {name: getattr(from_campaign, name) for name in from_campaign.model_fields_set}
    return parsed.model_copy(update=explicit)
