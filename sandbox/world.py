"""The sandbox's world: a GitHub-shaped population of people, orgs, bots and repos, and its lookups.

The HTTP server and the ground-truth oracle both read one `World`, so what the API shows and what
the scorer counts can never disagree. Every date is an offset back from an anchor day, so a world
built today has "recent" activity today. Bulky data (commits, events) is derived lazily per repo or
user from a seeded RNG: a 20,000-user world stays cheap to build and identical on every call.
`generator.py` fills a `World`; this module only holds and derives, so it imports nothing else of
the sandbox.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

AccountType = Literal["User", "Organization", "Bot"]
NOREPLY_DOMAIN = "users.noreply.github.com"
NOREPLY_ID_SINCE = datetime(2017, 7, 18, tzinfo=UTC)  # later accounts get the ID+login noreply form
EVENT_WINDOW = timedelta(days=30)
MAX_EVENTS = 300
MAIN_BRANCH_SINCE = datetime(2020, 10, 1, tzinfo=UTC)
EARLIEST = datetime(2008, 2, 8, tzinfo=UTC)


@dataclass(slots=True)
class Push:
    """A push that left no commit on a default branch (feature branches): visible only as an event."""

    repo: str
    ref: str
    at: datetime


@dataclass(slots=True)
class Account:
    """A user, organization or bot. `company_key`, `country` and `city` are hidden truth, never served."""

    id: int
    login: str
    type: AccountType
    created_at: datetime
    name: str | None = None
    company: str | None = None
    company_key: str | None = None
    location: str | None = None
    country: str | None = None
    city: str | None = None
    email: str | None = None
    bio: str | None = None
    blog: str = ""
    twitter_username: str | None = None
    hireable: bool | None = None
    followers: int = 0
    following: int = 0
    commit_emails: list[str] = field(default_factory=list)
    orgs: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    pushes: list[Push] = field(default_factory=list)

    @property
    def noreply_email(self) -> str:
        """GitHub's noreply address: the ID form for accounts created after 2017-07-18."""
        if self.created_at >= NOREPLY_ID_SINCE:
            return f"{self.id}+{self.login}@{NOREPLY_DOMAIN}"
        return f"{self.login}@{NOREPLY_DOMAIN}"


@dataclass(slots=True)
class Contribution:
    """One author's commits to one repo; `login` is None for an email linked to no account."""

    login: str | None
    count: int
    last_commit: datetime
    name: str | None = None
    email: str | None = None


@dataclass(slots=True)
class Repo:
    id: int
    owner: str
    name: str
    language: str | None
    topics: list[str]
    description: str | None
    stars: int
    forks: int
    open_issues: int
    license: str | None
    created_at: datetime
    pushed_at: datetime
    updated_at: datetime
    parent: str | None = None
    archived: bool = False
    contributors: list[Contribution] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def fork(self) -> bool:
        return self.parent is not None

    @property
    def default_branch(self) -> str:
        """GitHub switched new repos from master to main in October 2020."""
        return "main" if self.created_at >= MAIN_BRANCH_SINCE else "master"


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    parent: str | None
    login: str | None
    name: str
    email: str
    date: datetime
    message: str


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    type: str
    actor: str
    repo: str
    payload: dict[str, Any]
    created_at: datetime


