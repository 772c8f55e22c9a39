"""The deterministic goal parser: free phrasings -> audience fields, ignored words, notes, refusals."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.goal_parser import ParsedGoal, parse_goal
from foundation.schemas.campaign import TargetAudience
from foundation.vocabulary import load_vocabulary
from sandbox.goals import BUILTIN_GOALS

TODAY = date(2025, 5, 20)  # 49 days into Q2, 139 into the year, 19 into the month
UNORDERED = {"exclude_companies", "include_companies"}


def parse(goal: str) -> ParsedGoal:
    return parse_goal(goal, today=TODAY)


def field_of(parsed: ParsedGoal, name: str) -> Any:
    value = parsed.max_prospects if name == "max_prospects" else getattr(parsed.audience, name)
    return sorted(value) if name in UNORDERED else value


# Each case: goal -> the fields it must produce (fields left out must only be valid).
PHRASINGS = [
    # languages and their aliases
    ("Find JS and TS developers in Germany", {"languages": ["JavaScript", "TypeScript"], "target_regions": ["DE"]}),
    ("golang engineers in NYC", {"languages": ["Go"], "target_cities": ["New York"], "target_regions": ["US"]}),
    ("cpp programmers working on game engines", {"languages": ["C++"], "domains": ["game_dev"]}),
    ("C# devs in India, top 50", {"languages": ["C#"], "target_regions": ["IN"], "max_prospects": 50}),
    ("C++ and Rust maintainers", {"languages": ["C++", "Rust"], "role": "maintainer"}),
    ("py devs in Britain or America", {"languages": ["Python"], "target_regions": ["GB", "US"]}),
    ("Kotlin and Java contributors", {"languages": ["Kotlin", "Java"], "role": "contributor"}),
    ("node.js folks building CLI tools", {"languages": ["JavaScript"], "domains": ["cli_tools"]}),
    ("Ruby on Rails contributors", {"languages": ["Ruby"], "domains": ["rails"], "role": "contributor"}),
    # ambiguous short names
    ("go developers who ship CLIs", {"languages": ["Go"], "domains": ["cli_tools"]}),
    ("Rust and Go developers", {"languages": ["Rust", "Go"]}),
    ("let's go find Rust maintainers", {"languages": ["Rust"], "role": "maintainer"}),
    ("Go to Berlin and find Rust devs", {"languages": ["Rust"], "target_cities": ["Berlin"]}),
    ("Our go-to list: Python devs in Austin, TX", {"languages": ["Python"], "target_cities": ["Austin"]}),
    ("C developers in Toronto", {"languages": ["C"], "target_cities": ["Toronto"], "target_regions": ["CA"]}),
    ("libraries written in C by maintainers", {"languages": ["C"], "role": "maintainer"}),
    ("C/C++ contributors", {"languages": ["C", "C++"], "role": "contributor"}),
    ("R programmers in India", {"languages": ["R"], "target_regions": ["IN"]}),
    ("py3 devs building CLI tools", {"languages": ["Python"], "domains": ["cli_tools"]}),
    ("rstats people doing data science", {"languages": ["R"], "domains": ["data_science"]}),
    # typos
    ("Pyhton maintainers in Europe", {"languages": ["Python"], "target_regions": ["EUROPE"], "role": "maintainer"}),
    ("maintainers of kubernets operators", {"domains": ["kubernetes_operators"], "role": "maintainer"}),
    ("machne learning contributors in Canada", {"domains": ["machine_learning"], "target_regions": ["CA"]}),
    ("Typscript developers, excluding Microsfot", {"languages": ["TypeScript"], "exclude_companies": ["Microsoft"]}),
    # domains
    ("LLM and NLP maintainers", {"domains": ["machine_learning"], "role": "maintainer"}),
    ("deep learning and computer vision folks", {"domains": ["machine_learning"]}),
    ("React developers in Bengaluru", {"domains": ["react"], "target_cities": ["Bengaluru"]}),
    ("DevOps and CI/CD engineers", {"domains": ["devops"]}),
    ("security researchers in Israel", {"domains": ["security"], "target_regions": ["IL"]}),
    ("web3 and blockchain devs", {"domains": ["blockchain"]}),
    ("Swift iOS developers", {"languages": ["Swift"], "domains": ["ios"]}),
    ("Postgres contributors", {"domains": ["postgresql"], "role": "contributor"}),
    # a place name that names a framework
    ("Elixir engineers who write Phoenix apps", {"languages": ["Elixir"], "target_cities": [], "target_regions": []}),
    (
        "Elixir maintainers of web frameworks such as Phoenix",
        {"domains": ["web_frameworks"], "target_cities": [], "target_regions": []},
    ),
    ("Ruby devs located in Phoenix", {"target_cities": ["Phoenix"], "target_regions": ["US"]}),
    # star ranges
    ("Go devs between 100 and 5k stars", {"stars_range": "100..5000"}),
    ("Rust maintainers with over 1k stars", {"stars_range": ">1000"}),
    ("Python devs with more than 500 stars", {"stars_range": ">500"}),
    ("Java devs with at least 1,000 stars", {"stars_range": ">=1000"}),
    ("Ruby devs with under 200 stars", {"stars_range": "<200"}),
    ("maintainers of popular Python projects", {"stars_range": ">=1000", "languages": ["Python"]}),
    ("very popular TypeScript libraries' maintainers", {"stars_range": ">=10000"}),
    ("top projects in ML, maintainers", {"stars_range": ">=10000", "domains": ["machine_learning"]}),
    ("Rust maintainers of small projects", {"stars_range": "<100"}),
    ("maintainers of tiny Haskell projects", {"stars_range": "<100", "languages": ["Haskell"]}),
    ("niche Haskell libraries and their authors", {"stars_range": "<100", "role": "maintainer"}),
    ("kotlin devs, 10-100 stars", {"stars_range": "10..100"}),
    ("rust devs with stars:>500", {"stars_range": ">500"}),
    ("Elixir devs with 1k+ stars", {"stars_range": ">=1000"}),
    # activity windows
    ("Python devs active in the last 30 days", {"activity_days": 30}),
    ("Elixir developers who contributed in the past 2 weeks", {"activity_days": 14, "role": "contributor"}),
    ("Go maintainers active in the last 6 months", {"activity_days": 180}),
    ("Java maintainers active this quarter", {"activity_days": 49}),
    ("C developers active this year", {"activity_days": 139}),
    ("Vue frontend engineers, this month", {"activity_days": 19, "domains": ["vue"]}),
    ("Rust maintainers, recently active", {"activity_days": 30}),
    ("ML contributors who committed recently", {"activity_days": 30}),
    ("PHP devs, last year", {"activity_days": 365}),
    ("devs active in the past two weeks", {"activity_days": 14}),
    ("Rust devs active within 45 days", {"activity_days": 45}),
    # roles
    ("core devs of Python web frameworks", {"role": "maintainer", "domains": ["web_frameworks"]}),
    ("owners and creators of CLI tools", {"role": "maintainer"}),
    ("committers to database engines", {"role": "contributor", "domains": ["databases"]}),
    ("maintainers and contributors of Zig", {"role": "maintainer", "languages": ["Zig"]}),
    ("anyone writing Julia", {"role": "any", "languages": ["Julia"]}),
    # regions, countries, cities
    ("Kotlin developers in the US or Canada", {"target_regions": ["US", "CA"]}),
    ("Rust devs in the United States or the UK", {"target_regions": ["US", "GB"]}),
    ("ML engineers in North America", {"target_regions": ["NA"]}),
    ("Solidity folks in LATAM", {"target_regions": ["LATAM"], "languages": ["Solidity"]}),
    ("Python devs in Latin America or APAC", {"target_regions": ["LATAM", "APAC"]}),
    ("engineers in the Middle East, Africa and Asia", {"target_regions": ["MEA", "APAC"]}),
    ("Go contributors in DACH", {"target_regions": ["DE", "AT", "CH"]}),
    ("Python devs in the EU", {"target_regions": ["EU"]}),
    ("Rust devs in Deutschland", {"target_regions": ["DE"]}),
    ("TS devs in the Bay Area", {"target_cities": ["San Francisco"], "target_regions": ["US"]}),
    (
        "Go devs in San Francisco or London",
        {"target_cities": ["San Francisco", "London"], "target_regions": ["US", "GB"]},
    ),
    ("Java devs in Bangalore", {"target_cities": ["Bengaluru"], "target_regions": ["IN"]}),
    ("Julia programmers in Zürich", {"target_cities": ["Zurich"], "target_regions": ["CH"]}),
    ("PHP devs in São Paulo or Rio", {"target_cities": ["São Paulo", "Rio de Janeiro"], "target_regions": ["BR"]}),
    ("Java devs in London, Ontario", {"target_cities": ["London"], "target_regions": ["CA"]}),
    (
        "Python devs in Berlin, DE or Portland, OR",
        {"target_cities": ["Berlin", "Portland"], "target_regions": ["DE", "US"]},
    ),
    ("Haskell hackers anywhere", {"target_regions": []}),
    # a US state or a province after a city says which city of the name is meant
    ("Go devs in Paris, TX", {"target_cities": ["Paris"], "target_regions": ["US"]}),
    ("Go devs in Paris, Texas", {"target_cities": ["Paris"], "target_regions": ["US"]}),
    ("Go devs in Paris TX", {"target_cities": ["Paris"], "target_regions": ["US"]}),
    ("Python devs in Berlin, NH", {"target_cities": ["Berlin"], "target_regions": ["US"]}),
    ("Rust devs in Atlanta, Georgia", {"target_cities": ["Atlanta"], "target_regions": ["US"]}),
    ("Rust devs in Athens, GA", {"target_cities": ["Athens"], "target_regions": ["US"]}),
    ("Rust devs in Athens", {"target_cities": ["Athens"], "target_regions": ["GR"]}),
    ("Go devs in Germany, France", {"target_regions": ["DE", "FR"]}),
    # companies
    ("Python devs excluding Google, Meta, Microsoft", {"exclude_companies": ["Google", "Meta", "Microsoft"]}),
    ("ML maintainers, exclude Google/Meta/Microsoft", {"exclude_companies": ["Google", "Meta", "Microsoft"]}),
    ("web3 folks, no one from Coinbase", {"exclude_companies": ["Coinbase"]}),
    ("Rails contributors except Shopify employees", {"exclude_companies": ["Shopify"]}),
    (
        "Haskell hackers without big tech",
        {"exclude_companies": ["Amazon", "Apple", "Google", "Meta", "Microsoft", "Netflix"]},
    ),
    ("React devs who don't work at Facebook", {"exclude_companies": ["Meta"]}),
    ("TS devs excluding Meta AI and Google DeepMind", {"exclude_companies": ["Google DeepMind", "Meta AI"]}),
    ("Python devs, no Googlers", {"exclude_companies": ["Google"]}),
    ("Go developers at GitHub", {"include_companies": ["GitHub"]}),
    ("Python devs, exclude Acme Corp and Initech", {"exclude_companies": ["Acme", "Initech"]}),
    ("DevOps engineers at Shopify", {"include_companies": ["Shopify"]}),
    ("Ruby developers working at Stripe", {"include_companies": ["Stripe"]}),
    ("Python maintainers who work for Red Hat", {"include_companies": ["Red Hat"]}),
    ("LLM folks at OpenAI or Anthropic", {"include_companies": ["Anthropic", "OpenAI"]}),
    ("Python developers from Google", {"include_companies": ["Google"]}),
    ("Python maintainers at Acme Labs in Berlin", {"include_companies": ["Acme Labs"], "target_cities": ["Berlin"]}),
    ("game devs at Unity, excluding Epic Games", {"include_companies": ["Unity"], "exclude_companies": ["Epic Games"]}),
    (
        "Vue maintainers who work outside of big tech",
        {"exclude_companies": ["Amazon", "Apple", "Google", "Meta", "Microsoft", "Netflix"]},
    ),
    (
        "Rust devs employed by Mozilla, except anyone at Cloudflare",
        {"include_companies": ["Mozilla"], "exclude_companies": ["Cloudflare"]},
    ),
    ("ML folks in Rust, skip anyone working at OpenAI", {"exclude_companies": ["OpenAI"], "include_companies": []}),
    ("TS devs, excluding folks at Zeta Widgets", {"exclude_companies": ["Zeta Widgets"], "include_companies": []}),
    ("Java devs, not maintainers at Oracle", {"exclude_companies": ["Oracle"], "role": "any"}),
    # counts and minimum contributions
    ("top 200 Rust developers", {"max_prospects": 200}),
    ("200 leads: Python maintainers", {"max_prospects": 200}),
    ("find 50 Go contributors", {"max_prospects": 50}),
    ("a shortlist of 25 k8s contributors", {"max_prospects": 25, "domains": ["kubernetes"], "role": "contributor"}),
    (
        "60 Solidity smart contract engineers",
        {"max_prospects": 60, "languages": ["Solidity"], "domains": ["blockchain"]},
    ),
    (
        "75 Zig CLI maintainers in Europe",
        {"max_prospects": 75, "languages": ["Zig"], "domains": ["cli_tools"], "role": "maintainer"},
    ),
    ("a dozen Rust contributors for a start", {"max_prospects": 12, "languages": ["Rust"]}),
    ("half a dozen Zig maintainers", {"max_prospects": 6}),
    ("ML engineers in Europe, up to 1k", {"max_prospects": 1000}),
    ("Go contributors with at least 20 commits", {"min_contributions": 20}),
    ("Rust contributors with 20+ commits", {"min_contributions": 20}),
    ("Go contributors with 50 or more commits", {"min_contributions": 50}),
    # mixed
    (
        "find 30 observability maintainers in North America, not Datadog or Grafana Labs, active in the last 30 days",
        {
            "domains": ["observability"],
            "role": "maintainer",
            "target_regions": ["NA"],
            "exclude_companies": ["Datadog", "Grafana Labs"],
            "activity_days": 30,
            "max_prospects": 30,
        },
    ),
    (
        "Top 100 popular JS devs in the Bay Area at Stripe with 10+ commits",
        {
            "languages": ["JavaScript"],
            "stars_range": ">=1000",
            "target_cities": ["San Francisco"],
            "include_companies": ["Stripe"],
            "min_contributions": 10,
            "max_prospects": 100,
        },
    ),
    (
        "ai/ml maintainers in the States with 100..5000 stars, excluding FAANG and Microsoft",
        {
            "domains": ["machine_learning"],
            "target_regions": ["US"],
            "stars_range": "100..5000",
            "exclude_companies": ["Amazon", "Apple", "Google", "Meta", "Microsoft", "Netflix"],
        },
    ),
]


@pytest.mark.parametrize(("goal", "expected"), PHRASINGS, ids=[goal for goal, _ in PHRASINGS])
def test_phrasing(goal: str, expected: dict[str, Any]) -> None:
    parsed = parse(goal)
    assert parsed.refusal is None
    for name, value in expected.items():
        want = sorted(value) if name in UNORDERED else value
        assert field_of(parsed, name) == want, f"{name} of {goal!r}"


def test_enough_phrasings() -> None:
    assert len(PHRASINGS) >= 50


def test_python_ml_maintainers() -> None:
    parsed = parse("Find Python maintainers active in ML")
    audience = parsed.audience
    assert audience.languages == ["Python"]
    assert audience.domains == ["machine_learning"]
    assert audience.topics == load_vocabulary().domains["machine_learning"].topics
    assert (audience.role, audience.activity_days, audience.target_regions) == ("maintainer", 90, [])
    assert parsed.ignored_terms == [] and parsed.refusal is None


def test_rust_databases_in_europe() -> None:
    audience = parse("Rust developers building databases in Europe, excluding Microsoft").audience
    assert (audience.languages, audience.domains) == (["Rust"], ["databases"])
    assert (audience.target_regions, audience.exclude_companies, audience.role) == (["EUROPE"], ["Microsoft"], "any")


def test_go_kubernetes_operators_in_north_america() -> None:
    audience = parse(
        "Go contributors to Kubernetes operators in the US or Canada with 100-5000 stars, active in the last 60 days"
    ).audience
    assert (audience.languages, audience.domains, audience.stars_range) == (["Go"], ["kubernetes_operators"], "100..5000")
    assert (audience.target_regions, audience.role, audience.activity_days) == (["US", "CA"], "contributor", 60)


def test_typescript_react_not_at_faang() -> None:
    parsed = parse("TypeScript maintainers of React component libraries, not at FAANG")
    audience = parsed.audience
    assert (audience.languages, audience.domains, audience.role) == (["TypeScript"], ["react_components"], "maintainer")
    assert sorted(audience.exclude_companies) == ["Amazon", "Apple", "Google", "Meta", "Netflix"]
    assert any("FAANG" in note and "Netflix" in note for note in parsed.notes)


def test_unknown_words_are_reported() -> None:
    parsed = parse("Find Python maintainers active in ML who like bananas")
    assert parsed.ignored_terms == ["bananas"]
    assert parsed.audience.languages == ["Python"]


def test_every_unused_word_is_reported_once_and_filler_is_not() -> None:
    parsed = parse("Please find me Rust people who enjoy hiking, hiking and sailing")
    assert parsed.ignored_terms == ["enjoy", "hiking", "sailing"]


def test_a_company_with_divisions_says_what_it_covers() -> None:
    notes = " | ".join(parse("Rust devs, excluding Microsoft").notes)
    assert "'Microsoft' covers" in notes and "GitHub" in notes and "LinkedIn" in notes
    notes = " | ".join(parse("React devs not at FAANG").notes)
    assert "with their divisions and subsidiaries" in notes
    assert parse("Go devs excluding Stripe").notes == []


def test_exclusion_word_with_nothing_to_exclude_is_reported() -> None:
    parsed = parse("Rust devs outside the office")
    assert "outside" in parsed.ignored_terms and parsed.audience.exclude_companies == []
    assert parsed.audience.exclude_regions == []


# Each case: goal -> (target_regions, exclude_regions, exclude_cities). A place after a negation is
# left out, never targeted; the same place without one is targeted.
NEGATIONS: list[tuple[str, list[str], list[str], list[str]]] = [
    ("Terraform providers in Go, anywhere but China", [], ["CN"], []),
    ("Terraform providers in Go in China", ["CN"], [], []),
    ("Go developers outside the EU", [], ["EU"], []),
    ("Go developers in the EU", ["EU"], [], []),
    ("Rust devs outside Europe", [], ["EUROPE"], []),
    ("Python devs not in India", [], ["IN"], []),
    ("Python devs in India", ["IN"], [], []),
    ("Rust devs excluding Russia", [], ["RU"], []),
    ("ML engineers except US", [], ["US"], []),
    ("ML engineers in the US", ["US"], [], []),
    ("Python maintainers in Europe except Germany", ["EUROPE"], ["DE"], []),
    ("Python devs in the EU but not in Germany", ["EU"], ["DE"], []),
    ("Go devs in Europe, not Germany or France", ["EUROPE"], ["DE", "FR"], []),
    ("Python devs anywhere except China and Russia", [], ["CN", "RU"], []),
    ("Go devs anywhere but China or Russia", [], ["CN", "RU"], []),
    ("Python devs everywhere but Europe", [], ["EUROPE"], []),
    ("Go devs, no one from China", [], ["CN"], []),
    ("Kotlin devs excluding anyone in China", [], ["CN"], []),
    ("Go devs excluding people from India", [], ["IN"], []),
    ("Go devs outside of the US and Canada", [], ["US", "CA"], []),
    ("Rust devs in Europe other than the UK", ["EUROPE"], ["GB"], []),
    ("Go devs in DACH, not Austria", ["DE", "AT", "CH"], ["AT"], []),
    ("Go devs in Germany but not Berlin", ["DE"], [], ["Berlin"]),
    ("Go devs not from Berlin", [], [], ["Berlin"]),
    ("Go devs in Berlin", ["DE"], [], []),
    ("Go devs not in Paris, TX", [], [], ["Paris"]),
]


@pytest.mark.parametrize(("goal", "targets", "excluded", "excluded_cities"), NEGATIONS, ids=[n[0] for n in NEGATIONS])
def test_negated_places_are_excluded_not_targeted(
    goal: str, targets: list[str], excluded: list[str], excluded_cities: list[str]
) -> None:
    parsed = parse(goal)
    audience = parsed.audience
    assert parsed.refusal is None
    assert (audience.target_regions, audience.exclude_regions, audience.exclude_cities) == (
        [t for t in targets if t not in excluded],
        excluded,
        excluded_cities,
    )
    assert not set(audience.target_cities) & set(excluded_cities)


def test_places_and_companies_share_one_exclusion_list() -> None:
    audience = parse("Rust devs anywhere but China, excluding Google and Russia").audience
    assert (audience.exclude_regions, audience.exclude_companies, audience.target_regions) == (["CN", "RU"], ["Google"], [])


@pytest.mark.parametrize(
    "goal",
    [
        "Find Python maintainers active in ML, exclude Google/Meta/Microsoft, EU or US",  # SPEC's example
        "Find Python maintainers active in ML, excluding Google, Meta and Microsoft, EU or US",
    ],
)
def test_places_after_a_comma_end_a_company_exclusion_and_are_the_target(goal: str) -> None:
    audience = parse(goal).audience
    assert (audience.target_regions, audience.exclude_regions) == (["EU", "US"], [])
    assert audience.exclude_companies == ["Google", "Meta", "Microsoft"]


def test_a_place_both_targeted_and_excluded_is_excluded() -> None:
    parsed = parse("Go devs in Germany and France, but not Germany")
    assert (parsed.audience.target_regions, parsed.audience.exclude_regions) == (["FR"], ["DE"])
    assert "a place both targeted and excluded is excluded" in parsed.notes


def test_a_state_cannot_be_excluded_and_says_so() -> None:
    parsed = parse("Go devs, not in Texas")
    assert parsed.audience.exclude_regions == [] and parsed.audience.target_regions == []
    assert parsed.ignored_terms == ["Texas"]
    assert any("state and province filters are not supported" in note for note in parsed.notes)


def test_a_city_excluded_with_its_state_says_every_city_of_the_name_goes() -> None:
    notes = parse("Go devs not in Paris, TX").notes
    assert any("every city called Paris" in note for note in notes)


@pytest.mark.parametrize("goal", ["Go devs in Bavaria, Georgia", "Go devs in Texas, Ontario", "Go devs not in Bavaria, France"])
def test_a_place_after_a_place_that_cannot_hold_it_is_a_second_place(goal: str) -> None:
    parsed = parse(goal)
    assert parsed.refusal is None and parsed.audience.target_cities == []


def test_an_ambiguous_place_name_is_read_with_a_note() -> None:
    parsed = parse("Rust devs in Georgia")
    assert parsed.audience.target_regions == ["GE"]
    assert any("'Georgia' names places in several countries" in note for note in parsed.notes)


def test_company_named_without_context_is_reported() -> None:
    parsed = parse("Find Google engineers who write Go")
    assert parsed.ignored_terms == ["Google"] and parsed.audience.include_companies == []
    assert any("Google" in note for note in parsed.notes)


def test_interpretations_come_with_notes() -> None:
    notes = " | ".join(parse("popular Pyhton repos by big tech folks? no: excluding big tech, in the Bay Area").notes)
    assert "'popular' read as stars >=1000" in notes
    assert "'Pyhton' read as 'python'" in notes
    assert "big tech" in notes and "Microsoft" in notes
    assert "San Francisco" in notes


def test_explicit_star_range_wins_over_popularity_word() -> None:
    parsed = parse("maintainers of popular Python projects, 100-5000 stars")
    assert parsed.audience.stars_range == "100..5000"
    assert any("'popular' ignored" in note for note in parsed.notes)


def test_quarter_window_is_at_least_one_day() -> None:
    assert parse_goal("Go devs active this quarter", today=date(2025, 4, 1)).audience.activity_days == 1


def test_defaults_when_nothing_is_said_about_them() -> None:
    parsed = parse("Rust developers")
    assert parsed.audience == TargetAudience(languages=["Rust"])
    assert parsed.max_prospects is None


@pytest.mark.parametrize("goal", ["", "   ", "\n\t"])
def test_empty_goals_are_refused(goal: str) -> None:
    parsed = parse_goal(goal)
    assert parsed.refusal and "empty" in parsed.refusal
    assert parsed.audience == TargetAudience()


@pytest.mark.parametrize("goal", ["buy cheap shoes", "best pizza in Rome", "Find 50 leads in Berlin", "weather"])
def test_goals_not_about_software_are_refused(goal: str) -> None:
    assert "not about developers" in (parse(goal).refusal or "")


@pytest.mark.parametrize(
    "goal",
    [
        "find their home addresses",
        "Python maintainers and their phone numbers",
        "get the private emails of Rust devs",
        "Go developers' passwords",
        "salaries of ML engineers in Berlin",
    ],
)
def test_private_data_requests_are_refused(goal: str) -> None:
    assert "private data" in (parse(goal).refusal or "")


# Words that drive the parser's rules, so random goals reach its numbers, companies and places.
GOAL_WORDS = [
    *["Go", "C", "R", "C++", "go", "find", "stars", "100", "1k", "5k+", "-", "..", ",", "/", "@", "at", "least"],
    *["not", "excluding", "FAANG", "Google", "in", "EU", "US", "us", "TX", "commits", "last", "past", "this"],
    *["anywhere but", "outside", "China", "Paris", "Paris,", "Texas", "Georgia", "Victoria", "except", "Berlin"],
    *["quarter", "days", "weeks", "top", "between", "and", "over", "under", "up", "to", "Berlin,", "popular"],
    *["🇩🇪", "São", "ß", "0", "1.000", "1,5k", "99999999999999999999999", "maintainers"],
    *["React", "Vue", "design", "systems", "like", "(", "or", "WebAssembly", "runtimes", "active on GitHub", "no"],
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=200),
        st.lists(st.sampled_from(GOAL_WORDS), max_size=30).map(" ".join),
    )
)
def test_never_raises_and_always_valid(text: str) -> None:
    parsed = parse(text)
    TargetAudience.model_validate(parsed.audience.model_dump())
    assert parsed.max_prospects is None or parsed.max_prospects >= 1


@pytest.mark.parametrize("name", sorted(BUILTIN_GOALS))
def test_builtin_goal_audience_is_what_the_parser_reads(name: str) -> None:
    """The sandbox scores runs of these goals against their audience: it must be the parser's own reading."""
    goal = BUILTIN_GOALS[name]
    assert parse_goal(goal.goal).audience == goal.audience


