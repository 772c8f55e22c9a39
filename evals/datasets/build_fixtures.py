"""Write evals/datasets/{leads,messages,compliance}.yaml, the same bytes on every run.

Why a script: those suites hold hundreds of derived values (sandbox truth audiences, signals and
scores computed by the real enrichment functions, template drafts with the real footer), which are
tedious and error-prone to type. The YAML files are the committed artifact the harness reads; this
script is how they were made, so a change is made here and the files regenerated:

    .venv/bin/python evals/datasets/build_fixtures.py

Everything is pinned (sandbox seed, size and anchor day, hand-written personas with fixed dates),
nothing depends on today's date or the environment. planner.yaml is written by hand.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from agents.copywriter import draft_from_template
from agents.enrichment import scored_evidence
from foundation.companies import display_company
from foundation.regions import region_of
from foundation.schemas import (
    Campaign,
    CampaignSettings,
    Message,
    MessageTemplate,
    Messaging,
    PrivacySettings,
    Prospect,
    SenderProfile,
    TargetAudience,
)
from foundation.schemas.github import CommitInfo, EventInfo, RepoContribution, RepoInfo
from foundation.settings import Settings
from foundation.vocabulary import load_vocabulary
from sandbox import build_world
from sandbox.truth import matched_repos, truth
from sandbox.world import World
from tools.signals import Activity

HERE = Path(__file__).resolve().parent
ANCHOR = date(2026, 11, 20)  # "today" of every bundle: sandbox anchor and the personas' clock
NOW = datetime.combine(ANCHOR, time(), tzinfo=UTC)
ACTIVITY_DAYS = 90
MESSAGES_SEED, MESSAGES_USERS = 23, 1200
FAANG = ["Meta", "Apple", "Amazon", "Netflix", "Google"]


def audience(domains: list[str], **fields: Any) -> TargetAudience:
    """An audience whose topics are the ones its domains' searches use, as the parser would build it."""
    return TargetAudience(domains=domains, topics=search_topics(domains), **fields)


def search_topics(domains: list[str]) -> list[str]:
    """The topics of each domain's searched (last) part, in order (`Vocabulary.search_facet`)."""
    vocabulary = load_vocabulary()
    return list(dict.fromkeys(t for d in domains if (facet := vocabulary.search_facet(d)) for t in facet.topics))


# ---- leads ------------------------------------------------------------------------------------------
# (id, goal, seed, users, audience, max_prospects, k). Each has >= 8 truth people; the test checks it.
LEADS: list[tuple[str, str, int, int, TargetAudience, int, int]] = [
    (
        "python-ml-contributors",
        "Python contributors to machine learning projects, active in the last 60 days",
        11,
        1200,
        audience(["machine_learning"], languages=["Python"], role="contributor", activity_days=60),
        60,
        10,
    ),
    (
        "rust-db-maintainers",
        "Rust maintainers of databases and storage engines",
        23,
        2000,
        audience(["databases"], languages=["Rust"], role="maintainer"),
        50,
        10,
    ),
    (
        "go-k8s-europe",
        "Go developers working on Kubernetes operators in Europe",
        101,
        3000,
        audience(["kubernetes_operators"], languages=["Go"], target_regions=["EUROPE"]),
        50,
        10,
    ),
    (
        "ts-react-north-america",
        "TypeScript developers building React component libraries in North America",
        11,
        1800,
        audience(["react_components"], languages=["TypeScript"], target_regions=["NA"]),
        80,
        20,
    ),
    (
        "python-data-science-maintainers",
        "Python data science maintainers",
        42,
        2500,
        audience(["data_science"], languages=["Python"], role="maintainer"),
        50,
        10,
    ),
    (
        "rust-cli-europe",
        "Rust CLI tool developers in Europe",
        101,
        3000,
        audience(["cli_tools"], languages=["Rust"], target_regions=["EUROPE"]),
        40,
        10,
    ),
    (
        "solidity-smart-contracts",
        "Solidity developers writing smart contracts",
        42,
        800,
        audience(["blockchain"], languages=["Solidity"]),
        50,
        10,
    ),
    (
        "python-web-no-google",
        "Python web framework maintainers, excluding Google",
        23,
        2000,
        audience(["web_frameworks"], languages=["Python"], role="maintainer", exclude_companies=["Google"]),
        40,
        10,
    ),
    (
        "go-k8s-popular-maintainers",
        "Go maintainers of popular Kubernetes projects",
        101,
        3000,
        audience(["kubernetes"], languages=["Go"], role="maintainer", stars_range=">=1000"),
        20,
        5,
    ),
    (
        "ts-react-maintainers-no-faang",
        "TypeScript maintainers of React design systems, not at FAANG",
        42,
        2500,
        audience(["react_components"], languages=["TypeScript"], role="maintainer", exclude_companies=FAANG),
        60,
        10,
    ),
    ("go-security-tools", "Go developers who build security tools", 11, 1800, audience(["security"], languages=["Go"]), 50, 10),
    (
        "cpp-game-engines",
        "C++ game engine developers active in the last 120 days",
        23,
        2000,
        audience(["game_dev"], languages=["C++"], activity_days=120),
        50,
        10,
    ),
]


def leads_examples() -> list[dict[str, Any]]:
    return [
        {
            "id": id_,
            "goal": goal,
            "seed": seed,
            "users": users,
            "audience": a.model_dump(mode="json"),
            "max_prospects": max_prospects,
            "k": k,
        }
        for id_, goal, seed, users, a, max_prospects, k in LEADS
    ]


# ---- evidence bundles: the real signal and score functions over pinned inputs -----------------------
@dataclass
class Inputs:
    """What the enricher would have fetched for one person: matched repos, standing there, activity."""

    contributions: list[RepoContribution]
    repos: dict[str, RepoInfo]
    activity: Activity


