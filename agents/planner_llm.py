"""The planner's LLM path: a goal in plain words becomes a validated `LLMPlan`, or `PlannerLLMError`.

The model fills `LLMPlan` through the run's `ModelGate` (agents/model_calls.py: function calling
unless `CMO_LLM_STRUCTURED_OUTPUT` says JSON schema; bounded, retried, observable). Pydantic checks
the shape; `_normalise` then holds the plan to what the rest of the pipeline can search for: GitHub
language names and topic slugs from our vocabulary, vocabulary subjects (domain keys, or keys joined
by "+", made canonical and expanded to the topics their searches use, as the deterministic parser
does), keywords as plain words and country or region codes the enricher understands. Every rejection goes back to the model naming
exactly what was wrong, answered as a `ToolMessage` so the conversation stays valid for OpenAI
(and reported to the gate as a rejection). After `max_attempts`, or when the gate has no reply,
the caller gets `PlannerLLMError` and falls back to the deterministic parser.

Token usage, summed over all attempts, is on `LLMPlan.usage` (a private attribute, so it is not in
the schema the model fills) and on `PlannerLLMError.usage` when planning fails.
"""

from __future__ import annotations

import re
from datetime import date

from langchain_core.exceptions import ModelRefusalError
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.ai import UsageMetadata, add_usage
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from agents.model_calls import Answer, ModelGate, ModelUnavailable, describe_validation
from foundation.limits import MAX_PROSPECTS
from foundation.regions import REGIONS
from foundation.schemas.campaign import TargetAudience
from foundation.vocabulary import Vocabulary, load_vocabulary

