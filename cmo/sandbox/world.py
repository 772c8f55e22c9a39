"""The sandbox's world: a deterministic, GitHub-shaped population of people, orgs, bots and repos.

The HTTP server and the ground-truth oracle both read one `World`, so what the API shows and what
the scorer counts can never disagree. Every date is an offset back from an anchor day, so a world
built today has "recent" activity today. Bulky data (commits, events) is derived lazily per repo or
user from a seeded RNG: a 20,000-user world stays cheap to build and identical on every call.
"""

from __future__ import annotations

import hashlib
import random
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import accumulate
from math import log
from typing import Any, Literal

from cmo.regions import matches_targets
from cmo.vocabulary import load_vocabulary

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
        self._repo_list = list(self.repos.values())

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

    def last_activity(self, login: str) -> datetime | None:
        """Latest commit (any repo) or push event: the oracle's notion of "active"."""
        dates = [c.last_commit for _, c in self.contributions_by_login.get(login, ())]
        dates += [p.at for p in self.accounts[login].pushes]
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
    parents = shas[1:] + [None]
    return [Commit(sha, parent, d[1], d[2], d[3], d[0], d[4]) for sha, parent, d in zip(shas, parents, drafts)]


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
                payload = {"repository_id": repo.id, "push_id": rng.randrange(10**10, 10**11),
                           "ref": f"refs/heads/{repo.default_branch}", "head": commit.sha,
                           "before": commit.parent or "0" * 40}
                drafts.append((commit.date, "PushEvent", repo.full_name, payload))
    for push in account.pushes:
        payload = {"repository_id": world.repos[push.repo].id, "push_id": rng.randrange(10**10, 10**11),
                   "ref": push.ref, "head": _sha(push.repo, push.at), "before": _sha(push.repo, push.ref)}
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


_WORDS = "parser cache config api docs build serializer client scheduler loader".split()
_MESSAGES = ("Fix typo in README", "Add tests for {w}", "Refactor {w}", "Update docs", "Fix {w} edge case",
             "Improve {w} performance", "Merge pull request #{n} from {w}-fix")
_BOT_MESSAGES = ("Bump {w} from 1.{n}.0 to 1.{n}.1", "chore(deps): update {w} to v{n}", "[pre-commit.ci] auto fixes")


def _commit_message(rng: random.Random, bot: bool) -> str:
    return rng.choice(_BOT_MESSAGES if bot else _MESSAGES).format(w=rng.choice(_WORDS), n=rng.randint(1, 400))


def _noise_event(rng: random.Random, recent: bool) -> tuple[str, dict[str, Any]]:
    """A non-push event; people inactive lately still star things (activity that is not a commit)."""
    kind = rng.choice(("WatchEvent", "PullRequestEvent", "IssuesEvent", "CreateEvent")) if recent else "WatchEvent"
    number, title = rng.randint(1, 3000), _commit_message(rng, False)
    if kind == "PullRequestEvent":
        action = rng.choice(("opened", "closed"))
        pull = {"id": rng.randrange(10**9, 3 * 10**9), "number": number, "title": title,
                "state": "open" if action == "opened" else "closed", "merged": action == "closed"}
        return kind, {"action": action, "number": number, "pull_request": pull}
    if kind == "IssuesEvent":
        issue = {"id": rng.randrange(10**9, 3 * 10**9), "number": number, "title": title, "state": "open"}
        return kind, {"action": "opened", "issue": issue}
    if kind == "CreateEvent":
        tag = rng.random() < 0.5
        ref = f"v{rng.randint(0, 3)}.{rng.randint(0, 20)}.0" if tag else f"fix-{rng.choice(_WORDS)}"
        return kind, {"ref": ref, "ref_type": "tag" if tag else "branch", "master_branch": "main",
                      "description": None, "pusher_type": "user"}
    return kind, {"action": "started"}


# ---- tables the generator draws from ---------------------------------------------------------------