@dataclass(frozen=True)
class Profile:
    login: str
    github_id: int
    name: str | None = None
    company: str | None = None
    location: str | None = None
    country: str | None = None
    bio: str | None = None
    email: str | None = None
    blog: str | None = None
    twitter: str | None = None


def assemble(profile: Profile, inputs: Inputs) -> Prospect:
    """A prospect shaped exactly like `agents.enricher` builds one (scores, signals, profile)."""
    social = {"github": f"https://github.com/{profile.login}"}
    if profile.twitter:
        social["twitter"] = f"https://twitter.com/{profile.twitter}"
    return Prospect(
        id=f"gh_{profile.login}",
        username=profile.login,
        name=profile.name,
        email=profile.email,
        company=display_company(profile.company),
        location=profile.location,
        bio=profile.bio,
        website=profile.blog,
        social_links=social,
        **scored_evidence(inputs.contributions, inputs.repos, inputs.activity, ACTIVITY_DAYS, NOW),
        privacy_settings=PrivacySettings(email_visible=profile.email is not None),
        github_id=profile.github_id,
        email_source="profile" if profile.email else None,
        country=profile.country,
        region=region_of(profile.country),
    )


def world_inputs(world: World, login: str, matched: set[str]) -> Inputs:
    """The enricher's view of a sandbox person: contributions to matched repos, commits, events."""
    vocabulary = load_vocabulary()
    contributions: list[RepoContribution] = []
    repos: dict[str, RepoInfo] = {}
    since = NOW - timedelta(days=ACTIVITY_DAYS)
    commits: list[CommitInfo] = []
    for repo, mine in world.contributions_by_login[login]:
        if repo.full_name not in matched:
            continue
        listed = [c for c in repo.contributors if c.login]
        total = sum(c.count for c in listed) or 1
        owner_type = "Organization" if world.accounts[repo.owner].type == "Organization" else "User"
        repos[repo.full_name] = RepoInfo(
            full_name=repo.full_name,
            owner=repo.owner,
            owner_type=owner_type,
            language=repo.language,
            topics=repo.topics,
            description=repo.description,
            stars=repo.stars,
            pushed_at=repo.pushed_at,
            html_url=f"https://github.com/{repo.full_name}",
            domains=vocabulary.domains_of(repo.topics, repo.description),
        )
        contributions.append(
            RepoContribution(
                login=login,
                github_id=world.accounts[login].id,
                repo=repo.full_name,
                contributions=mine.count,
                rank=next(i for i, c in enumerate(listed, 1) if c.login == login),
                share=mine.count / total,
                is_owner=repo.owner == login and owner_type == "User",
            )
        )
        commits += [
            CommitInfo(
                repo=repo.full_name,
                sha=c.sha,
                date=c.date,
                author_login=login,
                author_email=c.email,
                html_url=f"https://github.com/{repo.full_name}/commit/{c.sha}",
            )
            for c in world.commits(repo)
            if c.login == login and c.date >= since
        ][:100]
    events = [EventInfo(type=e.type, repo=e.repo, created_at=e.created_at) for e in world.events(login)]
    return Inputs(contributions, repos, Activity(commits=commits, events=events))


def world_profile(world: World, login: str) -> Profile:
    """What `GET /users/{login}` shows of a sandbox account (a noreply address is never published)."""
    account = world.accounts[login]
    public = account.email if account.email and "noreply" not in account.email else None
    return Profile(
        login,
        account.id,
        account.name,
        account.company,
        account.location,
        account.country,
        account.bio,
        public,
        account.blog or None,
        account.twitter_username,
    )


# Sandbox audiences the bundles come from; two people each: the most-starred maintainer and the
# contributor with the fewest commits (evidence-rich and evidence-poor).
WORLD_AUDIENCES: list[tuple[str, str, TargetAudience]] = [
    ("python-ml", "Find Python maintainers active in ML", audience(["machine_learning"], languages=["Python"])),
    ("rust-db", "Rust developers building databases in Europe", audience(["databases"], languages=["Rust"])),
    ("go-k8s", "Go contributors to Kubernetes operators", audience(["kubernetes"], languages=["Go"])),
    ("ts-react", "TypeScript maintainers of React component libraries", audience(["react_components"], languages=["TypeScript"])),
    ("python-ds", "Python data science developers", audience(["data_science"], languages=["Python"])),
    ("solidity", "Solidity smart contract developers", audience(["blockchain"], languages=["Solidity"])),
    ("cpp-games", "C++ game engine developers", audience(["game_dev"], languages=["C++"])),
    ("java-web", "Java web framework contributors", audience(["web_frameworks"], languages=["Java"])),
    ("go-security", "Go security tool developers", audience(["security"], languages=["Go"])),
    ("rust-cli", "Rust CLI tool maintainers", audience(["cli_tools"], languages=["Rust"])),
]


def _stars(inputs: Inputs) -> int:
    return max(inputs.repos[c.repo].stars for c in inputs.contributions)


def _commits(inputs: Inputs) -> int:
    return sum(c.contributions for c in inputs.contributions)


def world_bundles() -> list[tuple[str, Prospect, str]]:
    """(id suffix, prospect, campaign goal) for two people per sandbox audience."""
    world = build_world(MESSAGES_SEED, MESSAGES_USERS, ANCHOR)
    found: list[tuple[str, Prospect, str]] = []
    for name, goal, target in WORLD_AUDIENCES:
        matched = {r.full_name for r in matched_repos(world, target)}
        people = sorted(truth(world, target, world.now))
        built = {login: world_inputs(world, login, matched) for login in people}
        maintainers = [p for p in people if any(c.is_maintainer for c in built[p].contributions)]
        others = [p for p in people if p not in maintainers]
        picks = [
            ("maintainer", max((_stars(built[p]), p) for p in maintainers)[1]),
            ("contributor", min((_commits(built[p]), p) for p in others)[1]),
        ]
        for kind, login in picks:
            prospect = assemble(world_profile(world, login), built[login])
            found.append((f"{name}-{kind}", prospect, goal))
    return found


