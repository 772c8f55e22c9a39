"""The deterministic world generator: plants themed communities, their orgs and repos, personal repos,
distractors (forks, archived and empty repos, bots, anonymous authors, a two-account person, lookalike
repos such as React apps next to React component libraries (`repo_kinds.py`), maintainers whose
subject went stale while they commit elsewhere, division staff of big companies, US towns named
after foreign cities) and then dates, ids and commit emails, all from one seeded RNG stream.

Kept apart from `world.py` so the model reads without the generator. The order of RNG draws is
the contract: same (seed, users, anchor), same world, byte for byte.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from itertools import accumulate
from math import log

from foundation.companies import canonical_company
from foundation.vocabulary import load_vocabulary
from sandbox.personas import community_personas, plant_local_first
from sandbox.repo_kinds import REPO_KINDS, THINGS, RepoKind
from sandbox.tables import (
    BIG_COMPANIES,
    BOTS,
    DESCRIPTION_ADJECTIVES,
    DESCRIPTION_NOUNS,
    DNC_PHRASES,
    FIRST_NAMES,
    GENERIC_TOPICS,
    LANGUAGE_TOPICS,
    LAST_NAMES,
    LICENSE_KEYS,
    LOCATIONS,
    NEAR_MISSES,
    OFF_LANGUAGES,
    ORG_SUFFIXES,
    PERSONAL_LANGUAGES,
    PERSONAL_REPOS,
    REPO_ID_TIMELINE,
    REPO_STEMS,
    REPO_SUFFIXES,
    ROLES,
    SMALL_COMPANIES,
    THEMES,
    USER_ID_TIMELINE,
    Theme,
    ascii_fold,
    id_at,
    locations_in,
)
from sandbox.world import CODE_AREAS, EARLIEST, Account, Contribution, Push, Repo, World

# Share of a community's maintainers who left its subject: their repos there hold only old commits,
# while they commit lately in another community's repo ("active", but not in the subject).
STALE_SHARE = 0.08
STALE_AGE = (150.0, 900.0)  # days since their last commit in their own subject
# How much likelier a person's newest commit lands in their own community's repos than elsewhere
# (a personal dotfiles repo, another community they help): people mostly work on their subject.
HOME_WEIGHT = 3


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
        self.theme_repos: dict[Theme, list[Repo]] = defaultdict(list)
        self.home: dict[str, Theme] = {}  # login -> the person's community
        self.repo_theme: dict[str, Theme] = {}  # full name -> the community that built the repo
        self.leads: dict[Theme, list[str]] = defaultdict(list)  # who leads a live repo of the theme's subject
        self.elsewhere: dict[str, str] = {}  # stale maintainer -> the other subject's repo they commit to lately
        self.bots = {login for login, _ in BOTS}
        self.taken: set[str] = set(self.bots)  # lowercase logins in use
        self.repo_keys: set[str] = set()  # lowercase full names in use
        weights = [w for *_, w in LOCATIONS]
        self.location_weights = list(accumulate(weights))

    def run(self) -> tuple[dict[str, Account], dict[str, Repo], dict[str, str]]:
        themed = self._people()
        for login, bot_id in BOTS:
            self.accounts[login] = Account(bot_id, login, "Bot", self.ago(self.rng.uniform(1800, 2500)), name=login)
        users = self._users()
        self.everyone = (users, list(accumulate(self.weight[u.login] for u in users)))
        for theme, members in themed.items():
            self._community(theme, members)
        self._personal_repos(users)
        self._second_account(themed[THEMES[0]])
        self._stale_maintainers()
        self._activity()
        self._date_repos()
        self._forks()
        self._bump_created()
        self._assign_ids()
        self._emails()
        return self.accounts, self.repos, self.aliases

    @staticmethod
    @cache
    def _cum_weights(region: str) -> list[int]:
        return list(accumulate(w for *_, w in locations_in(region)))

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
    def _people(self) -> dict[Theme, list[Account]]:
        """Each community gets exactly its share of the world (a small one is not left to chance)."""
        plan: list[Theme | None] = [t for t in THEMES for _ in range(round(t.share * self.size))]
        plan += [None] * max(0, self.size - len(plan))
        self.rng.shuffle(plan)
        themed: dict[Theme, list[Account]] = {t: [] for t in THEMES}
        for theme in plan[: self.size]:
            account = self._person(theme)
            if theme:
                themed[theme].append(account)
                self.home[account.login] = theme
        return themed

    def _person(self, theme: Theme | None) -> Account:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        given, family = ascii_fold(first).lower(), ascii_fold(last).lower()
        login = self._unique(
            rng.choice(
                (
                    given + family,
                    given[0] + family,
                    f"{given}-{family}",
                    f"{family}{rng.randint(1, 99)}",
                    f"{given}{rng.randint(70, 2005)}",
                    f"{given}-dev",
                    ascii_fold(first + last),
                )
            )
        )
        text, country, city, _ = rng.choices(LOCATIONS, cum_weights=self.location_weights)[0]
        if theme and theme.region and rng.random() < theme.region[1]:
            places = locations_in(theme.region[0])
            text, country, city, _ = rng.choices(places, cum_weights=self._cum_weights(theme.region[0]))[0]
        name = f"{first} {last}" if rng.random() < 0.92 else None
        account = Account(
            0,
            login,
            "User",
            self.ago(rng.uniform(60, self.max_age)),
            name=name,
            location=text,
            country=country,
            city=city,
            hireable=True if rng.random() < 0.15 else None,
        )
        self._employ(account, theme)
        if rng.random() < 0.4:
            domain = rng.choice(("example.com", "example.org", "example.net", "mail.example.com", f"{login.lower()}.dev"))
            account.email = f"{rng.choice((f'{given}.{family}', login.lower(), given, given[0] + family))}@{domain}"
        if rng.random() < 0.55:
            interest = f", into {self.vocab.domains[theme.domain].label}" if theme else ""
            account.bio = f"{rng.choice(ROLES)}{interest}."
        if rng.random() < 0.08:
            account.bio = f"{account.bio or ''} {rng.choice(DNC_PHRASES)}".strip()
        if rng.random() < 0.35:
            account.blog = rng.choice((f"https://{login.lower()}.dev", f"https://{login.lower()}.github.io"))
        if rng.random() < 0.25:
            account.twitter_username = (given + family)[:15]
        self.weight[login] = rng.paretovariate(1.5)
        account.followers = int(rng.lognormvariate(2.0, 1.4) * self.weight[login])
        account.following = int(rng.lognormvariate(2.0, 1.2))
        r = rng.random()
        active, middling = (0.55, 0.72) if theme else (0.3, 0.5)
        low, high = (0, 45) if r < active else (45, 180) if r < middling else (181, 2000)
        self.target[login] = rng.uniform(low, high)
        self.accounts[login] = account
        return account

    def _employ(self, account: Account, theme: Theme | None) -> None:
        rng = self.rng
        r = rng.random()
        if theme and theme.employers and r < theme.employers[1]:
            key = rng.choice(theme.employers[0])
        elif r < 0.1:
            key = rng.choice(list(BIG_COMPANIES))
        elif r < 0.5:
            name = rng.choice(SMALL_COMPANIES)
            account.company_key = canonical_company(name)
            account.company = "@" + name.split()[0].lower() if rng.random() < 0.3 else name
            return
        elif r < 0.56:
            account.company, account.company_key = rng.choice(NEAR_MISSES)
            return
        else:
            return
        account.company_key, account.company = key, rng.choice(BIG_COMPANIES[key])

    # ---- repositories -------------------------------------------------------------------------------
    def _community(self, theme: Theme, members: list[Account]) -> None:
        if not members:
            return
        rng = self.rng
        cum = list(accumulate(self.weight[m.login] for m in members))
        orgs = [
            self._org(theme, rng.sample(members, min(len(members), rng.randint(3, 12))))
            for _ in range(max(1, len(members) // 12))
        ]
        kinds = REPO_KINDS.get(theme.domain, ())
        count = max(1, round(len(members) * 0.8))
        surely_archived = rng.randrange(count)  # every community has an archived repo (a trap for the researcher)
        for i in range(count):
            if rng.random() < 0.35:
                org = rng.choice(orgs)
                owner, lead = org.login, self.accounts[rng.choice(org.members)]
            else:
                lead = rng.choices(members, cum_weights=cum)[0]
                owner = lead.login
            kind = rng.choices(kinds, [k.share for k in kinds])[0] if kinds else None
            stem = rng.choice(kind.stems if kind else REPO_STEMS[theme.domain].split())
            name = stem + rng.choice(("", "-")) + rng.choice(REPO_SUFFIXES)
            repo = self._repo(owner, name, int(rng.lognormvariate(theme.stars_mu, 2.0)))
            repo.language = theme.language if rng.random() < 0.9 else rng.choice(OFF_LANGUAGES)
            repo.topics, repo.description = self._kind_labels(theme, kind, stem) if kind else self._labels(theme, stem)
            self.theme_repos[theme].append(repo)
            self.repo_theme[repo.full_name] = theme
            if rng.random() < 0.06 or i == surely_archived:
                repo.archived = True
                self.archived_since[repo.full_name] = self.ago(rng.uniform(200, 1500))
            if rng.random() < 0.03:
                continue  # an empty repository: GitHub answers 204 for its contributors
            if not repo.archived and (kind is None or kind.real) and repo.language == theme.language:
                self.leads[theme].append(lead.login)
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

    def _org(self, theme: Theme, members: list[Account]) -> Account:
        rng = self.rng
        stem = rng.choice(REPO_STEMS[theme.domain].split())
        login = self._unique(f"{stem}-{rng.choice(ORG_SUFFIXES)}")
        text, country, city, _ = rng.choices(LOCATIONS, cum_weights=self.location_weights)[0]
        org = Account(
            0,
            login,
            "Organization",
            self.ago(rng.uniform(400, self.max_age)),
            name=login.replace("-", " ").title(),
            location=text,
            country=country,
            city=city,
            bio=f"Home of {stem} projects",
            blog=f"https://{login}.org",
            members=[m.login for m in members],
            followers=rng.randint(0, 800),
        )
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
        repo = Repo(
            0,
            owner,
            name,
            None,
            [],
            None,
            stars,
            int(stars * rng.uniform(0.03, 0.25)),
            int(stars * rng.uniform(0, 0.05)) + rng.randint(0, 5),
            rng.choice(LICENSE_KEYS),
            self.now,
            self.now,
            self.now,
        )
        self.repos[repo.full_name] = repo
        return repo

    def _labels(self, theme: Theme, stem: str) -> tuple[list[str], str]:
        """Topics and description. Some repos carry the domain only in the description, some not at all."""
        rng = self.rng
        spec = self.vocab.domains[theme.domain]
        adjective, noun = rng.choice(DESCRIPTION_ADJECTIVES), rng.choice(DESCRIPTION_NOUNS)
        with_phrase = f"{adjective} {rng.choice(spec.description_phrases)} {noun}"
        plain = f"{adjective} {stem} {noun} in {theme.language}"
        extra = [LANGUAGE_TOPICS.get(theme.language, theme.language.lower()), rng.choice(GENERIC_TOPICS)]
        r = rng.random()
        if r < 0.7:
            topics = rng.sample(spec.topics, rng.randint(1, 4)) + extra[: rng.randint(0, 2)]
            return topics, with_phrase if rng.random() < 0.6 else plain
        if r < 0.85:
            return [], with_phrase
        if r < 0.95:
            return extra, with_phrase
        return [], plain

    def _kind_labels(self, theme: Theme, kind: RepoKind, stem: str) -> tuple[list[str], str]:
        """Topics and description of a repo of a known kind; a few carry no subject words at all."""
        rng = self.rng
        adjective = rng.choice(DESCRIPTION_ADJECTIVES)
        description = rng.choice(kind.descriptions).format(adjective=adjective, thing=rng.choice(THINGS))
        r = rng.random()
        if r < 0.75:
            topics = [rng.choice(group) for group in kind.topics] + rng.sample(kind.extra, rng.randint(0, 2))
            return list(dict.fromkeys(topics)), description
        if r < 0.95:
            return [], description
        return [], f"{adjective} {stem} {rng.choice(DESCRIPTION_NOUNS)} in {theme.language}"

    def _contribute(self, repo: Repo, logins: list[str], orgs: list[Account], extras: bool) -> None:
        """Contribution counts fall off with rank; bots, anonymous authors and orgs join some repos."""
        rng = self.rng
        top = min(900, max(1, int(rng.lognormvariate(2.5 + 0.3 * log(repo.stars + 1), 1.0))))
        entries = [
            Contribution(login, max(1, int(top / (i + 1) ** 1.2 * rng.uniform(0.6, 1.4))), self.now)
            for i, login in enumerate(logins)
        ]
        if extras and rng.random() < 0.35:
            entries += [
                Contribution(bot, int(rng.lognormvariate(2.5, 1.2)) + 1, self.now)
                for bot, _ in rng.sample(BOTS, rng.randint(1, 2))
            ]
        if extras and rng.random() < 0.1:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            email = f"{ascii_fold(name).lower().replace(' ', '.')}@old-laptop.example.org"
            entries.append(Contribution(None, rng.randint(1, 20), self.now, name, email))
        if extras and orgs and rng.random() < 0.02:
            entries.append(Contribution(rng.choice(orgs).login, rng.randint(1, 5), self.now))
        entries.sort(key=lambda c: -c.count)
        repo.contributors = entries

    def _personal_repos(self, users: list[Account]) -> None:
        rng = self.rng
        for account in users:
            for _ in range(rng.choices((0, 1, 2, 3), (40, 35, 15, 10))[0]):
                base, description = rng.choice(PERSONAL_REPOS)
                repo = self._repo(account.login, base, int(rng.lognormvariate(0.3, 1.2)))
                repo.language, repo.description = rng.choice(PERSONAL_LANGUAGES), description
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
        second = Account(
            0,
            login,
            "User",
            self.ago(rng.uniform(100, 900)),
            name=primary.name,
            company=primary.company,
            company_key=primary.company_key,
            location=primary.location,
            country=primary.country,
            city=primary.city,
            email=primary.email,
        )
        self.accounts[login], self.aliases[login] = second, primary.login
        self.target[login], self.weight[login] = rng.uniform(0, 30), 1.0
        matching = [r for r in self.theme_repos[THEMES[0]] if r.language == "Python" and not r.archived and r.contributors]
        for repo in rng.sample(matching, min(2, len(matching))):
            repo.contributors.append(Contribution(login, rng.randint(5, 40), self.now))
            repo.contributors.sort(key=lambda c: -c.count)

    def _stale_maintainers(self) -> None:
        """Some maintainers of each subject moved on: they join a repo of another subject, where (and
        only where) `_activity` gives them recent commits."""
        rng = self.rng
        taken = set(self.aliases) | set(self.aliases.values())
        for theme, leads in self.leads.items():
            elsewhere = [
                r
                for t, repos in self.theme_repos.items()
                if t.domain != theme.domain
                for r in repos
                if r.contributors and not r.archived
            ]
            people = [login for login in dict.fromkeys(leads) if login not in taken and login not in self.elsewhere]
            for login in rng.sample(people, round(len(people) * STALE_SHARE)) if elsewhere else ():
                repo = rng.choice(elsewhere)
                if any(c.login == login for c in repo.contributors):
                    continue
                repo.contributors.append(Contribution(login, rng.randint(2, 30), self.now))
                repo.contributors.sort(key=lambda c: -c.count)
                self.elsewhere[login] = repo.full_name

    # ---- dates, forks, ids, emails ------------------------------------------------------------------
    def _activity(self) -> None:
        """Each person's newest commit lands on their target age; archived repos only hold old commits;
        a stale maintainer's newest is recent and in the other subject's repo, the rest is old."""
        rng = self.rng
        by_login: dict[str | None, list[tuple[Repo, Contribution]]] = defaultdict(list)
        for repo in self.repos.values():
            for c in repo.contributors:
                by_login[c.login].append((repo, c))
        for login, items in by_login.items():
            person = login if login is not None and self.accounts[login].type == "User" else None
            target = self.target[person] if person is not None else 0.0
            home = self.home.get(person or "")
            if home is None:
                lead = rng.randrange(len(items))
            else:
                weights = [HOME_WEIGHT if self.repo_theme.get(r.full_name) == home else 1 for r, _ in items]
                lead = rng.choices(range(len(items)), weights)[0]
            moved_to = self.elsewhere.get(person or "")
            for i, (repo, c) in enumerate(items):
                if person is None:
                    age = rng.uniform(0, 60 if login in self.bots else 900)
                elif moved_to:
                    age = rng.uniform(0, 30) if repo.full_name == moved_to else rng.uniform(*STALE_AGE)
                else:
                    age = target if i == lead else target + rng.expovariate(1 / 120)
                if repo.archived:
                    age = max(age, (self.now - self.archived_since[repo.full_name]).days + rng.uniform(1, 90))
                c.last_commit = self.ago(age + rng.random())
            if person is not None and not moved_to and 60 < target < 500 and rng.random() < 0.15:
                live = [r for r, _ in items if not r.archived]
                for _ in range(rng.randint(1, 3) if live else 0):  # feature-branch pushes only: active via events
                    push = Push(
                        rng.choice(live).full_name, f"refs/heads/feature/{rng.choice(CODE_AREAS)}", self.ago(rng.uniform(0, 29))
                    )
                    self.accounts[person].pushes.append(push)

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
            copied = [
                Contribution(c.login, c.count, min(c.last_commit, fork.created_at), c.name, c.email) for c in parent.contributors
            ]
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
        taken = {bot_id for _, bot_id in BOTS}
        people: list[Account | Repo] = [a for a in self.accounts.values() if a.type != "Bot"]
        repos: list[Account | Repo] = list(self.repos.values())
        for items, timeline in ((people, USER_ID_TIMELINE), (repos, REPO_ID_TIMELINE)):
            previous = 0
            for item in sorted(items, key=lambda x: x.created_at):
                ident = max(previous + 1, id_at(item.created_at, timeline) + rng.randrange(1000))
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
            local = ascii_fold(account.name or account.login).lower().replace(" ", ".")
            hidden = (
                f"{local}@{account.company_key.split()[0]}.example.com"
                if account.company_key
                else f"{account.login.lower()}@home.example.net"
            )
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
    accounts, repos, aliases = generator.run()
    personas = community_personas({login: theme.domain for login, theme in generator.home.items()})
    planted, subjects, copies, added = plant_local_first(seed, users, generator.now, accounts, repos)
    return World(seed, generator.now, accounts, repos, aliases, personas | planted, subjects, copies, added)
