"""Built-in goals: the text a user types and the audience a correct goal parser must produce.

The benchmark and the tests score runs of these goals against `sandbox.truth`; the audiences
take their topics from the shared vocabulary so a vocabulary change moves parser and truth together.
Each exercises traps of the world: maintainers of ML repos whose recent work is elsewhere (out of
"python-ml", in "python-ml-anywhere", which says "active on GitHub"), React apps and Vue design
systems next to React component libraries, Kubernetes tools next to operators, division staff of
excluded companies ("Meta AI", "GitHub"), and "Paris, TX" or "Berlin, NH" next to Paris and Berlin.
"Kubernetes operators" and "React component libraries" are conjunctive domains: Kubernetes AND an
operator signal, React AND a component-library signal.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from foundation.schemas.campaign import TargetAudience
from foundation.vocabulary import load_vocabulary


class BuiltinGoal(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    goal: str
    audience: TargetAudience


def _goal(name: str, goal: str, domain: str, **audience: object) -> BuiltinGoal:
    """A goal about one domain; `topics` are the ones its searches use (its last, narrowest part)."""
    facet = load_vocabulary().search_facet(domain)
    topics = list(facet.topics) if facet else []
    return BuiltinGoal(name=name, goal=goal, audience=TargetAudience(domains=[domain], topics=topics, **audience))


BUILTIN_GOALS: dict[str, BuiltinGoal] = {
    g.name: g
    for g in (
        _goal(
            "python-ml",
            "Find Python maintainers active in ML",
            "machine_learning",
            languages=["Python"],
            role="maintainer",
            activity_days=90,
        ),
        _goal(
            "python-ml-anywhere",
            "Find Python maintainers of ML projects who are active on GitHub",
            "machine_learning",
            languages=["Python"],
            role="maintainer",
            activity_days=90,
            activity_scope="anywhere",
        ),
        _goal(
            "rust-db-europe",
            "Rust developers building databases in Europe, excluding Microsoft",
            "databases",
            languages=["Rust"],
            target_regions=["EUROPE"],
            exclude_companies=["Microsoft"],
            role="any",
            activity_days=90,
        ),
        _goal(
            "go-k8s-na",
            "Go contributors to Kubernetes operators in the US or Canada with 100-5000 stars, active in the last 60 days",
            "kubernetes_operators",
            languages=["Go"],
            stars_range="100..5000",
            target_regions=["US", "CA"],
            role="contributor",
            activity_days=60,
        ),
        _goal(
            "ts-react-no-faang",
            "TypeScript maintainers of React component libraries, not at FAANG",
            "react_components",
            languages=["TypeScript"],
            role="maintainer",
            exclude_companies=["Meta", "Apple", "Amazon", "Netflix", "Google"],
            activity_days=90,
        ),
    )
}