_FIRST = ("Aarav Ada Ahmed Aiko Alejandro Alice Amara Ana Andrei Anja Arjun Ayesha Ben Bilal Camille Carlos Chen "
          "Chidi Chloé Dana Daniel David Diego Dmitri Elena Elif Emma Fatima Felix Femi Gabriel Giulia Hana Hannah "
          "Hiro Ibrahim Ines Ivan Jakub Jamal James Jin Jonas José Juan Julia Kai Kenji Kofi Lars Layla Lea Leon "
          "Lina Lucas Łukasz Maya Mateo Mei Mohammed Nadia Nikolai Noah Nora Olga Omar Oscar Paula Pedro Priya "
          "Rafael Ravi Rosa Sakura Sam Santiago Sara Sofia Søren Tariq Tomás Uma Valentina Wei Yara Yuki Zara Zoë").split()
_LAST = ("Abe Adeyemi Andersson Bauer Becker Brown Chen Costa Cruz Dubois Fernández García Gupta Hansen Haddad "
         "Hoffmann Ivanova Jansen Jung Kim Kowalski Kumar Larsen Lee Li Lopez Martin Meyer Moreau Müller Nakamura "
         "Nguyen Novak Okafor Olsen Park Patel Pereira Petrov Popescu Rossi Russo Sato Schmidt Schneider Silva "
         "Singh Smith Suzuki Tanaka Taylor Walker Wang Weber Williams Wilson Wójcik Yamamoto Yilmaz Zhang Zhou").split()
_NON_DECOMPOSABLE = str.maketrans({"Ł": "L", "ł": "l", "ø": "o", "Ø": "O"})

# (location as typed, true ISO country, canonical city, weight); None country = unknowable.
_LOCATIONS: tuple[tuple[str | None, str | None, str | None, int], ...] = (
    ("San Francisco, CA", "US", "San Francisco", 6), ("SF Bay Area", "US", "San Francisco", 3),
    ("NYC", "US", "New York", 3), ("New York, NY", "US", "New York", 4), ("Seattle, WA, USA", "US", "Seattle", 4),
    ("Austin, TX", "US", "Austin", 3), ("Cambridge, MA", "US", "Cambridge", 1), ("Paris, TX", "US", "Paris", 1),
    ("Portland, OR", "US", "Portland", 2), ("Toronto, ON", "CA", "Toronto", 3), ("Montreal, Canada", "CA", "Montreal", 2),
    ("Vancouver, BC", "CA", "Vancouver", 2), ("Mexico City", "MX", "Mexico City", 1),
    ("Berlin, Germany", "DE", "Berlin", 4), ("München", "DE", "Munich", 2), ("Hamburg", "DE", "Hamburg", 1),
    ("London, UK", "GB", "London", 4), ("Cambridge, UK", "GB", "Cambridge", 1), ("Paris, France", "FR", "Paris", 3),
    ("Amsterdam", "NL", "Amsterdam", 2), ("Warsaw, Poland", "PL", "Warsaw", 2), ("Stockholm", "SE", "Stockholm", 2),
    ("Madrid, Spain", "ES", "Madrid", 2), ("Zürich, Switzerland", "CH", "Zurich", 2), ("Dublin, Ireland", "IE", "Dublin", 1),
    ("Helsinki, Finland", "FI", "Helsinki", 1), ("Oslo, Norway", "NO", "Oslo", 1), ("Lisbon, Portugal", "PT", "Lisbon", 1),
    ("Kyiv, Ukraine", "UA", "Kyiv", 1), ("Bengaluru, India", "IN", "Bengaluru", 4), ("Bangalore", "IN", "Bengaluru", 2),
    ("Tokyo, Japan", "JP", "Tokyo", 2), ("Shanghai, China", "CN", "Shanghai", 2), ("Seoul, South Korea", "KR", "Seoul", 1),
    ("Singapore", "SG", "Singapore", 1), ("Sydney, Australia", "AU", "Sydney", 2),
    ("São Paulo, Brazil", "BR", "São Paulo", 2), ("Buenos Aires, Argentina", "AR", "Buenos Aires", 1),
    ("Lagos, Nigeria", "NG", "Lagos", 1), ("Tel Aviv, Israel", "IL", "Tel Aviv", 1),
    ("Remote", None, None, 2), ("Earth", None, None, 1), ("localhost", None, None, 1), ("🌍", None, None, 1),
    (None, None, None, 14),
)
BIG_COMPANIES: dict[str, tuple[str, ...]] = {
    "google": ("@google", "Google", "Google Inc.", "GOOGLE LLC"),
    "microsoft": ("@Microsoft", "Microsoft", "Microsoft Corporation", "@microsoft"),
    "meta": ("Meta Platforms, Inc.", "@meta", "Meta"),
    "amazon": ("Amazon", "@amazon", "Amazon.com, Inc.", "Amazon Web Services"),
    "apple": ("Apple", "@apple", "Apple Inc."),
    "netflix": ("Netflix", "@Netflix", "Netflix, Inc."),
}
FAANG = ("meta", "apple", "amazon", "netflix", "google")
# Small employers; "Metalworks" and "Amazonas" trap naive substring matching of big names.
_SMALL_COMPANIES = ("Initech", "Globex", "Acme Labs", "Northwind Data", "Vandelay Industries", "Pied Piper",
                    "Tyrell Systems", "Soylent Labs", "Umbrella Cloud", "Hooli", "Metalworks GmbH",
                    "Amazonas Software", "Stark Analytics", "Cyberdyne", "Monarch Solutions", "Aperture Science")
