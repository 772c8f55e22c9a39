"""Personas and an open-ended subject: what lookalike and semantic-relevance evals are scored against.

Every person of a generated community gets a persona, the label of their community's domain (an ML
person is "ML engineering", a Kubernetes or DevOps one "cloud infrastructure"); people of no
community have none. A persona is hidden truth (`World.personas`): the API shows only what follows
from it naturally (the person's repos, their descriptions, topics and READMEs, sometimes a bio).

On top of the generated world this module plants a community no vocabulary captures: people building
local-first sync engines and CRDTs, whose repos say so in many different words ("conflict-free
replicated data types", "offline-first data layer", "edits merge without conflicts"), some of them
copied under another name (a renamed copy or mirror, `World.copies`), next to repos that only share
a word with it ("rsync wrapper", "template engine"). It draws from its own RNG (seeded by the world's
seed), adds only new accounts and repos, and touches nothing the generator made: every other world
property, and every built-in goal's truth, stays what it was.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sandbox.tables import FIRST_NAMES, LAST_NAMES, LICENSE_KEYS, LOCATIONS, ROLES, ascii_fold
from sandbox.world import EARLIEST, Account, Contribution, Repo

LOCAL_FIRST = "local_first"
LOCAL_FIRST_PERSONA = "local-first sync"
PERSONA_OF_DOMAIN = {
    "machine_learning": "ML and data science",
    "data_science": "ML and data science",
    "web_frameworks": "web backends",
    "databases": "databases",
    "cli_tools": "CLI tools",
    "kubernetes": "cloud infrastructure",
    "devops": "cloud infrastructure",
    "react_components": "web frontend",
    "game_dev": "game development",
    "blockchain": "blockchain",
    "security": "security",
}
# Subject key -> the goals that ask for it in open words (the relevance eval runs each).
FUZZY_GOALS = {
    LOCAL_FIRST: (
        "Find developers building local-first sync engines",
        "Developers working on CRDTs and offline-first apps",
    )
}

_MEMBER_SHARE, _DISTRACTOR_SHARE, _COPIES = 0.07, 0.012, 3
_LANGUAGES = (("Rust", 3), ("TypeScript", 3), ("JavaScript", 1), ("Go", 1), ("Swift", 1), ("Kotlin", 1))
_STEMS = ("sync", "replica", "crdt", "merge", "offline", "peer", "mesh", "delta", "converge", "relay", "mirrorless")
_SUFFIXES = ("", "-core", "-engine", "kit", "-rs", "-js", "ly", "-lab")
_DESCRIPTIONS = (
    "{adj} sync engine for local-first apps",
    "CRDT library for collaborative editing that keeps working offline",
    "Conflict-free replicated data types for {lang}",
    "Offline-first data layer: changes sync to the server when the network comes back",
    "Peer-to-peer replication for local-first software",
    "Multiplayer state synchronization built on CRDTs",
    "Local-first sync over WebSockets with automatic conflict resolution",
    "JSON CRDT for apps that work offline and merge edits later",
    "Delta-state replication so every device keeps a full copy of the data",
    "Sync layer for local-first apps: concurrent edits merge without conflicts",
    "Eventually consistent document sync between devices, no central server required",
    "Operation-based CRDTs and a sync protocol for offline-capable apps",
)
_TOPICS = ("crdt", "local-first", "offline-first", "sync", "replication", "p2p", "collaboration", "realtime")
_BIOS = (
    "Building local-first software.",
    "CRDTs, sync engines and offline-first apps.",
    "Making apps work offline.",
    "{role}; I like distributed systems and collaborative editors.",
)
# Repos that share a word with the subject and are not about it.
_DISTRACTORS = (
    ("rsync-nightly", "rsync wrapper for nightly backups to a NAS"),
    ("dotsync", "Sync your dotfiles between machines with one command"),
    ("calsync", "Two-way calendar sync between Google Calendar and Outlook"),
    ("playlist-sync", "Copy playlists between music streaming services"),
    ("ntp-lite", "Time sync client for embedded boards"),
    ("label-sync", "Sync issue labels across all repositories of an account"),
    ("lipsync", "Lip sync animation tool for 2D characters"),
    ("bookmark-finder", "Search engine for my browser bookmarks"),
    ("rulebook", "Rules engine for invoice approval workflows"),
    ("stache", "Template engine with Mustache syntax"),
    ("first-steps", "First steps in a new language: exercises and notes"),
    ("local-weather", "Local weather widget for the desktop"),
)


def community_personas(home: dict[str, str]) -> dict[str, str]:
    """Login -> persona for the generated communities (`home`: login -> the community's domain)."""
    return {login: PERSONA_OF_DOMAIN[domain] for login, domain in home.items() if domain in PERSONA_OF_DOMAIN}


class _Planter:
    """Adds the local-first community to a generated world's accounts and repos, in place."""

    def __init__(self, seed: int, size: int, now: datetime, accounts: dict[str, Account], repos: dict[str, Repo]) -> None:
        self.rng = random.Random(f"local-first:{seed}")
        self.size, self.now, self.accounts, self.repos = size, now, accounts, repos
        self.taken = {login.lower() for login in accounts}
        self.next_user_id = max(a.id for a in accounts.values()) + 1
        self.next_repo_id = max((r.id for r in repos.values()), default=0) + 1
        self.personas: dict[str, str] = {}
        self.subjects: dict[str, str] = {}
        self.copies: dict[str, str] = {}
        self.planted: list[Repo] = []

    def ago(self, days: float) -> datetime:
        return max(self.now - timedelta(days=days), EARLIEST).replace(microsecond=0)

    def run(self) -> None:
        members = [self._person(member=True) for _ in range(max(12, round(_MEMBER_SHARE * self.size)))]
        target = {m.login: self._target() for m in members}
        built = [self._community_repo(members, target) for _ in range(max(10, round(0.9 * len(members))))]
        for original in self.rng.sample([r for r in built if not r.archived], _COPIES):
            self._copy(original, self.rng.choice([m for m in members if m.login != original.owner]))
        for name, description in _DISTRACTORS[: max(6, round(_DISTRACTOR_SHARE * self.size))]:
            owner = self._person(member=False)
            repo = self._repo(owner.login, name, description, self.rng.choice(("Shell", "Python", "Go", "JavaScript")))
            self._contribute(repo, [owner.login], {owner.login: self.rng.uniform(0, 400)})
        self._settle()

    def _target(self) -> float:
        """Age in days of the person's latest commit: most are active, some went quiet."""
        return self.rng.uniform(0, 45) if self.rng.random() < 0.6 else self.rng.uniform(45, 600)

    def _person(self, *, member: bool) -> Account:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        forms = [ascii_fold(first + last).lower(), ascii_fold(first[0] + last).lower()]
        base = rng.choice([*forms, f"{ascii_fold(first).lower()}-sync"] if member else forms)
        login, n = base, 1
        while login.lower() in self.taken:
            n += 1
            login = f"{base}{n}"
        self.taken.add(login.lower())
        text, country, city, _ = rng.choice(LOCATIONS)
        bio = None
        if member and rng.random() < 0.55:
            bio = rng.choice(_BIOS).format(role=rng.choice(ROLES))
        elif not member and rng.random() < 0.4:
            bio = f"{rng.choice(ROLES)}."
        account = Account(
            self.next_user_id,
            login,
            "User",
            self.ago(rng.uniform(400, 3000)),
            name=f"{first} {last}",
            location=text,
            country=country,
            city=city,
            bio=bio,
            followers=int(rng.lognormvariate(2.0, 1.4)),
            following=int(rng.lognormvariate(2.0, 1.2)),
        )
        self.next_user_id += 1
        if rng.random() < 0.3:
            account.email = f"{login.lower()}@example.org"
        self.accounts[login] = account
        if member:
            self.personas[login] = LOCAL_FIRST_PERSONA
        return account

    def _repo(self, owner: str, name: str, description: str | None, language: str | None) -> Repo:
        while f"{owner}/{name}" in self.repos:
            name += "-2"
        stars = int(self.rng.lognormvariate(3.5, 1.8))
        repo = Repo(
            self.next_repo_id,
            owner,
            name,
            language,
            [],
            description,
            stars,
            int(stars * self.rng.uniform(0.03, 0.25)),
            self.rng.randint(0, 20),
            self.rng.choice(LICENSE_KEYS),
            self.now,
            self.now,
            self.now,
        )
        self.next_repo_id += 1
        self.repos[repo.full_name] = repo
        self.planted.append(repo)
        return repo

    def _community_repo(self, members: list[Account], target: dict[str, float]) -> Repo:
        rng = self.rng
        lead = rng.choice(members)
        language = rng.choices([lang for lang, _ in _LANGUAGES], [w for _, w in _LANGUAGES])[0]
        name = rng.choice(_STEMS) + rng.choice(_SUFFIXES)
        description = rng.choice(_DESCRIPTIONS).format(adj=rng.choice(("Fast", "Tiny", "Modern", "Minimal")), lang=language)
        repo = self._repo(lead.login, name, description, language)
        if rng.random() < 0.5:
            repo.topics = rng.sample(_TOPICS, rng.randint(1, 3))
        repo.archived = rng.random() < 0.05
        others = rng.sample([m.login for m in members if m.login != lead.login], rng.randint(0, 6))
        self._contribute(repo, [lead.login, *others], target)
        self.subjects[repo.full_name] = LOCAL_FIRST
        return repo

    def _copy(self, original: Repo, owner: Account) -> None:
        """A renamed copy or mirror: same description, topics and history, another owner and name."""
        name = f"{original.name}-{self.rng.choice(('mirror', 'copy', 'vendored'))}"
        repo = self._repo(owner.login, name, original.description, original.language)
        repo.topics, repo.stars = list(original.topics), self.rng.randint(0, 5)
        repo.contributors = [Contribution(c.login, c.count, c.last_commit) for c in original.contributors]
        self.subjects[repo.full_name] = LOCAL_FIRST
        self.copies[repo.full_name] = original.full_name

    def _contribute(self, repo: Repo, logins: list[str], target: dict[str, float]) -> None:
        rng = self.rng
        top = max(1, int(rng.lognormvariate(3.0, 1.0)))
        entries = []
        for i, login in enumerate(logins):
            age = target[login] + (0 if i == 0 or rng.random() < 0.3 else rng.expovariate(1 / 120))
            if repo.archived:
                age = max(age, rng.uniform(300, 900))
            entries.append(Contribution(login, max(1, int(top / (i + 1) ** 1.2)), self.ago(age + rng.random())))
        repo.contributors = sorted(entries, key=lambda c: -c.count)

    def _settle(self) -> None:
        """Dates as the generator's: a repo is pushed at its latest commit, created before its first;
        nobody commits before their account exists."""
        for repo in self.planted:
            self._date(repo)
        for login in {c.login for repo in self.planted for c in repo.contributors if c.login}:
            account = self.accounts[login]
            account.commit_emails = [account.email] if account.email else [account.noreply_email]

    def _date(self, repo: Repo) -> None:
        commits = [c.last_commit for c in repo.contributors]
        repo.pushed_at = repo.updated_at = max(commits)
        repo.created_at = max(min(commits) - timedelta(days=self.rng.uniform(10, 900)), EARLIEST).replace(microsecond=0)
        day = timedelta(days=1)
        owner = self.accounts[repo.owner]
        owner.created_at = max(min(owner.created_at, repo.created_at - day), EARLIEST)
        for c in repo.contributors:
            author = self.accounts[c.login or ""]
            author.created_at = max(min(author.created_at, c.last_commit - day), EARLIEST)


def plant_local_first(
    seed: int, size: int, now: datetime, accounts: dict[str, Account], repos: dict[str, Repo]
) -> tuple[dict[str, str], dict[str, str], dict[str, str], frozenset[str]]:
    """Add the local-first community to `accounts` and `repos`; returns (personas, subjects, copies,
    every planted repo's full name)."""
    planter = _Planter(seed, size, now, accounts, repos)
    planter.run()
    return planter.personas, planter.subjects, planter.copies, frozenset(r.full_name for r in planter.planted)