@dataclass(frozen=True)
class RepoSpec:
    """One repo of a hand-written persona and the persona's standing in it."""

    full_name: str
    language: str | None
    topics: tuple[str, ...]
    stars: int
    commits: int
    rank: int
    share: float
    last_commit: date
    commits_90d: int = 0  # the persona's commits in the 90 days before ANCHOR (evenly spread back)
    description: str | None = None


@dataclass(frozen=True)
class Persona:
    profile: Profile
    repos: tuple[RepoSpec, ...]
    goal: str
    pushes_30d: int = 0  # push events in the Events API's 30-day window


def persona_inputs(persona: Persona) -> Inputs:
    """Pinned contributions, commits and push events for a hand-written persona."""
    vocabulary = load_vocabulary()
    contributions, repos, commits = [], {}, []
    login = persona.profile.login
    for spec in persona.repos:
        owner = spec.full_name.split("/")[0]
        pushed = datetime.combine(spec.last_commit, time(14, 30), tzinfo=UTC)
        repos[spec.full_name] = RepoInfo(
            full_name=spec.full_name,
            owner=owner,
            owner_type="User" if owner == login else "Organization",
            language=spec.language,
            topics=list(spec.topics),
            description=spec.description,
            stars=spec.stars,
            pushed_at=pushed,
            html_url=f"https://github.com/{spec.full_name}",
            domains=vocabulary.domains_of(list(spec.topics), spec.description),
        )
        contributions.append(
            RepoContribution(
                login=login,
                github_id=persona.profile.github_id,
                repo=spec.full_name,
                contributions=spec.commits,
                rank=spec.rank,
                share=spec.share,
                is_owner=owner == login,
            )
        )
        for i in range(spec.commits_90d):
            when = pushed - timedelta(days=i * (ACTIVITY_DAYS - (NOW - pushed).days) / max(spec.commits_90d, 1))
            sha = hashlib.sha1(f"{spec.full_name}:{i}".encode()).hexdigest()
            commits.append(
                CommitInfo(
                    repo=spec.full_name,
                    sha=sha,
                    date=when,
                    author_login=login,
                    html_url=f"https://github.com/{spec.full_name}/commit/{sha}",
                )
            )
    newest = max(persona.repos, key=lambda s: s.last_commit).full_name
    step = 28 / max(persona.pushes_30d, 1)
    events = [
        EventInfo(type="PushEvent", repo=newest, created_at=NOW - timedelta(days=1 + i * step, hours=3))
        for i in range(persona.pushes_30d)
    ]
    return Inputs(contributions, repos, Activity(commits=commits, events=events))