DNC_PHRASES = ("No recruiters please.", "Please don't email me.", "DMs closed to sales.",
               "Please do not contact me for marketing.")
_ROLES = ("Software engineer", "Staff engineer", "ML engineer", "Data scientist", "SRE", "Backend developer",
          "Frontend engineer", "PhD student", "Researcher", "Indie hacker", "Open source maintainer", "CTO")
_BOTS = (("dependabot[bot]", 49699333), ("renovate[bot]", 29139614), ("github-actions[bot]", 41898282),
         ("pre-commit-ci[bot]", 66853113), ("codecov[bot]", 22429695))
_STEMS = {
    "machine_learning": "tensor neural grad torch vision embed transformer llm infer autograd",
    "data_science": "frame plot insight dataset notebook stats tidy",
    "databases": "kv store sql tsdb ledger btree lsm query shard",
    "web_frameworks": "http router rest server api web",
    "react_components": "ui kit button design comp form modal",
    "kubernetes": "kube operator helm k8s cluster pod controller",
    "devops": "ci deploy pipeline infra build release",
    "security": "scan vuln crypt audit secure guard",
    "cli_tools": "term cli shell prompt tui cmd",
    "blockchain": "chain token web3 contract wallet",
    "game_dev": "game sprite pixel physics render voxel",
}
_SUFFIXES = "kit lib core flow lab forge hub x ly box io".split()
_ORG_SUFFIXES = "labs project collective foundation hq dev org".split()
_NOUNS = ("library", "toolkit", "framework", "engine", "playground", "experiments", "service", "starter")
_ADJECTIVES = ("Fast", "Tiny", "Modern", "Lightweight", "Experimental", "Minimal", "Production-ready", "Simple")
_GENERIC_TOPICS = ("hacktoberfest", "open-source", "library", "tools", "awesome")
_UNRELATED = (("dotfiles", "My dotfiles"), ("blog", "Personal blog"), ("advent-of-code", "Solutions to Advent of Code"),
              ("notes", None), ("homework", "Course assignments"), ("website", "My personal website"),
              ("leetcode", "LeetCode solutions"), ("scripts", "Assorted scripts"), ("resume", None))
_PERSONAL_LANGUAGES = ("Python", "JavaScript", "Shell", "HTML", "Go", "Rust", "Java", "Vim Script", "Ruby", None)
_OFF_LANGUAGES = ("Shell", "C", "JavaScript", "Jupyter Notebook", "HTML", "Makefile")
_LICENSES = ("mit", "mit", "apache-2.0", "gpl-3.0", "bsd-3-clause", "mpl-2.0", None)
_USER_IDS = ((2008, 1), (2012, 1_500_000), (2015, 10_000_000), (2018, 35_000_000), (2021, 80_000_000),
             (2024, 150_000_000), (2030, 300_000_000))
_REPO_IDS = ((2008, 1), (2015, 30_000_000), (2020, 300_000_000), (2023, 600_000_000), (2030, 1_500_000_000))


@dataclass(frozen=True, slots=True)
class _Theme:
    """A community: people whose main interest is (language, domain); they own and share its repos."""

    language: str
    domain: str
    share: float
    region: tuple[str, float] | None = None
    employers: tuple[tuple[str, ...], float] | None = None
    stars_mu: float = 3.5  # log-normal location of its repos' stars


