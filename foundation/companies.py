"""Which organisations a profile's company field names, and whether they belong to a company a goal
excludes or targets, corporate families included.

One definition for the goal parser, the enricher, compliance and the GitHub sandbox's ground truth,
read from `foundation/data/companies.yaml` (every entry with a source). The company field is free
text the person typed, so the reading is conservative: it matches only what clearly names a current
employer, and an unclear string names nothing.

- A company covers its family: "Google" covers Google DeepMind, YouTube, Waymo and Google Cloud;
  "Microsoft" covers GitHub and LinkedIn. A division covers itself and what sits below it only:
  excluding YouTube does not exclude Google.
- Names match whole, after folding accents and case, dropping punctuation, legal forms ("Inc.",
  "GmbH") and a trailing "team". So "Meta" never matches "Metabase", "Meta Financial" or
  "Metalworks GmbH"; "Microsoft MVP", "Google Developer Expert", "AWS Community Builder" and
  "Oracle Cloud partner" are community titles and partners, not staff, and match nothing.
- Every organisation the field names counts: "@google @kubernetes", "Kubernetes, Google",
  "Software engineer at Google", "SWE @ Google", "now Meta".
- Former employers do not count: "ex-Google", "Former Googler", "Xoogler", "Google alum",
  "Google (former)", "Google (2015-2020)", "Meta, previously Google" (Meta only).
- Other parenthesised asides are not read: "Initech (ex-Meta)" is Initech, "X (formerly Twitter)" is X.
- E-mail and web addresses are not employers: "jane@google.com" or "jane.github.io" says where mail
  or a site is hosted, not who pays the person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel, Field, model_validator

from foundation.text import fold


class CompanyEntry(BaseModel):
    display: str
    aliases: list[str] = Field(default_factory=list)
    profile_aliases: list[str] = Field(default_factory=list)
    parent: str | None = None
    source: str = Field(pattern=r"^https://\S+$")


class CompanyGroup(BaseModel):
    display: str
    aliases: list[str]
    members: list[str]
    source: str = Field(pattern=r"^https://\S+$")


class CompanyFile(BaseModel):
    version: int
    companies: dict[str, CompanyEntry]
    groups: dict[str, CompanyGroup]
    legal_suffixes: list[str]
    unit_suffixes: list[str]

    @model_validator(mode="after")
    def _families_are_trees(self) -> CompanyFile:
        """Parents and group members are known companies, and no company is its own ancestor."""
        for key, entry in self.companies.items():
            seen = {key}
            parent = entry.parent
            while parent is not None:
                if parent not in self.companies:
                    raise ValueError(f"{key}: unknown parent {parent!r}")
                if parent in seen:
                    raise ValueError(f"{key}: its parents form a cycle")
                seen.add(parent)
                parent = self.companies[parent].parent
        for name, group in self.groups.items():
            if unknown := set(group.members) - set(self.companies):
                raise ValueError(f"group {name}: unknown members {sorted(unknown)}")
        return self


Suffixes = tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class CompanyDirectory:
    """`foundation/data/companies.yaml` with the lookups derived from it."""

    companies: dict[str, CompanyEntry]
    groups: dict[str, CompanyGroup]
    legal_suffixes: Suffixes
    match_suffixes: Suffixes  # legal forms and team words: what a name may end in and still match
    alias_to_key: dict[str, str]

    def members(self, group: str) -> list[str]:
        """Display names of a group's companies, in the file's order."""
        return [self.companies[key].display for key in self.groups[group].members]

    def lineage(self, key: str) -> list[str]:
        """`key` and the companies above it, nearest first (just `key` for a company not in the file)."""
        chain = [key]
        while (entry := self.companies.get(chain[-1])) is not None and entry.parent is not None:
            chain.append(entry.parent)
        return chain

    def divisions(self, key: str) -> list[str]:
        """Every company below `key`: its own divisions and subsidiaries first, then theirs."""
        below = [other for other in self.companies if other != key and key in self.lineage(other)]
        return sorted(below, key=lambda other: self.lineage(other).index(key))


def company_key(text: str) -> str:
    """Folded words of a name without punctuation: "AT&T" -> "att", "Red-Hat" -> "red hat"."""
    squeezed = re.sub(r"[&.'’]", "", fold(text))
    return " ".join(re.sub(r"[\W_]+", " ", squeezed).split())


def _strip_suffixes(words: list[str], keys: list[str], suffixes: Suffixes) -> list[str]:
    """Drop trailing suffix words and a leading "the", never the whole name."""
    while True:
        while len(keys) > 1 and not keys[-1]:
            words, keys = words[:-1], keys[:-1]
        for suffix in suffixes:
            n = len(suffix)
            if len(keys) > n and tuple(keys[-n:]) == suffix:
                words, keys = words[:-n], keys[:-n]
                break
        else:
            break
    if len(keys) > 1 and keys[0] == "the":
        words = words[1:]
    return words


def _bare_key(name: str, suffixes: Suffixes) -> str:
    keys = company_key(name).split()
    return " ".join(_strip_suffixes(keys, keys, suffixes))


def _suffixes(phrases: Iterable[str]) -> Suffixes:
    return tuple(sorted((tuple(s.split()) for s in phrases), key=len, reverse=True))


@lru_cache(maxsize=1)
def company_directory() -> CompanyDirectory:
    raw = yaml.safe_load(resources.files("foundation").joinpath("data/companies.yaml").read_text(encoding="utf-8"))
    data = CompanyFile.model_validate(raw)
    legal = _suffixes(data.legal_suffixes)
    both = _suffixes([*data.legal_suffixes, *data.unit_suffixes])
    alias_to_key: dict[str, str] = {}
    for key, entry in data.companies.items():
        for name in (key, entry.display, *entry.aliases, *entry.profile_aliases):
            bare = _bare_key(name, both)
            if alias_to_key.setdefault(bare, key) != key:
                raise ValueError(f"{name!r} names both {alias_to_key[bare]!r} and {key!r}")
    return CompanyDirectory(data.companies, data.groups, legal, both, alias_to_key)


# ---- reading a company field ------------------------------------------------------------------------

_FORMER_WORDS = r"(?:ex|former(?:ly)?|previously|prev|past|alum(?:na|nus|ni)?|retired)"
_FORMER = re.compile(rf"\b{_FORMER_WORDS}\b", re.IGNORECASE)
# A parenthesis that only says the name before it is a past employer: "(former)", "(2015-2020)".
_ENDED = re.compile(rf"^\W*(?:{_FORMER_WORDS}|\d{{4}}\s*[-–—]\s*\d{{4}})\W*$", re.IGNORECASE)
_PARENS = re.compile(r"\(([^()]*)\)|\[([^\[\]]*)\]")
_SEPARATORS = re.compile(r"[,|;/·•]|\s[-–—]\s")
# Every pattern is anchored or bounded so that a long hostile field costs linear time.
_ADDRESS = re.compile(r"(?<!\S)(?:[^\s@]+@\S*|[a-z][\w+.-]*://\S*|www\.\S*)", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w.@])@([^\W_][\w.\-]*)")
_AT = re.compile(r"(?:^|\s)(?:at|@)\s+", re.IGNORECASE)
_NOW = re.compile(r"^\W*(?:now|currently|presently)\b\W*", re.IGNORECASE)
_EDGES = " \t@.-_'\":"
_MAX_FIELD = 1000  # characters read; a company field is a line, anything longer is not one


def _aside(match: re.Match[str]) -> str:
    """Drop a parenthesised aside, but keep its meaning when it marks the name before as former."""
    inner = match.group(1) if match.group(1) is not None else match.group(2)
    return " former " if _ENDED.match(inner) else " "


def _current_part(part: str) -> str | None:
    """What a comma-separated part says about the present: None when it names a past employer.

    "Meta ex-Google" -> "Meta"; "ex-Google" and "Google alum" -> None.
    """
    former = _FORMER.search(part)
    if former is None:
        return part
    if re.search(r"[^\W\d_]", part[former.end() :]):  # the marker introduces another, past employer
        return part[: former.start()]
    return None  # the marker trails: the whole part is past


def employer_names(raw: str | None) -> list[str]:
    """The current employers a profile's company field names, as written, in order.

    "@google @kubernetes" -> ["google", "kubernetes"]; "SWE at Google, ex-Meta" -> ["Google"].
    """
    if not raw:
        return []
    names: list[str] = []
    text = _ADDRESS.sub(" ", _PARENS.sub(_aside, raw[:_MAX_FIELD]))
    for part in _SEPARATORS.split(text):
        current = _current_part(part)
        if current is None:
            continue
        handles = _HANDLE.findall(current)
        if not handles:
            current = _AT.split(current)[-1]
            current = _NOW.sub("", current)
        for name in handles or [current]:
            name = name.strip(_EDGES)
            if company_key(name) and name not in names:
                names.append(name)
    return names


def _key(name: str) -> str:
    directory = company_directory()
    bare = _bare_key(name, directory.match_suffixes)
    return directory.alias_to_key.get(bare, bare)


def canonical_company(raw: str | None) -> str | None:
    """A lowercase key, equal for every spelling of one company ("Facebook, Inc." -> "meta"), of the
    first current employer named; None when none is."""
    names = employer_names(raw)
    return (_key(names[0]) or None) if names else None


def employer_keys(raw: str | None) -> list[str]:
    """The canonical keys of every current employer the field names."""
    return list(dict.fromkeys(key for name in employer_names(raw) if (key := _key(name))))


def display_company(raw: str | None) -> str | None:
    """A clean name to show: the table's display name, else the name without its legal form."""
    names = employer_names(raw)
    if not names:
        return None
    directory = company_directory()
    key = _key(names[0])
    if key in directory.companies:
        return directory.companies[key].display
    words = names[0].split()
    kept = _strip_suffixes(words, [company_key(word) for word in words], directory.legal_suffixes)
    return " ".join(kept).strip(" ,.") or None


def in_family(key: str | None, names: Iterable[str]) -> bool:
    """True when the company `key` is one of `names` or a division or subsidiary of one.

    The sandbox's ground truth asks this of a person's true employer; `company_matches` of what a
    profile says.
    """
    if not key:
        return False
    targets = {target for name in names if (target := canonical_company(name))}
    return not targets.isdisjoint(company_directory().lineage(key))


def company_matches(raw: str | None, names: Iterable[str]) -> bool:
    """True when a current employer named in `raw` is one of `names` or in one's family.

    "@Google" ~ "Google", "Facebook" ~ "Meta", "Google DeepMind" ~ "Google", "ex-Google" ~ nothing.
    """
    names = list(names)
    return any(in_family(key, names) for key in employer_keys(raw))