PERSONAS: list[Persona] = [
    Persona(
        Profile(
            "tmoreau",
            48211907,
            "Théo Moreau",
            "Grafana Labs",
            "Lyon, France",
            "FR",
            "Tracing nerd. OpenTelemetry, sampling, Go.",
            "theo@tmoreau.dev",
            "https://tmoreau.dev",
        ),
        (
            RepoSpec(
                "tmoreau/otel-sampler", "Go", ("opentelemetry", "tracing", "golang"), 1840, 412, 1, 0.81, date(2026, 11, 17), 38
            ),
            RepoSpec(
                "otel-contrib/collector-extras",
                "Go",
                ("observability", "opentelemetry"),
                3120,
                37,
                14,
                0.02,
                date(2026, 10, 29),
                6,
            ),
        ),
        "Go observability maintainers in Europe",
        pushes_30d=9,
    ),
    Persona(
        Profile(
            "kwojcik",
            71830244,
            "Katarzyna Wójcik",
            None,
            "Kraków",
            "PL",
            "Firmware for tiny sensors. RP2040, Zephyr.",
            "kasia.wojcik@proton.example",
        ),
        (RepoSpec("kwojcik/picofw", "C", ("embedded", "firmware", "rtos"), 96, 230, 1, 0.92, date(2026, 11, 2), 11),),
        "Embedded C developers building firmware",
        pushes_30d=2,
    ),
    Persona(
        Profile(
            "amirh",
            20934511,
            "Amir Haddad",
            "Northwind Data",
            "London, UK",
            "GB",
            "Type systems and compilers. OCaml by day.",
            "amir@haddad.example",
        ),
        (
            RepoSpec("amirh/lamb", "OCaml", ("compiler", "programming-language"), 310, 540, 1, 0.97, date(2026, 11, 12), 24),
            RepoSpec("tidal-lang/tidal", "OCaml", ("compiler", "interpreter", "llvm"), 1450, 88, 5, 0.04, date(2026, 9, 30), 5),
        ),
        "Compiler and programming language maintainers",
    ),
    Persona(
        Profile(
            "dsilva-dev",
            59302118,
            "Daniela Silva",
            "@pocketmesh",
            "São Paulo, Brazil",
            "BR",
            "Android @ PocketMesh. Kotlin coroutines fan.",
            "daniela@pocketmesh.example",
        ),
        (
            RepoSpec(
                "pocketmesh/android-sdk", "Kotlin", ("android", "mobile", "kotlin"), 5200, 640, 2, 0.18, date(2026, 11, 18), 61
            ),
        ),
        "Kotlin Android maintainers in Latin America",
        pushes_30d=14,
    ),
    Persona(
        Profile("hiro-k", 88122035, None, None, "Tokyo", "JP", None, None),
        (RepoSpec("hiro-k/SwiftChartsLite", "Swift", ("ios", "swiftui", "charts"), 45, 60, 1, 1.0, date(2026, 9, 8), 3),),
        "Swift developers building iOS apps",
    ),
    Persona(
        Profile(
            "jbecker",
            33871520,
            "Jonas Becker",
            "Zalando SE",
            "Berlin, Germany",
            "DE",
            "Data engineer. Spark, Flink, too many YAML files.",
            "jonas.becker@zalando.example",
        ),
        (
            RepoSpec(
                "streamforge/streamforge",
                "Scala",
                ("stream-processing", "apache-spark", "kafka"),
                2300,
                52,
                9,
                0.03,
                date(2026, 11, 10),
                7,
            ),
        ),
        "Data engineering contributors in Germany",
    ),
    Persona(
        Profile(
            "mei-zhou",
            61200987,
            "Mei Zhou",
            "Stark Analytics",
            "Singapore",
            "SG",
            "Frontend engineer. Accessible tables and forms.",
            "mei@meizhou.example",
        ),
        (
            RepoSpec(
                "mei-zhou/vue-headless-table",
                "Vue",
                ("vue", "frontend", "web-components"),
                870,
                295,
                1,
                0.88,
                date(2026, 11, 14),
                19,
            ),
            RepoSpec("svelte-kits/forms", "TypeScript", ("svelte", "frontend"), 1610, 12, 21, 0.01, date(2026, 8, 2)),
        ),
        "Frontend maintainers in APAC",
        pushes_30d=5,
    ),
    Persona(
        Profile(
            "obrien-ops",
            41766302,
            "Aoife O'Brien",
            "Intercom",
            "Dublin, Ireland",
            "IE",
            "Platform engineering. Terraform modules nobody thanks you for.",
            "aoife@obrien-ops.example",
        ),
        (
            RepoSpec(
                "obrien-ops/terraform-aws-ecs-blue-green",
                "HCL",
                ("terraform", "infrastructure-as-code", "devops"),
                1320,
                188,
                1,
                0.74,
                date(2026, 11, 6),
                9,
            ),
        ),
        "DevOps maintainers of Terraform modules",
        pushes_30d=3,
    ),
    Persona(
        Profile(
            "bilal-h",
            52017736,
            "Bilal Hussain",
            None,
            "Lahore, Pakistan",
            "PK",
            "AppSec. I break things so you don't have to.",
            "bilal@secretsweep.example",
        ),
        (
            RepoSpec(
                "bilal-h/secretsweep",
                "Python",
                ("security", "cybersecurity", "secrets-detection"),
                640,
                356,
                1,
                0.9,
                date(2026, 11, 19),
                44,
            ),
        ),
        "Python security tool maintainers",
        pushes_30d=17,
    ),
    Persona(
        Profile(
            "sorenm",
            15522170,
            "Søren Møller",
            None,
            "Copenhagen",
            "DK",
            "Functional programming, mostly Haskell.",
            "soren@moller.example",
        ),
        (RepoSpec("servant-extras/servant-cli", "Haskell", (), 210, 7, 6, 0.02, date(2026, 11, 9), 3),),
        "Haskell developers",
        pushes_30d=1,
    ),
    Persona(
        Profile(
            "ines-costa",
            70455129,
            "Inês Costa",
            "Remote",
            "Lisbon, Portugal",
            "PT",
            "Elixir + Phoenix LiveView.",
            "ines@costa.example",
        ),
        (
            RepoSpec(
                "phx-labs/live-charts",
                "Elixir",
                ("elixir", "phoenix", "web-framework"),
                980,
                180,
                2,
                0.27,
                date(2026, 11, 15),
                22,
            ),
        ),
        "Elixir web framework maintainers",
        pushes_30d=6,
    ),
    Persona(
        Profile(
            "okafor-c", 39120548, "Chidi Okafor", None, "Lagos, Nigeria", "NG", "Scientific ML in Julia.", "chidi@okafor.example"
        ),
        (
            RepoSpec(
                "sciml-lite/DiffEqLite.jl",
                "Julia",
                ("machine-learning", "differential-equations", "julia"),
                2900,
                1100,
                1,
                0.46,
                date(2026, 11, 16),
                35,
            ),
        ),
        "Julia machine learning maintainers",
        pushes_30d=8,
    ),
    Persona(
        Profile(
            "zara-dev", 97011342, "Zara Ahmed", None, "Manchester, UK", "GB", "Learning Rust in public.", "zara@zara-dev.example"
        ),
        (RepoSpec("zara-dev/tiny-kv", "Rust", ("key-value-store", "rust"), 3, 15, 1, 1.0, date(2026, 11, 11), 15),),
        "Rust developers building databases",
        pushes_30d=4,
    ),
    Persona(
        Profile(
            "wlee",
            6602871,
            "Wei Lee",
            "NVIDIA",
            "Santa Clara, CA",
            "US",
            "Inference kernels. Opinions are my own.",
            "wei@fastinfer.example",
        ),
        (
            RepoSpec(
                "fastinfer/fastinfer", "C++", ("deep-learning", "llm", "cuda"), 38000, 4800, 1, 0.31, date(2026, 11, 19), 83
            ),
            RepoSpec("fastinfer/fastinfer-python", "Python", ("llm", "pytorch"), 2100, 260, 2, 0.22, date(2026, 11, 13), 12),
        ),
        "C++ machine learning maintainers of popular projects",
        pushes_30d=22,
    ),
    Persona(
        Profile("rosa-g", 28830412, "Rosa García", None, "Mexico City", "MX", "Rails since 2.3.", "rosa@garcia.example"),
        (
            RepoSpec(
                "rosa-g/jobqueue-rb",
                "Ruby",
                ("background-jobs",),
                210,
                144,
                1,
                0.95,
                date(2026, 10, 27),
                6,
                "Background job queue for Rails apps",
            ),
        ),
        "Ruby maintainers in Latin America",
    ),
]

