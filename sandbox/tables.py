"""What the world generator draws from: names, places, employers, bios, repo wording, bots, GitHub's
id timelines, and the communities (themes) people cluster into.

Data rather than steps, so it lives apart from `generator.py`. Every entry feeds the seeded RNG
stream: editing, adding or reordering one changes every generated world.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from itertools import pairwise

from foundation.regions import matches_targets

FIRST_NAMES = [
    "Aarav",
    "Ada",
    "Ahmed",
    "Aiko",
    "Alejandro",
    "Alice",
    "Amara",
    "Ana",
    "Andrei",
    "Anja",
    "Arjun",
    "Ayesha",
    "Ben",
    "Bilal",
    "Camille",
    "Carlos",
    "Chen",
    "Chidi",
    "Chloé",
    "Dana",
    "Daniel",
    "David",
    "Diego",
    "Dmitri",
    "Elena",
    "Elif",
    "Emma",
    "Fatima",
    "Felix",
    "Femi",
    "Gabriel",
    "Giulia",
    "Hana",
    "Hannah",
    "Hiro",
    "Ibrahim",
    "Ines",
    "Ivan",
    "Jakub",
    "Jamal",
    "James",
    "Jin",
    "Jonas",
    "José",
    "Juan",
    "Julia",
    "Kai",
    "Kenji",
    "Kofi",
    "Lars",
    "Layla",
    "Lea",
    "Leon",
    "Lina",
    "Lucas",
    "Łukasz",
    "Maya",
    "Mateo",
    "Mei",
    "Mohammed",
    "Nadia",
    "Nikolai",
    "Noah",
    "Nora",
    "Olga",
    "Omar",
    "Oscar",
    "Paula",
    "Pedro",
    "Priya",
    "Rafael",
    "Ravi",
    "Rosa",
    "Sakura",
    "Sam",
    "Santiago",
    "Sara",
    "Sofia",
    "Søren",
    "Tariq",
    "Tomás",
    "Uma",
    "Valentina",
    "Wei",
    "Yara",
    "Yuki",
    "Zara",
    "Zoë",
]
LAST_NAMES = [
    "Abe",
    "Adeyemi",
    "Andersson",
    "Bauer",
    "Becker",
    "Brown",
    "Chen",
    "Costa",
    "Cruz",
    "Dubois",
    "Fernández",
    "García",
    "Gupta",
    "Hansen",
    "Haddad",
    "Hoffmann",
    "Ivanova",
    "Jansen",
    "Jung",
    "Kim",
    "Kowalski",
    "Kumar",
    "Larsen",
    "Lee",
    "Li",
    "Lopez",
    "Martin",
    "Meyer",
    "Moreau",
    "Müller",
    "Nakamura",
    "Nguyen",
    "Novak",
    "Okafor",
    "Olsen",
    "Park",
    "Patel",
    "Pereira",
    "Petrov",
    "Popescu",
    "Rossi",
    "Russo",
    "Sato",
    "Schmidt",
    "Schneider",
    "Silva",
    "Singh",
    "Smith",
    "Suzuki",
    "Tanaka",
    "Taylor",
    "Walker",
    "Wang",
    "Weber",
    "Williams",
    "Wilson",
    "Wójcik",
    "Yamamoto",
    "Yilmaz",
    "Zhang",
    "Zhou",
]
_NON_DECOMPOSABLE = str.maketrans({"Ł": "L", "ł": "l", "ø": "o", "Ø": "O"})

# (location as typed, true ISO country, canonical city, weight); None country = unknowable. US towns
# named after a foreign city ("Paris, TX", "Berlin, NH") are in the US: a state after a city wins.
# "Georgia" alone (the US state or the country) is unknowable by the project's definition (an
# ambiguous place stays unknown rather than guessed, `tools.geo`), so its truth is None too: outside
# every target region, never inside an excluded one.
Location = tuple[str | None, str | None, str | None, int]
LOCATIONS: tuple[Location, ...] = (
    ("San Francisco, CA", "US", "San Francisco", 6),
    ("SF Bay Area", "US", "San Francisco", 3),
    ("NYC", "US", "New York", 3),
    ("New York, NY", "US", "New York", 4),
    ("Seattle, WA, USA", "US", "Seattle", 4),
    ("Austin, TX", "US", "Austin", 3),
    ("Cambridge, MA", "US", "Cambridge", 1),
    ("Paris, TX", "US", "Paris", 1),
    ("Paris, Texas", "US", "Paris", 1),
    ("Berlin, NH", "US", "Berlin", 1),
    ("London, KY", "US", "London", 1),
    ("Moscow, ID", "US", "Moscow", 1),
    ("Portland, OR", "US", "Portland", 2),
    ("Toronto, ON", "CA", "Toronto", 3),
    ("Montreal, Canada", "CA", "Montreal", 2),
    ("Vancouver, BC", "CA", "Vancouver", 2),
    ("Mexico City", "MX", "Mexico City", 1),
    ("Berlin, Germany", "DE", "Berlin", 4),
    ("München", "DE", "Munich", 2),
    ("Hamburg", "DE", "Hamburg", 1),
    ("London, UK", "GB", "London", 4),
    ("Cambridge, UK", "GB", "Cambridge", 1),
    ("Paris, France", "FR", "Paris", 3),
    ("Amsterdam", "NL", "Amsterdam", 2),
    ("Warsaw, Poland", "PL", "Warsaw", 2),
    ("Stockholm", "SE", "Stockholm", 2),
    ("Madrid, Spain", "ES", "Madrid", 2),
    ("Zürich, Switzerland", "CH", "Zurich", 2),
    ("Dublin, Ireland", "IE", "Dublin", 1),
    ("Helsinki, Finland", "FI", "Helsinki", 1),
    ("Oslo, Norway", "NO", "Oslo", 1),
    ("Lisbon, Portugal", "PT", "Lisbon", 1),
    ("Kyiv, Ukraine", "UA", "Kyiv", 1),
    ("Bengaluru, India", "IN", "Bengaluru", 4),
    ("Bangalore", "IN", "Bengaluru", 2),
    ("Tokyo, Japan", "JP", "Tokyo", 2),
    ("Shanghai, China", "CN", "Shanghai", 2),
    ("Seoul, South Korea", "KR", "Seoul", 1),
    ("Singapore", "SG", "Singapore", 1),
    ("Sydney, Australia", "AU", "Sydney", 2),
    ("São Paulo, Brazil", "BR", "São Paulo", 2),
    ("Buenos Aires, Argentina", "AR", "Buenos Aires", 1),
    ("Lagos, Nigeria", "NG", "Lagos", 1),
    ("Tel Aviv, Israel", "IL", "Tel Aviv", 1),
    ("Remote", None, None, 2),
    ("Georgia", None, None, 1),
    ("Earth", None, None, 1),
    ("localhost", None, None, 1),
    ("🌍", None, None, 1),
    (None, None, None, 14),
)
# Big employers by their key in foundation/data/companies.yaml -> how people spell them. The
# divisions and subsidiaries after the parents are in a parent's family: a goal that excludes
# Google excludes Google DeepMind and YouTube staff too.
BIG_COMPANIES: dict[str, tuple[str, ...]] = {
    "google": ("@google", "Google", "Google Inc.", "GOOGLE LLC"),
    "microsoft": ("@Microsoft", "Microsoft", "Microsoft Corporation", "@microsoft"),
    "meta": ("Meta Platforms, Inc.", "@meta", "Meta"),
    "amazon": ("Amazon", "@amazon", "Amazon.com, Inc."),
    "apple": ("Apple", "@apple", "Apple Inc."),
    "netflix": ("Netflix", "@Netflix", "Netflix, Inc."),
    "deepmind": ("Google DeepMind", "DeepMind", "@google-deepmind", "@DeepMind"),
    "youtube": ("YouTube", "@youtube"),
    "meta ai": ("Meta AI", "FAIR", "Facebook AI Research"),
    "instagram": ("Instagram", "Software Engineer at Instagram"),
    "aws": ("Amazon Web Services", "AWS", "@aws"),
    "github": ("GitHub", "@github"),
    "linkedin": ("LinkedIn", "LinkedIn Corporation"),
    "microsoft research": ("Microsoft Research", "MSR"),
}
FAANG = ("meta", "apple", "amazon", "netflix", "google")
FAANG_FAMILIES = (*FAANG, "deepmind", "youtube", "meta ai", "instagram", "aws")
MICROSOFT_FAMILY = ("microsoft", "github", "linkedin", "microsoft research")
# Where ML people work beyond the big names' main brands: their research divisions.
ML_LABS = ("meta ai", "deepmind", "microsoft research")
# Company fields that name a big company the person does not work for (former staff, community
# titles, lookalike names), with the true employer (None: none). Excluding the big company keeps them.
NEAR_MISSES: tuple[tuple[str, str | None], ...] = (
    ("ex-Google", None),
    ("Xoogler", None),
    ("Former Microsoft engineer", None),
    ("Microsoft MVP", None),
    ("Google Developer Expert", None),
    ("AWS Community Builder", None),
    ("Initech (ex-Meta)", "initech"),
    ("Metabase", "metabase"),
)
# Small employers; "Metalworks" and "Amazonas" trap naive substring matching of big names.
SMALL_COMPANIES = (
    "Initech",
    "Globex",
    "Acme Labs",
    "Northwind Data",
    "Vandelay Industries",
    "Pied Piper",
    "Tyrell Systems",
    "Soylent Labs",
    "Umbrella Cloud",
    "Hooli",
    "Metalworks GmbH",
    "Amazonas Software",
    "Stark Analytics",
    "Cyberdyne",
    "Monarch Solutions",
    "Aperture Science",
)
DNC_PHRASES = (
    "No recruiters please.",
    "Please don't email me.",
    "DMs closed to sales.",
    "Please do not contact me for marketing.",
)
ROLES = (
    "Software engineer",
    "Staff engineer",
    "ML engineer",
    "Data scientist",
    "SRE",
    "Backend developer",
    "Frontend engineer",
    "PhD student",
    "Researcher",
    "Indie hacker",
    "Open source maintainer",
    "CTO",
)
BOTS = (
    ("dependabot[bot]", 49699333),
    ("renovate[bot]", 29139614),
    ("github-actions[bot]", 41898282),
    ("pre-commit-ci[bot]", 66853113),
    ("codecov[bot]", 22429695),
)
REPO_STEMS = {
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
REPO_SUFFIXES = ["kit", "lib", "core", "flow", "lab", "forge", "hub", "x", "ly", "box", "io"]
ORG_SUFFIXES = ["labs", "project", "collective", "foundation", "hq", "dev", "org"]
DESCRIPTION_NOUNS = ("library", "toolkit", "framework", "engine", "playground", "experiments", "service", "starter")
DESCRIPTION_ADJECTIVES = ("Fast", "Tiny", "Modern", "Lightweight", "Experimental", "Minimal", "Production-ready", "Simple")
GENERIC_TOPICS = ("hacktoberfest", "open-source", "library", "tools", "awesome")
PERSONAL_REPOS = (
    ("dotfiles", "My dotfiles"),
    ("blog", "Personal blog"),
    ("advent-of-code", "Solutions to Advent of Code"),
    ("notes", None),
    ("homework", "Course assignments"),
    ("website", "My personal website"),
    ("leetcode", "LeetCode solutions"),
    ("scripts", "Assorted scripts"),
    ("resume", None),
)
PERSONAL_LANGUAGES = ("Python", "JavaScript", "Shell", "HTML", "Go", "Rust", "Java", "Vim Script", "Ruby", None)
OFF_LANGUAGES = ("Shell", "C", "JavaScript", "Jupyter Notebook", "HTML", "Makefile")
LICENSE_KEYS = ("mit", "mit", "apache-2.0", "gpl-3.0", "bsd-3-clause", "mpl-2.0", None)
USER_ID_TIMELINE = (
    (2008, 1),
    (2012, 1_500_000),
    (2015, 10_000_000),
    (2018, 35_000_000),
    (2021, 80_000_000),
    (2024, 150_000_000),
    (2030, 300_000_000),
)
REPO_ID_TIMELINE = ((2008, 1), (2015, 30_000_000), (2020, 300_000_000), (2023, 600_000_000), (2030, 1_500_000_000))


@dataclass(frozen=True, slots=True)
class Theme:
    """A community: people whose main interest is (language, domain); they own and share its repos."""

    language: str
    domain: str
    share: float
    region: tuple[str, float] | None = None
    employers: tuple[tuple[str, ...], float] | None = None
    stars_mu: float = 3.5  # log-normal location of its repos' stars


THEMES = (
    Theme("Python", "machine_learning", 0.05, employers=(ML_LABS, 0.08)),
    Theme("Jupyter Notebook", "machine_learning", 0.01),
    Theme("C++", "machine_learning", 0.01),
    Theme("Python", "data_science", 0.035),
    Theme("Python", "web_frameworks", 0.025),
    Theme("Rust", "databases", 0.05, ("EUROPE", 0.45), (MICROSOFT_FAMILY, 0.2)),
    Theme("Go", "databases", 0.02, ("EUROPE", 0.3)),
    Theme("C++", "databases", 0.01),
    Theme("Rust", "cli_tools", 0.025, ("EUROPE", 0.3)),
    Theme("Go", "kubernetes", 0.08, ("NA", 0.5), stars_mu=4.2),
    Theme("Go", "devops", 0.02),
    Theme("Python", "devops", 0.01),
    Theme("TypeScript", "react_components", 0.075, None, (FAANG_FAMILIES, 0.25)),
    Theme("JavaScript", "react_components", 0.025),
    Theme("TypeScript", "web_frameworks", 0.015),
    Theme("Java", "web_frameworks", 0.015),
    Theme("Ruby", "web_frameworks", 0.01),
    Theme("C++", "game_dev", 0.015),
    Theme("C#", "game_dev", 0.01),
    Theme("Solidity", "blockchain", 0.02),
    Theme("Go", "security", 0.01),
    Theme("Rust", "security", 0.008),
)
LANGUAGE_TOPICS = {"Go": "golang", "C++": "cpp", "C#": "csharp", "Jupyter Notebook": "jupyter"}


def id_at(when: datetime, timeline: tuple[tuple[int, int], ...]) -> int:
    """GitHub ids grow with time; interpolate a plausible id for a creation date."""
    year = when.year + (when.timetuple().tm_yday - 1) / 366
    for (y0, i0), (y1, i1) in pairwise(timeline):
        if year < y1:
            return int(i0 + (i1 - i0) * (year - y0) / (y1 - y0))
    return timeline[-1][1]


@cache
def locations_in(region: str) -> list[Location]:
    """The places a regional theme (e.g. EUROPE) draws from, judged by the same rules the oracle uses."""
    return [x for x in LOCATIONS if matches_targets([region], x[1])]


def ascii_fold(text: str) -> str:
    """A name as people type it into logins and email addresses: accents dropped, Ł and ø spelled out."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_NON_DECOMPOSABLE))
    return decomposed.encode("ascii", "ignore").decode()
