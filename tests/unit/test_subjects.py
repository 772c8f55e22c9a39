"""What a repo is about (README "Definitions"): conjunctive domains, members, keywords and exclusions.

One definition (`foundation.subjects`) serves the researcher's keep-check and the sandbox's truth,
so these cases pin both: a React app is not a React component library, a Vue design system is not a
React one, a Kubernetes dashboard is not an operator, and a subject outside the vocabulary is a word
the repo must name.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agents.researcher import _keep
from foundation.schemas.campaign import TargetAudience
from foundation.schemas.github import RepoInfo
from foundation.subjects import names, repo_fits, subject_fits
from foundation.text import subject_words
from foundation.vocabulary import Vocabulary, load_vocabulary


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary()


# ---- the vocabulary's structure -------------------------------------------------------------------
def test_every_alias_names_one_domain(vocab: Vocabulary) -> None:
    seen: dict[tuple[str, ...], str] = {}
    for name, domain in vocab.domains.items():
        for alias in domain.aliases:
            key = tuple(subject_words(alias).split())
            assert seen.setdefault(key, name) == name, f"{alias!r} names {seen[key]} and {name}"


def test_every_domain_has_its_own_signal(vocab: Vocabulary) -> None:
    signals = [domain.signal for domain in vocab.domains.values()]
    assert len(set(signals)) == len(signals)


def test_conjunctive_domains_require_every_part(vocab: Vocabulary) -> None:
    react, ui = vocab.domains["react"].facets, vocab.domains["ui_components"].facets
    assert vocab.domains["react_components"].facets == react + ui
    operators = vocab.domains["kubernetes_operators"].facets
    assert len(operators) == 2 and operators[0] == vocab.domains["kubernetes"].facets[0]
    assert vocab.search_facet("react_components") == ui[0]  # searched by its narrowest part
    assert "operator" in vocab.search_facet("kubernetes_operators").topics  # type: ignore[union-attr]


def test_a_broader_domain_covers_its_members_and_members_narrow_it(vocab: Vocabulary) -> None:
    mobile = set(vocab.domains["mobile"].topics)
    for member in ("android", "ios", "flutter", "react_native"):
        assert set(vocab.domains[member].topics) <= mobile
        assert vocab.broader(member) == {"mobile"}
    assert "ios" not in vocab.domains["android"].topics
    assert vocab.broader("react_components") == {"react", "ui_components", "frontend"}
    assert vocab.broader("kubernetes_operators") == {"kubernetes"}


@pytest.mark.parametrize(
    ("keys", "subject"),
    [
        (["android", "mobile"], "android"),
        (["mobile", "android"], "android"),
        (["react", "ui_components"], "react_components"),
        (["ui_components", "react"], "react_components"),
        (["react_components", "frontend"], "react_components"),
        (["vue", "ui_components"], "vue+ui_components"),
        (["kubernetes", "kubernetes_operators"], "kubernetes_operators"),
        (["machine_learning", "machine_learning"], "machine_learning"),
        (["vue+ui_components", "frontend"], "vue+ui_components"),
    ],
)
def test_subject_is_the_narrowest_key_for_what_the_goal_needs(vocab: Vocabulary, keys: list[str], subject: str) -> None:
    assert vocab.subject(keys) == subject


def _vocabulary(domains: dict[str, Any]) -> Vocabulary:
    return Vocabulary.model_validate({"version": 9, "languages": {}, "domains": domains})


def test_the_loader_refuses_cycles_unknown_references_and_plus_in_keys() -> None:
    part = {"topics": ["x"]}
    with pytest.raises(ValidationError, match="cycle"):
        _vocabulary(
            {"a": {"label": "A", "signal": "a", "requires": ["b"]}, "b": {"label": "B", "signal": "b", "requires": ["a"]}}
        )
    with pytest.raises(ValidationError, match="unknown domain"):
        _vocabulary({"a": {"label": "A", "signal": "a", "requires": [{"topics": ["x"], "domains": ["nope"]}]}})
    with pytest.raises(ValidationError, match="must not contain"):
        _vocabulary({"a+b": {"label": "A", "signal": "a", "requires": [part]}})
    with pytest.raises(ValidationError, match="exactly one part"):
        _vocabulary(
            {
                "a": {"label": "A", "signal": "a", "requires": [part, part]},
                "b": {"label": "B", "signal": "b", "requires": [{"domains": ["a"]}]},
            }
        )


# ---- which repos match a subject ------------------------------------------------------------------
REACT_APP = (["react", "typescript", "todo-app"], "A todo app built with React")
REACT_LIBRARY = (["react", "design-system", "typescript"], "Accessible components")
REACT_LIBRARY_BY_TEXT = (["react", "typescript"], "A React component library for dashboards")
VUE_DESIGN_SYSTEM = (["vue", "design-system"], "A design system for Vue 3")
UNTAGGED_REACT_LIBRARY = ([], "Headless React component library")
TAGGED_ELSEWHERE = (["typescript", "ui"], "React component library")
K8S_DASHBOARD = (["kubernetes", "dashboard"], "A web dashboard for clusters")
K8S_OPERATOR = (["kubernetes", "operator", "postgres"], "Runs Postgres on Kubernetes")
AIRFLOW_OPERATOR = (["airflow", "operator"], "An Airflow operator for S3")
UNTAGGED_OPERATOR = ([], "A Kubernetes operator for Redis clusters")


@pytest.mark.parametrize(
    ("subject", "repo", "matches"),
    [
        ("react_components", REACT_APP, False),
        ("react", REACT_APP, True),
        ("react_components", REACT_LIBRARY, True),
        ("react_components", REACT_LIBRARY_BY_TEXT, True),  # topics meet React, the description the rest
        ("react_components", VUE_DESIGN_SYSTEM, False),
        ("vue+ui_components", VUE_DESIGN_SYSTEM, True),
        ("ui_components", VUE_DESIGN_SYSTEM, True),
        ("react_components", UNTAGGED_REACT_LIBRARY, True),  # no topics: the description decides
        ("react_components", TAGGED_ELSEWHERE, False),  # topics say what it is; none of them React or UI kit
        ("kubernetes", K8S_DASHBOARD, True),
        ("kubernetes_operators", K8S_DASHBOARD, False),
        ("kubernetes_operators", K8S_OPERATOR, True),
        ("kubernetes_operators", AIRFLOW_OPERATOR, False),
        ("kubernetes_operators", UNTAGGED_OPERATOR, True),
        ("mobile", (["android"], None), True),
        ("ios", (["android"], None), False),
        ("nonsense", REACT_APP, False),
        ("react+nonsense", REACT_APP, False),
    ],
)
def test_domain_matches(vocab: Vocabulary, subject: str, repo: tuple[list[str], str], matches: bool) -> None:
    assert vocab.domain_matches(subject, *repo) is matches


def test_phrases_match_whole_words_in_any_number(vocab: Vocabulary) -> None:
    assert not vocab.domain_matches("react", [], "Reactive streams for the JVM")
    assert vocab.domain_matches("ui_components", [], "A set of UI kits")
    assert vocab.domain_matches("security", [], "Cryptographic primitives")


# ---- keywords and exclusions ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("topics", "name", "description", "named"),
    [
        (["webassembly", "runtime"], "wasmer", None, True),
        ([], "webassembly-runtime", None, True),
        ([], "wasmtime", "A fast and secure runtime for WebAssembly", True),
        ([], "wasmtime", "Standalone WebAssembly runtimes", True),  # plural
        (["wasm"], "wasmtime", "A fast WebAssembly compiler", False),  # no runtime
        ([], "webassemblyish-runtime", None, False),  # whole words only
    ],
)
def test_keywords_must_all_be_named(topics: list[str], name: str, description: str | None, named: bool) -> None:
    audience = TargetAudience(keywords=["webassembly", "runtime"])
    assert subject_fits(audience, topics, description, name) is named


def test_keywords_narrow_domains_and_exclusions_remove() -> None:
    terraform = TargetAudience(domains=["terraform"], keywords=["provider"])
    assert subject_fits(terraform, ["terraform", "aws"], None, "terraform-provider-aws")
    assert not subject_fits(terraform, ["terraform", "aws"], None, "terraform-aws-vpc")
    frontend = TargetAudience(domains=["frontend"], exclude_domains=["react"])
    assert subject_fits(frontend, ["vue", "design-system"], None)
    assert not subject_fits(frontend, ["react", "vue"], None)
    apps = TargetAudience(keywords=["desktop"], exclude_keywords=["electron"])
    assert subject_fits(apps, ["desktop", "tauri"], None)
    assert not subject_fits(apps, ["desktop"], "An Electron shell")
    assert not names("  ", ["x"], "x", "x")


def test_repo_fits_reads_the_name_without_owner_and_never_forks_or_archives() -> None:
    audience = TargetAudience(languages=["Rust"], keywords=["tauri"])
    repo: dict[str, Any] = {"language": "Rust", "topics": [], "description": None}
    assert repo_fits(audience, name="someone/tauri-plugin-sql", **repo)
    assert not repo_fits(audience, name="tauri-fan/plugin-sql", **repo)  # the owner is not the subject
    assert not repo_fits(audience, name="someone/tauri-plugin-sql", fork=True, **repo)
    assert not repo_fits(audience, name="someone/tauri-plugin-sql", archived=True, **repo)


def test_researcher_keeps_only_repos_of_the_subject() -> None:
    audience = TargetAudience(languages=["TypeScript"], domains=["react_components"])

    def repo(full_name: str, topics: list[str], description: str | None = None) -> RepoInfo:
        return RepoInfo(
            full_name=full_name, owner=full_name.split("/")[0], language="TypeScript", topics=topics, description=description
        )

    assert _keep(repo("acme/ui", ["react", "component-library"]), audience)
    assert not _keep(repo("acme/shop", ["react", "nextjs"], "Our online shop"), audience)
    assert not _keep(repo("acme/vue-kit", ["vue", "ui-kit"]), audience)
    wasm = TargetAudience(keywords=["webassembly", "runtime"])
    assert _keep(repo("bytecode/wasm-runtime", ["webassembly"]), wasm)
    assert not _keep(repo("bytecode/wasm-runtime", ["wasm"]), wasm)
