"""The planner's LLM path against a scripted chat model: acceptance, feedback retries, normalisation."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from agents.model_calls import ModelGate
from agents.planner_llm import LLMPlan, PlannerLLMError, plan_with_llm, render_system_prompt
from foundation.vocabulary import load_vocabulary
from prompts import load_prompt
from tests.support.fake_llm import scripted, tool_call_message

TODAY = date(2025, 3, 14)
GOAL = "Find 40 popular Python maintainers in machine learning in Germany"


@pytest.fixture(scope="module")
def prompt() -> str:
    return load_prompt("planner", "v1")


def answer(audience: dict[str, Any], **fields: Any) -> AIMessage:
    """The model calling LLMPlan with `audience` and any other plan fields."""
    return tool_call_message("LLMPlan", {"audience": audience, **fields})


def with_usage(message: AIMessage, tokens: int) -> AIMessage:
    message.usage_metadata = {"input_tokens": tokens, "output_tokens": 1, "total_tokens": tokens + 1}
    return message


def test_valid_first_answer_is_accepted_and_prompted_with_vocabulary(prompt: str) -> None:
    model = scripted(
        with_usage(
            answer(
                {"languages": ["Python"], "stars_range": ">=1000", "role": "maintainer", "target_regions": ["DE"]},
                max_prospects=40,
                notes=["'popular' read as >=1000 stars"],
            ),
            tokens=120,
        )
    )

    plan = plan_with_llm(ModelGate(model), GOAL, prompt, TODAY)

    assert isinstance(plan, LLMPlan)
    assert plan.audience.languages == ["Python"]
    assert plan.audience.role == "maintainer"
    assert plan.max_prospects == 40
    assert plan.usage == {"input_tokens": 120, "output_tokens": 1, "total_tokens": 121}
    (messages,) = model.seen
    system, user = messages
    assert isinstance(system, SystemMessage) and isinstance(user, HumanMessage)
    assert "machine_learning (machine learning / AI): machine-learning" in system.content
    assert "C++" in system.content and "LATAM:" in system.content
    assert "<!--" not in system.content
    assert GOAL in user.content and "2025-03-14" in user.content


def test_invalid_answer_is_fed_back_then_valid_answer_accepted(prompt: str) -> None:
    model = scripted(
        with_usage(answer({"languages": ["Python"], "topics": ["Machine Learning"]}), tokens=100),
        with_usage(answer({"languages": ["Python"], "topics": ["machine-learning"]}), tokens=150),
    )

    plan = plan_with_llm(ModelGate(model), GOAL, prompt, TODAY)

    assert plan.audience.topics == ["machine-learning"]
    assert len(model.seen) == 2
    retry = model.seen[1]
    assert isinstance(retry[2], AIMessage) and retry[2].tool_calls
    feedback = retry[3]
    assert isinstance(feedback, ToolMessage) and feedback.tool_call_id == "call_1" and feedback.status == "error"
    assert "audience.topics: 'Machine Learning' is not a GitHub topic slug" in feedback.content
    assert plan.usage is not None and plan.usage["input_tokens"] == 250


def test_pydantic_error_is_fed_back_with_its_location(prompt: str) -> None:
    model = scripted(
        answer({"stars_range": "lots"}),
        answer({"stars_range": ">=1000"}),
    )

    plan = plan_with_llm(ModelGate(model), GOAL, prompt, TODAY)

    assert plan.audience.stars_range == ">=1000"
    assert "audience.stars_range" in model.seen[1][-1].content and "'lots'" in model.seen[1][-1].content


def test_prose_answer_is_told_to_call_the_tool(prompt: str) -> None:
    model = scripted("Sure! Here are some Python developers.", answer({"languages": ["Python"]}))

    plan_with_llm(ModelGate(model), GOAL, prompt, TODAY)

    feedback = model.seen[1][-1]
    assert isinstance(feedback, HumanMessage) and "without calling the LLMPlan tool" in feedback.content


def test_always_invalid_raises_after_max_attempts(prompt: str) -> None:
    model = scripted(*(answer({"languages": ["Klingon"]}) for _ in range(3)))

    with pytest.raises(PlannerLLMError) as caught:
        plan_with_llm(ModelGate(model), GOAL, prompt, TODAY, max_attempts=3)

    assert len(model.seen) == 3
    assert len(caught.value.errors) == 3 and all("Klingon" in error for error in caught.value.errors)


def test_unknown_language_rejected_and_known_ones_case_normalised(prompt: str) -> None:
    model = scripted(
        answer({"languages": ["python", "Brainfudge"]}),
        answer({"languages": ["python", "c++", "GO"]}),
    )

    plan = plan_with_llm(ModelGate(model), GOAL, prompt, TODAY)

    rejection = model.seen[1][-1].content
    assert "'Brainfudge' is not a GitHub language we know" in rejection and "'python'" not in rejection
    assert plan.audience.languages == ["Python", "C++", "Go"]


def test_domains_expand_to_vocabulary_topics_plus_extra_topics(prompt: str) -> None:
    model = scripted(answer({"domains": ["Databases", "cli_tools"], "topics": ["graphql", "sql"]}))

    plan = plan_with_llm(ModelGate(model), GOAL, prompt, TODAY)

    vocabulary = load_vocabulary()
    expected = [*vocabulary.domains["databases"].topics, *vocabulary.domains["cli_tools"].topics, "graphql"]
    assert plan.audience.domains == ["databases", "cli_tools"]
    assert plan.audience.topics == expected


def test_subjects_are_made_canonical_and_keywords_checked(prompt: str) -> None:
    model = scripted(
        answer({"keywords": ["WebAssembly", "stars:>1000"], "domains": ["quantum+react"]}),
        answer(
            {
                "domains": ["UI_components+Vue", "react+ui_components", "mobile+android"],
                "exclude_domains": ["React_Components", "svelte"],
                "keywords": [" WebAssembly  Runtime "],
                "exclude_keywords": ["Electron"],
                "activity_scope": "anywhere",
            }
        ),
    )

    plan = plan_with_llm(
        ModelGate(model), "Vue or React design systems and Android apps, not Svelte, active anywhere", prompt, TODAY
    )

    rejection = model.seen[1][-1].content
    assert "audience.keywords: 'stars:>1000' is not a plain word" in rejection
    assert "audience.domains: 'quantum+react' names 'quantum', not a domain" in rejection
    audience = plan.audience
    assert audience.domains == ["vue+ui_components", "react_components", "android"]
    assert audience.exclude_domains == ["svelte"]  # a subject both targeted and excluded stays a target
    assert (audience.keywords, audience.exclude_keywords) == (["webassembly runtime"], ["electron"])
    assert audience.activity_scope == "anywhere"
    vocabulary = load_vocabulary()
    assert audience.topics[: len(vocabulary.domains["ui_components"].topics)] == vocabulary.domains["ui_components"].topics
    assert "react" not in audience.topics  # searched by the narrowest part; the keep-check needs React too


def test_the_prompt_shows_each_domains_parts_and_what_it_narrows(prompt: str) -> None:
    rendered = render_system_prompt(prompt, load_vocabulary())

    assert "  - react_components (React component libraries): react, reactjs" in rendered
    assert " AND component-library" in rendered
    assert "  - android (Android): android, android-app" in rendered and "; narrows mobile" in rendered
    assert "activity_scope" in rendered and "keywords" in rendered and "exclude_domains" in rendered


def test_unknown_domain_and_region_rejected_valid_regions_upper_cased(prompt: str) -> None:
    model = scripted(
        answer({"domains": ["Quantum"], "target_regions": ["uk"]}),
        answer({"target_regions": ["gb", "eu", "NA"]}),
    )

    plan = plan_with_llm(ModelGate(model), GOAL, prompt, TODAY)

    rejection = model.seen[1][-1].content
    assert "audience.domains: 'Quantum' names 'quantum', not a domain" in rejection
    assert "audience.target_regions: 'uk' is neither an ISO 3166-1 alpha-2 country code" in rejection
    assert plan.audience.target_regions == ["GB", "EU", "NA"]


def test_excluded_places_are_checked_like_targets_and_never_targeted(prompt: str) -> None:
    model = scripted(
        answer({"exclude_regions": ["China"]}),
        answer({"target_regions": ["eu", "de"], "exclude_regions": ["de", "cn"], "exclude_cities": [" Berlin "]}),
    )

    plan = plan_with_llm(ModelGate(model), "Go devs in the EU, anywhere but Germany or China, not Berlin", prompt, TODAY)

    assert "audience.exclude_regions: 'China' is neither an ISO 3166-1 alpha-2 country code" in model.seen[1][-1].content
    audience = plan.audience
    assert (audience.target_regions, audience.exclude_regions, audience.exclude_cities) == (["EU"], ["DE", "CN"], ["Berlin"])
    assert {"exclude_regions", "exclude_cities"} <= set(LLMPlan.model_json_schema()["$defs"]["TargetAudience"]["properties"])


def test_refusal_is_returned_with_an_empty_audience(prompt: str) -> None:
    model = scripted(answer({"languages": ["Klingon"]}, refusal="Home addresses are private data."))

    plan = plan_with_llm(ModelGate(model), "home addresses of k8s maintainers", prompt, TODAY)

    assert plan.refusal == "Home addresses are private data."
    assert plan.audience.languages == []


def test_model_failure_becomes_planner_error(prompt: str) -> None:
    model = scripted()  # an empty script raises on the first call, like a dead endpoint

    with pytest.raises(PlannerLLMError, match="model call failed on attempt 1"):
        plan_with_llm(ModelGate(model), GOAL, prompt, TODAY)


def test_usage_is_not_part_of_the_schema_the_model_fills() -> None:
    assert "usage" not in LLMPlan.model_json_schema()["properties"]


def test_every_prompt_placeholder_is_filled(prompt: str) -> None:
    rendered = render_system_prompt(prompt, load_vocabulary())

    assert "{" not in rendered and "}" not in rendered