GENERIC_BANNED = ["I hope this email finds you well", "circle back", "rockstar", "game-changer"]
SHORT_TEMPLATE = MessageTemplate(
    name="peer_note",
    subject="Quick question about {{recent_project}}",
    length="short",
    personalization_fields=["recent_project", "company"],
)
LATTICE = SenderProfile(
    name="Priya Raman",
    title="Developer Relations",
    company="Lattice Devtools",
    email="priya@lattice.dev",
    postal_address="Lattice Devtools Inc., 2261 Market St #4350, San Francisco, CA 94114, USA",
)


def message_expectation(prospect: Prospect, short: bool) -> dict[str, Any]:
    """The rubric: mention a project when the evidence names one; no claims the evidence cannot back."""
    located = any(e.repo for s in prospect.signals for e in s.evidence)
    maintainer = "active_maintainer" in prospect.signal_names()
    banned = list(GENERIC_BANNED)
    if not maintainer:
        banned += ["you maintain", "as the maintainer"]
    if not prospect.company:
        banned.append("your team at")
    if "popular_project_owner" not in prospect.signal_names():
        banned.append("your popular")
    return {"must_mention_recent_project": located, "max_words": 90 if short else 150, "banned_phrases": banned}


def messages_examples() -> list[dict[str, Any]]:
    bundles = [(f"sandbox-{suffix}", p, goal) for suffix, p, goal in world_bundles()]
    bundles += [(f"persona-{p.profile.login}", assemble(p.profile, persona_inputs(p)), p.goal) for p in PERSONAS]
    examples = []
    for index, (id_, prospect, goal) in enumerate(bundles):
        short = index % 4 == 3  # every fourth bundle asks for the short peer note
        messaging = Messaging(templates=[SHORT_TEMPLATE] if short else [], sender_profiles=[LATTICE] if index % 3 == 0 else [])
        campaign = Campaign(id=f"cmp_eval_{index:02d}", name=f"Eval: {goal}", goal=goal, messaging=messaging)
        examples.append(
            {
                "id": id_,
                "prospect": prospect.model_dump(mode="json", exclude_defaults=True),
                "campaign": campaign.model_dump(mode="json", exclude_defaults=True),
                "expect": message_expectation(prospect, short),
            }
        )
    return examples


# ---- compliance -------------------------------------------------------------------------------------
POSTAL = "Lattice Devtools Inc., 2261 Market St #4350, San Francisco, CA 94114, USA"
SETTINGS: dict[str, Any] = {
    "cmo_sender_name": "Priya Raman",
    "cmo_sender_company": "Lattice Devtools",
    "cmo_sender_postal_address": POSTAL,
    "cmo_unsubscribe_url": "https://lattice.dev/unsubscribe",
}
STANDARD = CampaignSettings(compliance_level="standard")
PERMISSIVE = CampaignSettings(compliance_level="permissive")


def base_persona(login: str) -> Prospect:
    persona = next(p for p in PERSONAS if p.profile.login == login)
    return assemble(persona.profile, persona_inputs(persona))


def campaign(
    level: CampaignSettings | None = None, exclude: list[str] | None = None, variants: int = 1, messaging: Messaging | None = None
) -> Campaign:
    return Campaign(
        id="cmp_eval_compliance",
        name="Lattice outreach",
        goal="Developers whose public work fits Lattice Devtools",
        target_audience=TargetAudience(exclude_companies=exclude or []),
        campaign_settings=(level or CampaignSettings()).model_copy(update={"ab_test_variants": variants}),
        messaging=messaging or Messaging(),
    )


@dataclass
class Case:
    """One compliance example; `edit` changes the drafted message (None = keep the template draft)."""

    id: str
    persona: str
    verdict: str
    reasons: list[str]
    tags: list[str]
    changes: dict[str, Any] = field(default_factory=dict)
    campaign: Campaign = field(default_factory=lambda: campaign())
    settings: dict[str, Any] = field(default_factory=dict)
    suppressed: list[tuple[str, str]] = field(default_factory=list)
    variant: str = "A"
    edit: Callable[[Message], Message | None] | None = None


def without(*fragments: str) -> Callable[[Message], Message]:
    """Drop every body line that contains one of `fragments` (a hand-edited draft)."""

    def edit(message: Message) -> Message:
        lines = [line for line in message.body.split("\n") if not any(f in line for f in fragments)]
        return message.model_copy(update={"body": "\n".join(lines)})

    return edit


def subject(text: str) -> Callable[[Message], Message]:
    return lambda message: message.model_copy(update={"subject": text})


def cut_between(start: str, end: str) -> Callable[[Message], Message]:
    """Remove the body from the line starting with `start` up to (not including) the one with `end`."""

    def edit(message: Message) -> Message:
        body = message.body
        head, _, rest = body.partition(start)
        _, _, tail = rest.partition(end)
        return message.model_copy(update={"body": f"{head}{end}{tail}"})

    return edit