_THEMES = (
    _Theme("Python", "machine_learning", 0.05), _Theme("Jupyter Notebook", "machine_learning", 0.01),
    _Theme("C++", "machine_learning", 0.01), _Theme("Python", "data_science", 0.035),
    _Theme("Python", "web_frameworks", 0.025), _Theme("Rust", "databases", 0.04, ("EUROPE", 0.45), (("microsoft",), 0.15)),
    _Theme("Go", "databases", 0.02, ("EUROPE", 0.3)), _Theme("C++", "databases", 0.01),
    _Theme("Rust", "cli_tools", 0.025, ("EUROPE", 0.3)), _Theme("Go", "kubernetes", 0.055, ("NA", 0.5), stars_mu=4.2),
    _Theme("Go", "devops", 0.02), _Theme("Python", "devops", 0.01),
    _Theme("TypeScript", "react_components", 0.055, None, (FAANG, 0.25)), _Theme("JavaScript", "react_components", 0.025),
    _Theme("TypeScript", "web_frameworks", 0.015), _Theme("Java", "web_frameworks", 0.015),
    _Theme("Ruby", "web_frameworks", 0.01), _Theme("C++", "game_dev", 0.015), _Theme("C#", "game_dev", 0.01),
    _Theme("Solidity", "blockchain", 0.01), _Theme("Go", "security", 0.01), _Theme("Rust", "security", 0.008),
)
_LANGUAGE_TOPIC = {"Go": "golang", "C++": "cpp", "C#": "csharp", "Jupyter Notebook": "jupyter"}


def _id_at(when: datetime, timeline: tuple[tuple[int, int], ...]) -> int:
    """GitHub ids grow with time; interpolate a plausible id for a creation date."""
    year = when.year + (when.timetuple().tm_yday - 1) / 366
    for (y0, i0), (y1, i1) in zip(timeline, timeline[1:]):
        if year < y1:
            return int(i0 + (i1 - i0) * (year - y0) / (y1 - y0))
    return timeline[-1][1]


@lru_cache(maxsize=None)
def _locations_in(region: str) -> list[tuple[str | None, str | None, str | None, int]]:
    return [x for x in _LOCATIONS if matches_targets([region], x[1])]


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_NON_DECOMPOSABLE))
    return decomposed.encode("ascii", "ignore").decode()