@dataclass(eq=False)
class World:
    """The generated population plus the lookups the server and the oracle need. Treat as read-only."""

    seed: int
    now: datetime
    accounts: dict[str, Account]
    repos: dict[str, Repo]
    aliases: dict[str, str]  # secondary login -> primary login (one person, two accounts)
    # Hidden truth, never served (`sandbox/personas.py`): each person's main interest, the open-ended
    # subject of the planted repos that have one, and which planted repo copies which.
    personas: dict[str, str] = field(default_factory=dict)  # login -> persona label
    subjects: dict[str, str] = field(default_factory=dict)  # repo full name -> open-ended subject key
    copies: dict[str, str] = field(default_factory=dict)  # renamed copy or mirror -> the original repo
    planted: frozenset[str] = frozenset()  # every repo `sandbox/personas.py` added after the generator
    users: dict[str, Account] = field(init=False)  # people only (type User), by login
    by_id: dict[int, Account] = field(init=False)
    repos_by_owner: dict[str, list[Repo]] = field(init=False)
    contributions_by_login: dict[str, list[tuple[Repo, Contribution]]] = field(init=False)

    def __post_init__(self) -> None:
        self.users = {login: a for login, a in self.accounts.items() if a.type == "User"}
        self.by_id = {a.id: a for a in self.accounts.values()}
        self._login_key = {login.lower(): login for login in self.accounts}
        self._repo_key = {name.lower(): name for name in self.repos}
        self.repos_by_owner = defaultdict(list)
        self.contributions_by_login = defaultdict(list)
        for repo in self.repos.values():
            self.repos_by_owner[repo.owner].append(repo)
            for c in repo.contributors:
                if c.login:
                    self.contributions_by_login[c.login].append((repo, c))
        self._commits: dict[str, list[Commit]] = {}
        self._events: dict[str, list[Event]] = {}
        # The repos other people's noise events land on: the generator's only, so planting repos
        # later changed nobody's events (nor the researcher agent's recorded sessions).
        self._repo_list = [r for r in self.repos.values() if r.full_name not in self.planted]

    def account(self, login: str) -> Account | None:
        """Case-insensitive, like GitHub's URLs."""
        key = self._login_key.get(login.lower())
        return self.accounts[key] if key else None

    def repo(self, full_name: str) -> Repo | None:
        key = self._repo_key.get(full_name.lower())
        return self.repos[key] if key else None

    def emails_of(self, login: str) -> set[str]:
        """Every address the API can reveal for an account: its profile email and its commit emails."""
        account = self.accounts[login]
        return {e for e in (account.email, *account.commit_emails) if e}

    def last_activity(self, login: str, where: Callable[[Repo], bool] | None = None) -> datetime | None:
        """Latest own default-branch commit or feature-branch push (GraphQL shows those as pull
        requests), in any repo or only in repos `where` accepts: the oracle's notion of "active"."""
        dates = [c.last_commit for repo, c in self.contributions_by_login.get(login, ()) if where is None or where(repo)]
        dates += [p.at for p in self.accounts[login].pushes if where is None or where(self.repos[p.repo])]
        return max(dates, default=None)

    def commits(self, repo: Repo) -> list[Commit]:
        """The default branch's history, newest first; derived on first use, then cached."""
        found = self._commits.get(repo.full_name)
        if found is None:
            found = self._commits[repo.full_name] = _derive_commits(self, repo)
        return found

    def events(self, login: str) -> list[Event]:
        """Public events of the last 30 days, newest first, at most 300 (as GitHub keeps them)."""
        found = self._events.get(login)
        if found is None:
            found = self._events[login] = _derive_events(self, self.accounts[login])
        return found


def _sha(*parts: object) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()


def _derive_commits(world: World, repo: Repo) -> list[Commit]:
    rng = random.Random(world.seed * 1_000_003 + repo.id)
    origin = world.repos[repo.parent] if repo.parent else repo
    drafts: list[tuple[datetime, str | None, str, str, str]] = []
    for c in repo.contributors:
        account = world.accounts.get(c.login) if c.login else None
        start = max(origin.created_at, account.created_at) if account else origin.created_at
        span = max((c.last_commit - start).total_seconds(), 0.0)
        emails = (account.commit_emails or [account.noreply_email]) if account else [c.email or ""]
        name = (account.name or account.login) if account else c.name or ""
        bot = account is not None and account.type == "Bot"
        for i in range(c.count):
            when = c.last_commit - timedelta(seconds=int(rng.random() * span)) if i else c.last_commit
            drafts.append((when, c.login, name, rng.choice(emails), _commit_message(rng, bot)))
    drafts.sort(key=lambda d: d[0], reverse=True)
    shas = [_sha(repo.id, i, d[0].isoformat()) for i, d in enumerate(drafts)]
    parents = [*shas[1:], None]
    return [Commit(sha, parent, d[1], d[2], d[3], d[0], d[4]) for sha, parent, d in zip(shas, parents, drafts, strict=True)]


