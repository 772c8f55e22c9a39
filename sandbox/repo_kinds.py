"""What some communities build besides the thing a goal names: the real thing and its lookalikes.

A community of React people writes React component libraries, but also React apps tagged `react`
and, next door, Vue and Svelte design systems; a Kubernetes community writes operators and also
kubectl plugins, dashboards and Helm charts. The lookalikes share a word with the subject ("react",
"design-system", "kubernetes") and are not it: by the project's conjunctive subjects ("React
component libraries" = React AND a component-library signal; "Kubernetes operators" = Kubernetes AND
operator) their people are not the audience. Data for `generator.py`; every entry feeds the seeded
RNG stream.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RepoKind:
    """One kind of repo: how often a community builds it, and how it is named, tagged and described.

    `topics` are any-of groups: a tagged repo carries one topic of each group, plus some `extra`
    ones. `descriptions` take `{adjective}` and `{thing}`. `real` says whether it is the subject.
    """

    name: str
    share: float
    real: bool
    stems: tuple[str, ...]
    topics: tuple[tuple[str, ...], ...]
    extra: tuple[str, ...]
    descriptions: tuple[str, ...]


_REACT_SIGNAL = ("react", "react", "reactjs")
_COMPONENT_SIGNAL = ("component-library", "ui-components", "design-system", "react-components", "ui-kit")
_K8S_SIGNAL = ("kubernetes", "kubernetes", "k8s")

REPO_KINDS: dict[str, tuple[RepoKind, ...]] = {
    "react_components": (
        RepoKind(
            "react component library",
            0.6,
            True,
            ("ui", "kit", "button", "design", "comp", "form", "modal"),
            (_REACT_SIGNAL, _COMPONENT_SIGNAL),
            ("typescript", "storybook", "accessibility", "ui", "hacktoberfest"),
            (
                "{adjective} React component library",
                "{adjective} React components and design system",
                "Accessible React UI kit: a component library for {thing}",
                "{adjective} design system for React apps",
            ),
        ),
        RepoKind(
            "react app",
            0.28,
            False,
            ("dash", "shop", "admin", "portal", "tracker", "web", "app"),
            (_REACT_SIGNAL, ("nextjs", "vite", "create-react-app", "webapp")),
            ("dashboard", "webapp", "tailwindcss", "typescript", "saas", "frontend"),
            (
                "A web app for {thing}, built with React",
                "{adjective} admin dashboard built with React and Next.js",
                "Next.js starter for {thing}",
                "Web app for {thing} (React + Vite)",
            ),
        ),
        RepoKind(
            "vue or svelte design system",
            0.12,
            False,
            ("ui", "kit", "design", "vue", "svelte"),
            (("vue", "vuejs", "svelte"), ("design-system", "component-library", "ui-kit")),
            ("typescript", "storybook", "ui", "vue3"),
            (
                "{adjective} Vue 3 design system",
                "Svelte component library for {thing}",
                "{adjective} component library for Vue",
                "Design system and UI kit for Svelte apps",
            ),
        ),
    ),
    "kubernetes": (
        RepoKind(
            "kubernetes operator",
            0.6,
            True,
            ("operator", "controller", "kube", "k8s"),
            (_K8S_SIGNAL, ("kubernetes-operator", "operator", "operator")),
            ("controller", "crd", "helm", "cloud-native", "golang"),
            (
                "Kubernetes operator for {thing}",
                "{adjective} operator that runs {thing} on Kubernetes",
                "A k8s operator for {thing}",
            ),
        ),
        RepoKind(
            "kubernetes tool",
            0.4,
            False,
            ("kubectl", "kctx", "helm", "kube", "lens", "k8s"),
            (_K8S_SIGNAL,),
            ("helm", "kubectl", "kubectl-plugin", "cli", "dashboard", "cloud-native", "devops", "golang"),
            (
                "kubectl plugin to inspect {thing}",
                "{adjective} dashboard for Kubernetes clusters",
                "Helm charts for {thing}",
                "CLI to switch Kubernetes contexts",
            ),
        ),
    ),
}
THINGS = ("Postgres", "Redis", "Kafka", "TLS certificates", "backups", "secrets", "habits", "invoices", "recipes")