class _Generator:
    """One world build: a single RNG stream consumed in a fixed order, hence deterministic."""

    def __init__(self, seed: int, users: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.size = users
        self.max_age = (now - EARLIEST).days
        self.vocab = load_vocabulary()
        self.accounts: dict[str, Account] = {}
        self.repos: dict[str, Repo] = {}
        self.aliases: dict[str, str] = {}
        self.target: dict[str, float] = {}  # login -> age in days of the intended latest commit
        self.weight: dict[str, float] = {}  # login -> how prolific (chance of being picked as contributor)
        self.archived_since: dict[str, datetime] = {}
        self.theme_repos: dict[_Theme, list[Repo]] = defaultdict(list)
        self.bots = {login for login, _ in _BOTS}
        self.taken: set[str] = set(self.bots)  # lowercase logins in use
        self.repo_keys: set[str] = set()  # lowercase full names in use
        weights = [w for *_, w in _LOCATIONS]
        self.location_weights = list(accumulate(weights))

    def run(self) -> tuple[dict[str, Account], dict[str, Repo], dict[str, str]]:
        themed = self._people()
        for login, bot_id in _BOTS:
            self.accounts[login] = Account(bot_id, login, "Bot", self.ago(self.rng.uniform(1800, 2500)), name=login)
        users = self._users()
        self.everyone = (users, list(accumulate(self.weight[u.login] for u in users)))
        for theme, members in themed.items():
            self._community(theme, members)
        self._personal_repos(users)
        self._second_account(themed[_THEMES[0]])
        self._activity()
        self._date_repos()
        self._forks()
        self._bump_created()
        self._assign_ids()
        self._emails()
        return self.accounts, self.repos, self.aliases

    def ago(self, days: float) -> datetime:
        return max(self.now - timedelta(days=days), EARLIEST).replace(microsecond=0)

    def _users(self) -> list[Account]:
        return [a for a in self.accounts.values() if a.type == "User"]

    def _unique(self, login: str) -> str:
        candidate, n = login, 1
        while candidate.lower() in self.taken:
            n += 1
            candidate = f"{login}{n}"
        self.taken.add(candidate.lower())
        return candidate

    # ---- people -------------------------------------------------------------------------------------
    def _people(self) -> dict[_Theme, list[Account]]:
        rng = self.rng
        choices = (*_THEMES, None)
        weights = [t.share for t in _THEMES] + [max(0.0, 1 - sum(t.share for t in _THEMES))]
        themed: dict[_Theme, list[Account]] = {t: [] for t in _THEMES}
        for _ in range(self.size):
            theme = rng.choices(choices, weights)[0]
            account = self._person(theme)
            if theme:
                themed[theme].append(account)
        return themed

    def _person(self, theme: _Theme | None) -> Account:
        rng = self.rng
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        f, l = _ascii(first).lower(), _ascii(last).lower()
        login = self._unique(rng.choice((f + l, f[0] + l, f"{f}-{l}", f"{l}{rng.randint(1, 99)}",
                                         f"{f}{rng.randint(70, 2005)}", f"{f}-dev", _ascii(first + last))))
        text, country, city, _ = rng.choices(_LOCATIONS, cum_weights=self.location_weights)[0]
        if theme and theme.region and rng.random() < theme.region[1]:
            text, country, city, _ = rng.choice(_locations_in(theme.region[0]))
        name = f"{first} {last}" if rng.random() < 0.92 else None
        account = Account(0, login, "User", self.ago(rng.uniform(60, self.max_age)), name=name, location=text,
                          country=country, city=city, hireable=True if rng.random() < 0.15 else None)
        self._employ(account, theme)
        if rng.random() < 0.4:
            domain = rng.choice(("example.com", "example.org", "example.net", "mail.example.com", f"{login.lower()}.dev"))
            account.email = f"{rng.choice((f'{f}.{l}', login.lower(), f, f[0] + l))}@{domain}"
        if rng.random() < 0.55:
            interest = f", into {self.vocab.domains[theme.domain].label}" if theme else ""
            account.bio = f"{rng.choice(_ROLES)}{interest}."
        if rng.random() < 0.08:
            account.bio = f"{account.bio or ''} {rng.choice(DNC_PHRASES)}".strip()
        if rng.random() < 0.35:
            account.blog = rng.choice((f"https://{login.lower()}.dev", f"https://{login.lower()}.github.io"))
        if rng.random() < 0.25:
            account.twitter_username = (f + l)[:15]
        self.weight[login] = rng.paretovariate(1.5)
        account.followers = int(rng.lognormvariate(2.0, 1.4) * self.weight[login])
        account.following = int(rng.lognormvariate(2.0, 1.2))
        r = rng.random()
        active, middling = (0.55, 0.72) if theme else (0.3, 0.5)
        low, high = (0, 45) if r < active else (45, 180) if r < middling else (181, 2000)
        self.target[login] = rng.uniform(low, high)
        self.accounts[login] = account
        return account

    def _employ(self, account: Account, theme: _Theme | None) -> None:
        rng = self.rng
        r = rng.random()
        if theme and theme.employers and r < theme.employers[1]:
            key = rng.choice(theme.employers[0])
        elif r < 0.1:
            key = rng.choice(list(BIG_COMPANIES))
        elif r < 0.5:
            name = rng.choice(_SMALL_COMPANIES)
            account.company_key = name.lower()
            account.company = "@" + name.split()[0].lower() if rng.random() < 0.3 else name
            return
        else:
            return
        account.company_key, account.company = key, rng.choice(BIG_COMPANIES[key])

    # ---- repositories -------------------------------------------------------------------------------
    def _community(self, theme: _Theme, members: list[Account]) -> None:
        if not members:
            return
        rng = self.rng
        cum = list(accumulate(self.weight[m.login] for m in members))
        orgs = [self._org(theme, rng.sample(members, min(len(members), rng.randint(3, 12))))
                for _ in range(max(1, len(members) // 12))]
        for _ in range(max(1, round(len(members) * 0.8))):
            if rng.random() < 0.35:
                org = rng.choice(orgs)
                owner, lead = org.login, self.accounts[rng.choice(org.members)]
            else:
                lead = rng.choices(members, cum_weights=cum)[0]
                owner = lead.login
            stem = rng.choice(_STEMS[theme.domain].split())
            name = stem + rng.choice(("", "-")) + rng.choice(_SUFFIXES)
            repo = self._repo(owner, name, int(rng.lognormvariate(theme.stars_mu, 2.0)))
            repo.language = theme.language if rng.random() < 0.9 else rng.choice(_OFF_LANGUAGES)
            repo.topics, repo.description = self._labels(theme, stem)
            self.theme_repos[theme].append(repo)
            if rng.random() < 0.06:
                repo.archived = True
                self.archived_since[repo.full_name] = self.ago(rng.uniform(200, 1500))
            if rng.random() < 0.03:
                continue  # an empty repository: GitHub answers 204 for its contributors
            solo = repo.stars < 50 and rng.random() < 0.25
            k = 1 if solo else int(rng.lognormvariate(0.9 + 0.25 * log(repo.stars + 1), 0.8))
            picked = [lead.login]
            for _ in range(3 * min(80, k)):
                if len(picked) >= min(80, k):
                    break
                person = rng.choices(members, cum_weights=cum)[0] if rng.random() < 0.8 else self._anyone()
                if person.login not in picked:
                    picked.append(person.login)
            self._contribute(repo, picked, orgs, extras=True)

    def _anyone(self) -> Account:
        users, cum = self.everyone
        return self.rng.choices(users, cum_weights=cum)[0]

    def _org(self, theme: _Theme, members: list[Account]) -> Account:
        rng = self.rng
        stem = rng.choice(_STEMS[theme.domain].split())
        login = self._unique(f"{stem}-{rng.choice(_ORG_SUFFIXES)}")
        text, country, city, _ = rng.choices(_LOCATIONS, cum_weights=self.location_weights)[0]
        org = Account(0, login, "Organization", self.ago(rng.uniform(400, self.max_age)),
                      name=login.replace("-", " ").title(), location=text, country=country, city=city,
                      bio=f"Home of {stem} projects",
                      blog=f"https://{login}.org", members=[m.login for m in members], followers=rng.randint(0, 800))
        for m in members:
            m.orgs.append(login)
        self.accounts[login] = org
        return org

    def _repo(self, owner: str, name: str, stars: int) -> Repo:
        rng = self.rng
        base, n = name, 1
        while f"{owner}/{name}".lower() in self.repo_keys:
            n += 1
            name = f"{base}-{n}"
        self.repo_keys.add(f"{owner}/{name}".lower())
        repo = Repo(0, owner, name, None, [], None, stars, int(stars * rng.uniform(0.03, 0.25)),
                    int(stars * rng.uniform(0, 0.05)) + rng.randint(0, 5), rng.choice(_LICENSES),
                    self.now, self.now, self.now)
        self.repos[repo.full_name] = repo
        return repo

    def _labels(self, theme: _Theme, stem: str) -> tuple[list[str], str]:
        """Topics and description. Some repos carry the domain only in the description, some not at all."""
        rng = self.rng
        spec = self.vocab.domains[theme.domain]
        adjective, noun = rng.choice(_ADJECTIVES), rng.choice(_NOUNS)
        with_phrase = f"{adjective} {rng.choice(spec.description_phrases)} {noun}"
        plain = f"{adjective} {stem} {noun} in {theme.language}"
        extra = [_LANGUAGE_TOPIC.get(theme.language, theme.language.lower()), rng.choice(_GENERIC_TOPICS)]
        r = rng.random()
        if r < 0.7:
            topics = rng.sample(spec.topics, rng.randint(1, 4)) + extra[: rng.randint(0, 2)]
            return topics, with_phrase if rng.random() < 0.6 else plain
        if r < 0.85:
            return [], with_phrase
        if r < 0.95:
            return extra, with_phrase
        return [], plain

    def _contribute(self, repo: Repo, logins: list[str], orgs: list[Account], extras: bool) -> None:
        """Contribution counts fall off with rank; bots, anonymous authors and orgs join some repos."""
        rng = self.rng
        top = min(900, max(1, int(rng.lognormvariate(2.5 + 0.3 * log(repo.stars + 1), 1.0))))
        entries = [Contribution(login, max(1, int(top / (i + 1) ** 1.2 * rng.uniform(0.6, 1.4))), self.now)
                   for i, login in enumerate(logins)]
        if extras and rng.random() < 0.35:
            entries += [Contribution(bot, int(rng.lognormvariate(2.5, 1.2)) + 1, self.now)
                        for bot, _ in rng.sample(_BOTS, rng.randint(1, 2))]
        if extras and rng.random() < 0.1:
            name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
            email = f"{_ascii(name).lower().replace(' ', '.')}@old-laptop.example.org"
            entries.append(Contribution(None, rng.randint(1, 20), self.now, name, email))
        if extras and orgs and rng.random() < 0.02:
            entries.append(Contribution(rng.choice(orgs).login, rng.randint(1, 5), self.now))
        entries.sort(key=lambda c: -c.count)
        repo.contributors = entries

    def _personal_repos(self, users: list[Account]) -> None:
        rng = self.rng
        for account in users:
            for _ in range(rng.choices((0, 1, 2, 3), (40, 35, 15, 10))[0]):
                base, description = rng.choice(_UNRELATED)
                repo = self._repo(account.login, base, int(rng.lognormvariate(0.3, 1.2)))
                repo.language, repo.description = rng.choice(_PERSONAL_LANGUAGES), description
                if rng.random() < 0.06:
                    continue
                logins = [account.login] + ([self._anyone().login] if rng.random() < 0.15 else [])
                self._contribute(repo, list(dict.fromkeys(logins)), [], extras=False)

    def _second_account(self, members: list[Account]) -> None:
        """One person with two accounts: same profile email; the second commits as the first's noreply."""
        rng = self.rng
        owners = {r.owner for r in self.repos.values()}
        primary = rng.choice([m for m in members if self.target[m.login] < 30 and m.login in owners] or members)
        primary.email = primary.email or f"{primary.login.lower()}@example.com"
        primary.created_at = self.ago(rng.uniform(400, 1500))
        login = self._unique(f"{primary.login}-work")
        second = Account(0, login, "User", self.ago(rng.uniform(100, 900)), name=primary.name,
                         company=primary.company, company_key=primary.company_key, location=primary.location,
                         country=primary.country, city=primary.city, email=primary.email)
        self.accounts[login], self.aliases[login] = second, primary.login
        self.target[login], self.weight[login] = rng.uniform(0, 30), 1.0
        matching = [r for r in self.theme_repos[_THEMES[0]]
                    if r.language == "Python" and not r.archived and r.contributors]
        for repo in rng.sample(matching, min(2, len(matching))):
            repo.contributors.append(Contribution(login, rng.randint(5, 40), self.now))
            repo.contributors.sort(key=lambda c: -c.count)

    # ---- dates, forks, ids, emails ------------------------------------------------------------------
    def _activity(self) -> None:
        """Each person's newest commit lands on their target age; archived repos only hold old commits."""
        rng = self.rng
        by_login: dict[str | None, list[tuple[Repo, Contribution]]] = defaultdict(list)
        for repo in self.repos.values():
            for c in repo.contributors:
                by_login[c.login].append((repo, c))
        for login, items in by_login.items():
            person = login is not None and self.accounts[login].type == "User"
            target = self.target[login] if person else 0.0
            lead = rng.randrange(len(items))
            for i, (repo, c) in enumerate(items):
                if not person:
                    age = rng.uniform(0, 60 if login in self.bots else 900)
                else:
                    age = target if i == lead else target + rng.expovariate(1 / 120)
                if repo.archived:
                    age = max(age, (self.now - self.archived_since[repo.full_name]).days + rng.uniform(1, 90))
                c.last_commit = self.ago(age + rng.random())
            if person and 60 < target < 500 and rng.random() < 0.15:
                live = [r for r, _ in items if not r.archived]
                for _ in range(rng.randint(1, 3) if live else 0):  # feature-branch pushes only: active via events
                    push = Push(rng.choice(live).full_name, f"refs/heads/feature/{rng.choice(_WORDS)}",
                                self.ago(rng.uniform(0, 29)))
                    self.accounts[login].pushes.append(push)

    def _date_repos(self) -> None:
        rng = self.rng
        for repo in self.repos.values():
            commits = [c.last_commit for c in repo.contributors]
            if commits:
                repo.pushed_at = max(commits)
                created = min(commits) - timedelta(days=rng.uniform(10, 1200))
                repo.created_at = max(created, EARLIEST).replace(microsecond=0)
            else:
                repo.created_at = repo.pushed_at = self.ago(rng.uniform(1, 1500))
            end = self.archived_since.get(repo.full_name)
            repo.updated_at = end or repo.pushed_at + (self.now - repo.pushed_at) * rng.random()
            repo.updated_at = repo.updated_at.replace(microsecond=0)

    def _forks(self) -> None:
        """Forks of community repos: they keep the description (hence the domain) and must never count."""
        rng = self.rng
        sources = [r for repos in self.theme_repos.values() for r in repos if r.contributors]
        for parent in rng.sample(sources, len(sources) // 6):
            owner = self._anyone()
            if owner.login == parent.owner or any(c.login == owner.login for c in parent.contributors):
                continue
            fork = self._repo(owner.login, parent.name, rng.randint(0, 3))
            fork.parent, fork.language, fork.description = parent.full_name, parent.language, parent.description
            fork.created_at = self.ago(rng.uniform(1, (self.now - parent.created_at).days))
            copied = [Contribution(c.login, c.count, min(c.last_commit, fork.created_at), c.name, c.email)
                      for c in parent.contributors]
            since_fork = (self.now - fork.created_at).days
            own = Contribution(owner.login, rng.randint(1, 6), self.ago(rng.uniform(0, since_fork)))
            fork.contributors = sorted([*copied, own], key=lambda c: -c.count)
            fork.pushed_at = max(own.last_commit, *(c.last_commit for c in copied))
            fork.updated_at = fork.pushed_at

    def _bump_created(self) -> None:
        """Nobody commits before their account exists; no repo predates its owner."""
        day = timedelta(days=1)
        for repo in self.repos.values():
            owner = self.accounts[repo.owner]
            owner.created_at = max(min(owner.created_at, repo.created_at - day), EARLIEST)
            for c in repo.contributors:
                if c.login:
                    author = self.accounts[c.login]
                    author.created_at = max(min(author.created_at, c.last_commit - day), EARLIEST)
        for account in self.accounts.values():
            account.created_at = account.created_at.replace(microsecond=0)

    def _assign_ids(self) -> None:
        rng = self.rng
        taken = {bot_id for _, bot_id in _BOTS}
        for items, timeline in (([a for a in self.accounts.values() if a.type != "Bot"], _USER_IDS),
                                (list(self.repos.values()), _REPO_IDS)):
            previous = 0
            for item in sorted(items, key=lambda x: x.created_at):
                ident = max(previous + 1, _id_at(item.created_at, timeline) + rng.randrange(1000))
                while ident in taken:
                    ident += 1
                item.id = previous = ident
                taken.add(ident)

    def _emails(self) -> None:
        """Commit emails: public, noreply (ID or login form), or a real address found only in commits."""
        rng = self.rng
        for account in self._users():
            primary = self.aliases.get(account.login)
            if primary:
                account.commit_emails = [self.accounts[primary].noreply_email]
                continue
            local = _ascii(account.name or account.login).lower().replace(" ", ".")
            hidden = (f"{local}@{account.company_key.split()[0]}.example.com" if account.company_key
                      else f"{account.login.lower()}@home.example.net")
            noreply, public, r = account.noreply_email, account.email, rng.random()
            if public:
                options = ([public], [public, noreply], [noreply], [public, hidden])
                account.commit_emails = options[0 if r < 0.5 else 1 if r < 0.7 else 2 if r < 0.85 else 3]
            else:
                account.commit_emails = [noreply] if r < 0.45 else [hidden] if r < 0.8 else [hidden, noreply]


def generate_world(seed: int = 7, users: int = 1500, anchor: date | None = None) -> World:
    """The world for (seed, users, anchor); anchor defaults to today (UTC). Cached: do not mutate it."""
    return _cached_world(seed, users, anchor or datetime.now(UTC).date())


@lru_cache(maxsize=4)
def _cached_world(seed: int, users: int, anchor: date) -> World:
    return build_world(seed, users, anchor)


def build_world(seed: int, users: int, anchor: date) -> World:
    """An uncached build (the determinism test compares two)."""
    generator = _Generator(seed, users, datetime.combine(anchor, time(), tzinfo=UTC))
    return World(seed, generator.now, *generator.run())