def _derive_events(world: World, account: Account) -> list[Event]:
    """Pushes follow the commit history (one push per run of an author's commits); the rest is noise."""
    rng = random.Random(world.seed * 2_000_003 + account.id)
    since = world.now - EVENT_WINDOW
    drafts: list[tuple[datetime, str, str, dict[str, Any]]] = []
    for repo, c in world.contributions_by_login.get(account.login, ()):
        if c.last_commit < since or (repo.fork and repo.owner != account.login):  # forks copy others' history
            continue
        history = world.commits(repo)
        for i, commit in enumerate(history):
            newest_of_run = i == 0 or history[i - 1].login != account.login
            if commit.login == account.login and commit.date >= since and newest_of_run:
                payload = {
                    "repository_id": repo.id,
                    "push_id": rng.randrange(10**10, 10**11),
                    "ref": f"refs/heads/{repo.default_branch}",
                    "head": commit.sha,
                    "before": commit.parent or "0" * 40,
                }
                drafts.append((commit.date, "PushEvent", repo.full_name, payload))
    for push in account.pushes:
        payload = {
            "repository_id": world.repos[push.repo].id,
            "push_id": rng.randrange(10**10, 10**11),
            "ref": push.ref,
            "head": _sha(push.repo, push.at),
            "before": _sha(push.repo, push.ref),
        }
        drafts.append((push.at, "PushEvent", push.repo, payload))
    last = world.last_activity(account.login)
    recent = last is not None and last >= since
    for _ in range(rng.randint(3, 60) if recent else rng.randint(0, 4)):
        when = world.now - timedelta(seconds=rng.randrange(int(EVENT_WINDOW.total_seconds())))
        kind, payload = _noise_event(rng, recent)
        drafts.append((when, kind, rng.choice(world._repo_list).full_name, payload))
    drafts.sort(key=lambda d: d[0], reverse=True)
    return [  # ids grow with time like GitHub's; the suffix keeps them unique
        Event(str(int(d[0].timestamp()) * 100_000 + account.id % 1000 * 100 + i % 100), d[1], account.login, *d[2:], d[0])
        for i, d in enumerate(drafts[:MAX_EVENTS])
    ]


# Parts of a codebase: commit messages and branch names (the generator's feature branches too) pick one.
CODE_AREAS = ["parser", "cache", "config", "api", "docs", "build", "serializer", "client", "scheduler", "loader"]
_MESSAGES = (
    "Fix typo in README",
    "Add tests for {w}",
    "Refactor {w}",
    "Update docs",
    "Fix {w} edge case",
    "Improve {w} performance",
    "Merge pull request #{n} from {w}-fix",
)
_BOT_MESSAGES = ("Bump {w} from 1.{n}.0 to 1.{n}.1", "chore(deps): update {w} to v{n}", "[pre-commit.ci] auto fixes")


def _commit_message(rng: random.Random, bot: bool) -> str:
    return rng.choice(_BOT_MESSAGES if bot else _MESSAGES).format(w=rng.choice(CODE_AREAS), n=rng.randint(1, 400))


def _noise_event(rng: random.Random, recent: bool) -> tuple[str, dict[str, Any]]:
    """A non-push event; people inactive lately still star things (activity that is not a commit)."""
    kind = rng.choice(("WatchEvent", "PullRequestEvent", "IssuesEvent", "CreateEvent")) if recent else "WatchEvent"
    number, title = rng.randint(1, 3000), _commit_message(rng, False)
    if kind == "PullRequestEvent":
        action = rng.choice(("opened", "closed"))
        pull = {
            "id": rng.randrange(10**9, 3 * 10**9),
            "number": number,
            "title": title,
            "state": "open" if action == "opened" else "closed",
            "merged": action == "closed",
        }
        return kind, {"action": action, "number": number, "pull_request": pull}
    if kind == "IssuesEvent":
        issue = {"id": rng.randrange(10**9, 3 * 10**9), "number": number, "title": title, "state": "open"}
        return kind, {"action": "opened", "issue": issue}
    if kind == "CreateEvent":
        tag = rng.random() < 0.5
        ref = f"v{rng.randint(0, 3)}.{rng.randint(0, 20)}.0" if tag else f"fix-{rng.choice(CODE_AREAS)}"
        return kind, {
            "ref": ref,
            "ref_type": "tag" if tag else "branch",
            "master_branch": "main",
            "description": None,
            "pusher_type": "user",
        }
    return kind, {"action": "started"}