# Subjects (README "Definitions"): goal -> the subject fields it must produce. Phrasings differ from
# both eval datasets (planner.yaml, planner_fresh.yaml), which measure the parser instead of pinning it.
SUBJECTS: list[tuple[str, dict[str, Any]]] = [
    # conjunctive: adjacent or far subjects need each other, a list offers alternatives
    ("people who make React UI kits", {"domains": ["react_components"], "keywords": []}),
    ("Vue design system engineers", {"domains": ["vue+ui_components"]}),
    ("React devs who ship a design system", {"domains": ["react_components"]}),
    ("React or Svelte component library authors", {"domains": ["react_components", "svelte+ui_components"]}),
    ("contributors to Kubernetes controllers", {"domains": ["kubernetes_operators"], "role": "contributor"}),
    ("Kubernetes projects or security tools", {"domains": ["kubernetes", "security"]}),
    ("security scanners for Kubernetes", {"domains": ["kubernetes+security"]}),
    # siblings: the member named, never the broader domain nor a sibling
    ("Kotlin devs building for Android", {"domains": ["android"]}),
    ("iOS app developers who write Swift", {"languages": ["Swift"], "domains": ["ios"]}),
    ("Flutter and mobile people", {"domains": ["flutter"]}),
    ("Angular frontend contributors", {"domains": ["angular"]}),
    ("game engines such as Godot or Bevy, C++ people", {"domains": ["game_dev"]}),
    ("databases (Postgres, DuckDB) maintainers", {"domains": ["databases"]}),
    # words outside the vocabulary are searched and checked, not dropped
    ("maintainers of WebAssembly runtimes", {"keywords": ["webassembly", "runtime"], "domains": []}),
    ("Terraform provider authors in Go", {"domains": ["terraform"], "keywords": ["provider"]}),
    ("Go developers building gRPC tools", {"keywords": ["grpc"]}),
    ("main contributors to Rust CLI tools", {"keywords": [], "domains": ["cli_tools"]}),
    ("devops ppl who like hiking", {"keywords": [], "domains": ["devops"]}),
    # negations: a negated subject is left out, never a target
    ("component library maintainers, not React", {"domains": ["ui_components"], "exclude_domains": ["react"]}),
    ("Rust people without blockchain projects", {"domains": [], "exclude_domains": ["blockchain"]}),
    ("desktop app devs, no Electron", {"exclude_keywords": ["electron"]}),
    ("Rust devs who are not into crypto", {"domains": [], "exclude_domains": ["blockchain"]}),
    ("game devs using Godot instead of Unity", {"domains": ["godot"], "exclude_domains": ["unity"], "exclude_companies": []}),
    ("game devs, not at Unity", {"exclude_companies": ["Unity"], "exclude_domains": []}),
    ("ML maintainers, not only PyTorch", {"domains": ["pytorch"], "exclude_domains": []}),
    # activity scope: the subject's repos unless the goal says anywhere
    ("Python ML maintainers active on GitHub", {"activity_scope": "anywhere", "domains": ["machine_learning"]}),
    ("Rust devs recently active anywhere", {"activity_scope": "anywhere", "activity_days": 30}),
    ("Go devs active in the last 2 weeks anywhere on GitHub", {"activity_scope": "anywhere", "activity_days": 14}),
    ("Go maintainers active in Kubernetes", {"activity_scope": "subject"}),
    ("Python maintainers on GitHub", {"activity_scope": "subject", "languages": ["Python"]}),
]


@pytest.mark.parametrize(("goal", "expected"), SUBJECTS, ids=[goal for goal, _ in SUBJECTS])
def test_subjects(goal: str, expected: dict[str, Any]) -> None:
    parsed = parse(goal)
    assert parsed.refusal is None
    for name, value in expected.items():
        assert field_of(parsed, name) == value, f"{name} of {goal!r}"


def test_topics_are_the_searched_part_and_keyword_words_are_not_reported_ignored() -> None:
    parsed = parse("TypeScript maintainers of React design systems")
    assert parsed.audience.topics == list(load_vocabulary().domains["ui_components"].topics)
    parsed = parse("Find maintainers of WebAssembly runtimes")
    assert parsed.ignored_terms == [] and parsed.audience.topics == []
    assert any("WebAssembly runtimes" in note and "webassembly, runtime" in note for note in parsed.notes)


def test_outside_leaves_out_places_not_subjects() -> None:
    parsed = parse("Rust devs outside the office")
    assert (parsed.audience.exclude_keywords, parsed.audience.exclude_domains) == ([], [])