OPT_OUT_LINE = "To opt out of all further messages"
CASES: list[Case] = [
    # -- clean approvals: complete footer from the real template path -------------------------------
    Case("approve-us-observability", "wlee", "approved", [], ["clean"]),
    Case("approve-fr-strict", "tmoreau", "approved", [], ["clean", "eu"]),
    Case("approve-gb-variant-b", "amirh", "approved", [], ["clean"], campaign=campaign(variants=3), variant="B"),
    Case("approve-br-variant-c", "dsilva-dev", "approved", [], ["clean"], campaign=campaign(variants=3), variant="C"),
    Case(
        "approve-jp-no-name",
        "hiro-k",
        "approved",
        [],
        ["clean"],
        changes={"email": "hiro.k@swiftcharts.example", "email_source": "profile"},
    ),
    Case(
        "approve-ie-sender-profile",
        "obrien-ops",
        "approved",
        [],
        ["clean"],
        campaign=campaign(messaging=Messaging(sender_profiles=[LATTICE], unsubscribe_url="https://lattice.dev/u/opt-out")),
        settings={"cmo_sender_postal_address": None},
    ),
    Case("approve-pk-no-company", "bilal-h", "approved", [], ["clean"]),
    Case("approve-pt-standard", "ines-costa", "approved", [], ["clean", "eu"], campaign=campaign(STANDARD)),
    Case(
        "approve-unknown-country",
        "rosa-g",
        "approved",
        [],
        ["clean"],
        changes={"country": None, "region": None, "location": "Remote"},
    ),
    Case(
        "approve-ch-not-consent-state",
        "zara-dev",
        "approved",
        [],
        ["clean", "near-miss"],
        changes={"country": "CH", "region": "EUROPE", "location": "Zürich"},
    ),
    Case(
        "approve-no-std-bio",
        "zara-dev",
        "approved",
        [],
        ["clean", "near-miss"],
        changes={"bio": "no-std Rust, no allocator, no problem. Sales tax engines by day."},
    ),
    Case(
        "approve-similar-company-name",
        "okafor-c",
        "approved",
        [],
        ["clean", "near-miss"],
        changes={"company": "Metalworks GmbH"},
        campaign=campaign(exclude=["Meta", "Google"]),
    ),
    Case(
        "approve-regarding-subject",
        "mei-zhou",
        "approved",
        [],
        ["clean", "near-miss"],
        edit=subject("Regarding vue-headless-table and accessible grids"),
    ),
    Case(
        "approve-suppression-other-people",
        "jbecker",
        "approved",
        [],
        ["clean", "near-miss"],
        changes={"country": "NL", "region": "EU", "location": "Amsterdam"},
        suppressed=[("login", "jbecker2"), ("domain", "zalando.example.org"), ("email", "becker@zalando.example")],
    ),
    # -- identity: not a person or not a usable address --------------------------------------------
    Case(
        "reject-noreply-id-form",
        "tmoreau",
        "rejected",
        ["noreply_email"],
        ["noreply"],
        changes={"email": "48211907+tmoreau@users.noreply.github.com"},
    ),
    Case(
        "reject-noreply-generic",
        "mei-zhou",
        "rejected",
        ["noreply_email"],
        ["noreply"],
        changes={"email": "no-reply@meizhou.example"},
    ),
    Case(
        "reject-donotreply",
        "amirh",
        "rejected",
        ["noreply_email"],
        ["noreply"],
        changes={"email": "donotreply@northwind.example"},
    ),
    Case(
        "reject-bot-type",
        "bilal-h",
        "rejected",
        ["bot_account"],
        ["bot"],
        changes={"account_type": "Bot", "username": "secretsweep-release", "id": "gh_secretsweep-release"},
    ),
    Case(
        "reject-bot-login-suffix",
        "bilal-h",
        "rejected",
        ["bot_account"],
        ["bot"],
        changes={"username": "secretsweep-ci[bot]", "id": "gh_secretsweep-ci[bot]"},
    ),
    Case(
        "reject-organization",
        "ines-costa",
        "rejected",
        ["organization_account"],
        ["organization"],
        changes={"account_type": "Organization", "username": "phx-labs", "id": "gh_phx-labs", "name": "Phx Labs"},
    ),
    Case(
        "reject-commit-only-email",
        "jbecker",
        "rejected",
        ["no_published_email"],
        ["commit-email"],
        changes={"email": "jonas.becker@zalando.example", "email_source": "commit", "country": "NL", "region": "EU"},
    ),
    Case(
        "reject-unknown-email-source",
        "okafor-c",
        "rejected",
        ["no_published_email"],
        ["commit-email"],
        changes={"email_source": None},
    ),
    Case("reject-no-email", "hiro-k", "rejected", ["no_email"], ["no-email"]),
    # -- suppression list ---------------------------------------------------------------------------
    Case(
        "reject-suppressed-github-id", "wlee", "rejected", ["suppressed"], ["suppressed"], suppressed=[("github_id", "6602871")]
    ),
    Case(
        "reject-suppressed-login-case",
        "dsilva-dev",
        "rejected",
        ["suppressed"],
        ["suppressed"],
        suppressed=[("login", "DSilva-Dev")],
    ),
    Case(
        "reject-suppressed-email-case",
        "obrien-ops",
        "rejected",
        ["suppressed"],
        ["suppressed"],
        suppressed=[("email", "Aoife@OBrien-Ops.example")],
    ),
    Case(
        "reject-suppressed-domain",
        "jbecker",
        "rejected",
        ["suppressed"],
        ["suppressed"],
        changes={"country": "NL", "region": "EU"},
        suppressed=[("domain", "zalando.example")],
    ),
    Case(
        "reject-suppressed-parent-domain",
        "amirh",
        "rejected",
        ["suppressed"],
        ["suppressed"],
        changes={"email": "amir@eng.haddad.example"},
        suppressed=[("domain", "@haddad.example")],
    ),
    Case(
        "reject-suppressed-merged-login",
        "zara-dev",
        "rejected",
        ["suppressed"],
        ["suppressed"],
        changes={"merged_logins": ["zara-work"]},
        suppressed=[("login", "zara-work")],
    ),
    # -- do-not-contact bios (several phrasings) ----------------------------------------------------
    Case(
        "reject-bio-no-recruiters-or-sales",
        "tmoreau",
        "rejected",
        ["bio_do_not_contact"],
        ["do-not-contact"],
        changes={"bio": "Tracing nerd. Recruiters and sales folks: please do not contact me."},
    ),
    Case(
        "reject-bio-dms-are-closed",
        "mei-zhou",
        "rejected",
        ["bio_do_not_contact"],
        ["do-not-contact"],
        changes={"bio": "Frontend engineer. DMs are closed."},
    ),
    Case(
        "reject-bio-no-solicitations",
        "obrien-ops",
        "rejected",
        ["bio_do_not_contact"],
        ["do-not-contact"],
        changes={"bio": "Platform engineering. No solicitations!"},
    ),
    Case(
        "reject-bio-not-interested-in-sales",
        "wlee",
        "rejected",
        ["bio_do_not_contact"],
        ["do-not-contact"],
        changes={"bio": "Inference kernels. Not interested in sales calls."},
    ),
    Case(
        "reject-bio-dont-message",
        "rosa-g",
        "rejected",
        ["bio_do_not_contact"],
        ["do-not-contact"],
        changes={"bio": "Rails since 2.3. Please don\u2019t message me about tools."},
    ),
    Case(
        "reject-bio-no-cold-calls",
        "bilal-h",
        "rejected",
        ["bio_do_not_contact"],
        ["do-not-contact"],
        changes={"bio": "AppSec. No cold calls, no cold pitches."},
    ),
    # -- company and privacy ------------------------------------------------------------------------
    Case(
        "reject-excluded-alias-alphabet",
        "okafor-c",
        "rejected",
        ["excluded_company"],
        ["excluded-company"],
        changes={"company": "Alphabet"},
        campaign=campaign(exclude=["Google"]),
    ),
    Case(
        "reject-excluded-facebook-as-meta",
        "mei-zhou",
        "rejected",
        ["excluded_company"],
        ["excluded-company"],
        changes={"company": "Facebook, Inc."},
        campaign=campaign(exclude=FAANG),
    ),
    Case(
        "reject-excluded-aws",
        "obrien-ops",
        "rejected",
        ["excluded_company"],
        ["excluded-company"],
        changes={"company": "Amazon Web Services"},
        campaign=campaign(exclude=["Amazon"]),
    ),
    Case(
        "reject-contact-not-allowed",
        "amirh",
        "rejected",
        ["contact_not_allowed"],
        ["privacy"],
        changes={"privacy_settings": PrivacySettings(email_visible=True, contact_allowed=False)},
    ),
    # -- consent states -----------------------------------------------------------------------------
    Case("reject-consent-de-strict", "jbecker", "rejected", ["consent_required"], ["consent", "strict"]),
    Case("reject-consent-pl-strict", "kwojcik", "rejected", ["consent_required"], ["consent", "strict"]),
    Case(
        "reject-consent-it-strict",
        "tmoreau",
        "rejected",
        ["consent_required"],
        ["consent", "strict"],
        changes={"country": "IT", "region": "EU", "location": "Milano"},
    ),
    Case(
        "review-consent-de-standard",
        "jbecker",
        "needs_review",
        ["consent_required"],
        ["consent", "standard"],
        campaign=campaign(STANDARD),
    ),
    Case(
        "review-consent-dk-permissive", "sorenm", "needs_review", ["consent_required"], ["consent"], campaign=campaign(PERMISSIVE)
    ),
    # -- the draft itself ---------------------------------------------------------------------------
    Case(
        "review-missing-unsubscribe", "wlee", "needs_review", ["missing_unsubscribe"], ["unsubscribe"], edit=without(OPT_OUT_LINE)
    ),
    Case(
        "review-placeholder-unsubscribe",
        "bilal-h",
        "needs_review",
        ["placeholder_unsubscribe_url"],
        ["unsubscribe"],
        settings={"cmo_unsubscribe_url": "https://unsubscribe.example.com/u"},
    ),
    Case(
        "review-no-postal-address-configured",
        "dsilva-dev",
        "needs_review",
        ["missing_postal_address"],
        ["postal"],
        settings={"cmo_sender_postal_address": None},
    ),
    Case(
        "review-postal-address-cut-from-body",
        "tmoreau",
        "needs_review",
        ["missing_postal_address"],
        ["postal"],
        edit=without(POSTAL),
    ),
    Case(
        "review-source-notice-cut",
        "okafor-c",
        "needs_review",
        ["missing_source_notice"],
        ["source-notice"],
        edit=cut_between("Why you are hearing from us", OPT_OUT_LINE),
    ),
    Case(
        "review-subject-re-prefix",
        "amirh",
        "needs_review",
        ["deceptive_subject"],
        ["deceptive-subject"],
        edit=subject("RE: lamb type checker"),
    ),
    Case(
        "review-subject-urgent",
        "ines-costa",
        "needs_review",
        ["deceptive_subject"],
        ["deceptive-subject"],
        edit=subject("[URGENT] live-charts and Lattice"),
    ),
    Case(
        "review-subject-all-caps",
        "zara-dev",
        "needs_review",
        ["deceptive_subject"],
        ["deceptive-subject"],
        edit=subject("TINY-KV IS AWESOME"),
    ),
    Case(
        "review-subject-action-required",
        "rosa-g",
        "needs_review",
        ["deceptive_subject"],
        ["deceptive-subject"],
        edit=subject("Action required: jobqueue-rb"),
    ),
    Case("review-no-message", "mei-zhou", "needs_review", ["no_message"], ["no-message"], edit=lambda _: None),
    # -- several rules at once ----------------------------------------------------------------------
    Case(
        "reject-noreply-and-consent",
        "jbecker",
        "rejected",
        ["noreply_email", "consent_required"],
        ["noreply", "consent"],
        changes={"email": "33871520+jbecker@users.noreply.github.com"},
    ),
    Case(
        "reject-bot-and-suppressed",
        "wlee",
        "rejected",
        ["bot_account", "suppressed"],
        ["bot", "suppressed"],
        changes={"username": "fastinfer-bench[bot]", "id": "gh_fastinfer-bench[bot]"},
        suppressed=[("github_id", "6602871")],
    ),
    Case(
        "review-caps-and-no-unsubscribe",
        "obrien-ops",
        "needs_review",
        ["missing_unsubscribe", "deceptive_subject"],
        ["deceptive-subject", "unsubscribe"],
        edit=lambda m: without(OPT_OUT_LINE)(subject("FWD: blue-green deploys")(m)),
    ),
    Case(
        "reject-dnc-outranks-draft-problems",
        "tmoreau",
        "rejected",
        ["bio_do_not_contact", "missing_postal_address"],
        ["do-not-contact", "postal"],
        changes={"bio": "no cold emails, ever"},
        settings={"cmo_sender_postal_address": None},
    ),
    # -- found as known bugs in 1.0.0, fixed in the rules since (see README.md) ----------------------
    Case(
        "reject-bio-do-not-send-marketing",
        "bilal-h",
        "rejected",
        ["bio_do_not_contact"],
        ["do-not-contact"],
        changes={"bio": "AppSec. Please do not send me marketing emails."},
    ),
    Case(
        "reject-bio-no-cold-emails-hyphen",
        "ines-costa",
        "rejected",
        ["bio_do_not_contact"],
        ["do-not-contact"],
        changes={"bio": "Elixir + Phoenix LiveView. No cold-emails."},
    ),
    Case(
        "reject-bio-dont-reach-out",
        "amirh",
        "rejected",
        ["bio_do_not_contact"],
        ["do-not-contact"],
        changes={"bio": "Compilers. Please don't reach out with sales pitches."},
    ),
    Case(
        "review-no-ad-identification",
        "wlee",
        "needs_review",
        ["missing_ad_identification"],
        ["can-spam"],
        edit=without("This is a commercial message"),
    ),
]