# ISO 3166-1 alpha-2, officially assigned codes. "NA" is both Namibia and our North America region;
# `foundation.regions.matches_targets` treats it as both, so accepting it here loses nothing.
_ISO_ALPHA2_CODES = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD
CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF
GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI
SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
VN VU WF WS YE YT ZA ZM ZW
"""
ISO_ALPHA2 = frozenset(_ISO_ALPHA2_CODES.split())
TOPIC_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
KEYWORD = re.compile(r"^[a-z0-9][a-z0-9 .+#-]{0,39}$")
AGENT = "planner"


class LLMPlan(BaseModel):
    """The search plan for one developer-marketing goal. Call this tool exactly once."""

    model_config = ConfigDict(extra="forbid")

    audience: TargetAudience = Field(description="Who to find on GitHub; unmentioned fields keep their defaults.")
    max_prospects: int | None = Field(
        default=None, ge=1, le=MAX_PROSPECTS, description="How many developers the goal asks for; null if it names none."
    )
    notes: list[str] = Field(default_factory=list, description="Assumptions you made, one short sentence each.")
    ignored_terms: list[str] = Field(
        default_factory=list, description="Words or phrases of the goal that no field could express."
    )
    refusal: str | None = Field(default=None, description="Why this goal must not be planned; null when it can be.")

    _usage: UsageMetadata | None = PrivateAttr(default=None)

    @property
    def usage(self) -> UsageMetadata | None:
        """Tokens summed over every attempt; None when the model reported no usage."""
        return self._usage


class PlannerLLMError(RuntimeError):
    """The model gave no acceptable plan; the caller should use the deterministic parser instead.
    `fallback` is the reason in the run's summary (the gate's `fell_back`)."""

    def __init__(self, message: str, errors: list[str], usage: UsageMetadata | None, fallback: str) -> None:
        super().__init__(message)
        self.errors = errors
        self.usage = usage
        self.fallback = fallback


def plan_with_llm(
    gate: ModelGate, goal: str, prompt: str, today: date, prompt_version: str = "v1", max_attempts: int = 3
) -> LLMPlan:
    """Plan `goal` through `gate`, feeding each rejection back, up to `max_attempts` model calls.

    `prompt` is the raw text of `prompts/planner/<prompt_version>.md`. A refusal (the plan's own or
    the provider's) is returned as a plan with `refusal` set and an empty audience, since retrying a
    refusal is pointless and nothing should search with a refused audience.

    Raises `PlannerLLMError` when every attempt was rejected or when the gate got no reply (it has
    already retried transport errors by then, or its circuit breaker is open).
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    vocabulary = load_vocabulary()
    messages: list[BaseMessage] = [
        SystemMessage(render_system_prompt(prompt, vocabulary)),
        HumanMessage(f"Goal: {goal}\nToday's date: {today.isoformat()}"),
    ]
    usage: UsageMetadata | None = None
    errors: list[str] = []
    for attempt in range(1, max_attempts + 1):
        try:
            answer = gate.structured(AGENT, LLMPlan, messages, prompt_version, attempt=attempt)
        except ModelUnavailable as exc:
            message = f"planner model call failed on attempt {attempt}: {exc}"
            raise PlannerLLMError(message, errors, usage, exc.fallback_reason) from exc
        raw = answer.raw
        usage = add_usage(usage, raw.usage_metadata) if raw.usage_metadata else usage
        plan, problems = _judge(answer, vocabulary)
        if plan is not None:
            plan._usage = usage
            return plan
        if answer.problem is None:  # a well-formed plan the vocabulary check refused (the gate saw nothing wrong)
            gate.rejected(AGENT, "; ".join(problems), answer)
        errors.append(f"attempt {attempt}: " + "; ".join(problems))
        messages += _feedback(raw, problems)
    message = f"no valid plan after {max_attempts} attempts: {errors[-1]}"
    raise PlannerLLMError(message, errors, usage, f"no valid plan after {max_attempts} attempts")


def render_system_prompt(prompt: str, vocabulary: Vocabulary) -> str:
    """The prompt (as `load_prompt` returns it, header stripped) with its placeholders filled (see prompts/planner/v1.md)."""
    domains = "\n".join(_domain_line(key, vocabulary) for key in vocabulary.domains)
    regions = "\n".join(f"  - {code}: {' '.join(sorted(countries))}" for code, countries in REGIONS.items())
    return prompt.format(domains=domains, languages=", ".join(vocabulary.languages), regions=regions)


def _domain_line(key: str, vocabulary: Vocabulary) -> str:
    """ "  - key (label): topic, topic AND topic, ...; narrows broader": the parts a repo must all meet."""
    spec = vocabulary.domains[key]
    parts = " AND ".join(", ".join(facet.topics) for facet in spec.facets)
    broader = sorted(vocabulary.broader(key))
    return f"  - {key} ({spec.label}): {parts}" + (f"; narrows {', '.join(broader)}" if broader else "")


def _judge(answer: Answer[LLMPlan], vocabulary: Vocabulary) -> tuple[LLMPlan | None, list[str]]:
    """The accepted plan, or None and what is wrong with the answer in words the model can act on."""
    if isinstance(answer.error, ModelRefusalError):
        return LLMPlan(audience=TargetAudience(), refusal=str(answer.error) or "the model refused"), []
    if isinstance(answer.error, ValidationError):
        return None, describe_validation(answer.error)
    if answer.parsed is None:
        return None, [answer.problem or "no LLMPlan in the answer"]
    if answer.parsed.refusal:
        return answer.parsed.model_copy(update={"audience": TargetAudience()}), []
    return _normalise(answer.parsed, vocabulary)


def _normalise(plan: LLMPlan, vocabulary: Vocabulary) -> tuple[LLMPlan | None, list[str]]:
    """Canonical languages, domains expanded to topics, upper-case regions (an excluded one is never a
    target, as in the rules parser); or None and the problems."""
    audience = plan.audience
    problems: list[str] = []
    names = {name.lower(): name for name in vocabulary.languages}
    known = ", ".join(vocabulary.languages)
    languages: list[str] = []
    for language in audience.languages:
        if (name := names.get(language.strip().lower())) is not None:
            languages.append(name)
        else:
            problems.append(f"audience.languages: {language!r} is not a GitHub language we know; use one of {known}")
    domains = _subjects("domains", audience.domains, vocabulary, problems)
    excluded_domains = _subjects("exclude_domains", audience.exclude_domains, vocabulary, problems)
    keywords = _keywords("keywords", audience.keywords, problems)
    excluded_keywords = _keywords("exclude_keywords", audience.exclude_keywords, problems)
    for topic in audience.topics:
        if not TOPIC_SLUG.match(topic):
            problems.append(
                f"audience.topics: {topic!r} is not a GitHub topic slug (lowercase letters, digits and hyphens, "
                "at most 50 characters, e.g. machine-learning)"
            )
    regions = _region_codes("target_regions", audience.target_regions, problems)
    excluded = _region_codes("exclude_regions", audience.exclude_regions, problems)
    if problems:
        return None, problems
    domain_topics = [topic for domain in domains if (facet := vocabulary.search_facet(domain)) for topic in facet.topics]
    normalised = audience.model_copy(
        update={
            "languages": _unique(languages),
            "domains": _unique(domains),
            "keywords": _unique(keywords),
            "exclude_domains": [domain for domain in _unique(excluded_domains) if domain not in domains],
            "exclude_keywords": _unique(excluded_keywords),
            "topics": _unique(domain_topics + audience.topics),
            "target_regions": [region for region in _unique(regions) if region not in excluded],
            "exclude_regions": _unique(excluded),
            "exclude_cities": _unique([city.strip() for city in audience.exclude_cities if city.strip()]),
            "subject_repos": [],  # the researcher agent's judgement, never the planner's guess
        }
    )
    return plan.model_copy(update={"audience": normalised}), []


def _subjects(name: str, given: list[str], vocabulary: Vocabulary, problems: list[str]) -> list[str]:
    """Canonical subjects (`Vocabulary.subject`: "react+ui_components" is react_components); unknown keys go to `problems`."""
    subjects = []
    for raw in given:
        keys = [key.strip().lower() for key in raw.split("+")]
        unknown = [key for key in keys if key not in vocabulary.domains]
        if unknown:
            problems.append(
                f"audience.{name}: {raw!r} names {', '.join(map(repr, unknown))}, not a domain; use keys from the "
                "domain table, joined by '+' when a repo must match all of them; put other subject words in keywords"
            )
        else:
            subjects.append(vocabulary.subject(keys))
    return subjects


def _keywords(name: str, given: list[str], problems: list[str]) -> list[str]:
    """Lower-case keywords; anything but plain words (letters, digits, spaces, `.+#-`) goes to `problems`."""
    words = [" ".join(word.casefold().split()) for word in given]
    for raw, word in zip(given, words, strict=True):
        if not KEYWORD.match(word):
            problems.append(
                f"audience.{name}: {raw!r} is not a plain word or short phrase (letters, digits, spaces, '.+#-', "
                "at most 40 characters)"
            )
    return words


def _region_codes(name: str, given: list[str], problems: list[str]) -> list[str]:
    """Upper-cased country and region codes of one audience field; what is neither goes to `problems`."""
    codes = [code.strip().upper() for code in given]
    for raw, code in zip(given, codes, strict=True):
        if code not in REGIONS and code not in ISO_ALPHA2:
            problems.append(
                f"audience.{name}: {raw!r} is neither an ISO 3166-1 alpha-2 country code nor one of "
                f"the region codes {', '.join(REGIONS)}"
            )
    return codes


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _feedback(raw: AIMessage, problems: list[str]) -> list[BaseMessage]:
    """The model's answer plus our rejection, as tool results when it called tools (OpenAI needs one each)."""
    text = (
        "The plan was rejected:\n"
        + "\n".join(f"- {problem}" for problem in problems)
        + "\nCall LLMPlan again with every problem fixed and everything else unchanged."
    )
    call_ids = [call["id"] for call in raw.tool_calls if call.get("id")]
    call_ids += [call["id"] for call in raw.invalid_tool_calls if call.get("id")]
    if not call_ids:
        return [raw, HumanMessage(text)]
    return [raw, *(ToolMessage(text, tool_call_id=call_id, status="error") for call_id in call_ids)]