def compliance_examples() -> list[dict[str, Any]]:
    examples = []
    for case in CASES:
        overrides = SETTINGS | case.settings
        settings = Settings(_env_file=None, **overrides)
        prospect = base_persona(case.persona).model_copy(update=case.changes)
        prospect = Prospect.model_validate(prospect.model_dump())  # re-validate the changed fields
        message: Message | None = draft_from_template(prospect, case.campaign, case.variant, settings)
        if case.edit is not None:
            message = case.edit(message)
        prospect = prospect.model_copy(update={"message": message})
        examples.append(
            {
                "id": case.id,
                "prospect": prospect.model_dump(mode="json", exclude_defaults=True),
                "campaign": case.campaign.model_dump(mode="json", exclude_defaults=True),
                "settings": overrides,
                "suppressed": [{"kind": kind, "value": value} for kind, value in case.suppressed],
                "expect_verdict": case.verdict,
                "expect_reasons": case.reasons,
                "tags": case.tags,
            }
        )
    return examples


# ---- writing ----------------------------------------------------------------------------------------
class _Dumper(yaml.SafeDumper):
    """Multi-line strings (message bodies) as literal blocks, so a reviewer can read the drafts."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)

# Each suite's changelog, oldest first; the first word of the last line is the version written.
# To change a suite: edit its examples above, append a line here (see README.md on which number to
# bump), rerun this script.
SUITES: dict[str, tuple[list[str], Callable[[], list[dict[str, Any]]]]] = {
    "leads": (
        [
            "1.0.0 (2026-11-25): first version: 12 end-to-end goals over sandbox worlds (seeds 11, 23, 42, 101; "
            "800-3000 users) with their truth audiences"
        ],
        leads_examples,
    ),
    "messages": (
        [
            "1.0.0 (2026-11-25): first version: 35 evidence bundles (20 from sandbox seed 23 / 1200 users, "
            "15 hand-written personas), anchored 2026-11-20",
            "2.0.0 (2026-12-07): the 20 sandbox bundles are drawn again: the generator now plants division staff "
            "(Google DeepMind, GitHub ...) and former staff (ex-Google, Microsoft MVP), so seed 23 is another world; "
            "the 15 personas are unchanged",
        ],
        messages_examples,
    ),
    "compliance": (
        [
            "1.0.0 (2026-11-25): first version: 62 verdict cases for every compliance rule, 14 clean "
            "approvals with the real footer, 4 known bugs",
            "2.0.0 (2026-11-25): the 4 known bugs are fixed in the rules: renamed to reject-/review- cases, "
            "no-ad-identification now expects reason missing_ad_identification",
            "2.0.1 (2026-11-26): drafts carry the List-Unsubscribe header the copywriter now adds; expectations unchanged",
            "2.0.2 (2026-12-07): a draft to someone without a quotable name greets with 'Hi there,' (was 'Hi,'); "
            "expectations unchanged",
            "2.0.3 (2026-12-07): 'Amazon Web Services' is shown as itself (a division of Amazon), no longer as "
            "'Amazon'; expectations unchanged",
        ],
        compliance_examples,
    ),
}


def render(examples: list[dict[str, Any]], changelog: list[str]) -> str:
    version = changelog[-1].split()[0]
    lines = "".join(f"  - {json.dumps(line, ensure_ascii=False)}\n" for line in changelog)  # JSON strings are YAML
    return (
        "# Generated by evals/datasets/build_fixtures.py: edit the script and rerun it, not this file.\n"
        f"# {len(examples)} examples. See README.md in this folder.\n"
        f'version: "{version}"\nchangelog:\n{lines}'
        + yaml.dump({"examples": examples}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    )


def main() -> None:
    for suite, (changelog, build) in SUITES.items():
        path = HERE / f"{suite}.yaml"
        path.write_text(render(build(), changelog), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
