"""What a chat message asks for, read by rules (no LLM): a question, a refinement, a new goal, help.

Refinements reuse the goal parser, so "only EU", "only in Germany", "not in China", "exclude Meta"
or "top 20" mean exactly what they mean inside a goal; the few words a goal never contains ("drop", "shorter
emails") are handled here. `refine` turns a refinement into the thread's explicit audience fields,
which a refined job's campaign carries (the planner lets them override what the goal says), and a
list of sentences saying what changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from agents.goal_parser import ParsedGoal, parse_goal
from foundation.schemas import TargetAudience
from foundation.schemas.plan import lead_count

IntentKind = Literal["goal", "refine", "explain", "counts", "help", "lookalike"]
EmailLength = Literal["short", "medium", "long"]

_NEW_GOAL = re.compile(r"^\s*(?:new goal|start over|instead)\b[\s:,-]*", re.I)
_GOAL_VERBS = re.compile(r"^\s*(?:find|search for|look for)\b", re.I)  # not "I want": "I want shorter emails"
_HELP = re.compile(r"^\s*(?:help|\?+|what can you do\??|what do you understand\??)\s*$", re.I)
_WHY = re.compile(r"\bwhy\s+(?:is|was|does|did)\s+@?(?P<login>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\b(?P<rest>.*)", re.I | re.S)
# "why is #3 first?", "why is lead #1 ranked first?", "why is number 2 above 3?": a rank, not a login.
_WHY_RANK = re.compile(
    r"\bwhy\s+(?:is|was|does|did)\s+(?:the\s+)?(?:(?:lead|prospect|person|number|no\.?)\s*)?(?:#\s*(?P<hash>\d+)|(?<=number )(?P<n>\d+))\b",
    re.I,
)
_WHO = re.compile(r"\bwho\s+(?:is|was)\s+(?:ranked\s+)?(?P<rest>.*)", re.I | re.S)
_RANK_WORDS = re.compile(r"\b(?:rank(?:ed)?|first|second|third|top|score[ds]?|high(?:er)?|above|ahead)\b|#\s*\d+", re.I)
_ORDINALS = {"first": 1, "top": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
_ORDINALS |= {"sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10}
_ORDINAL = rf"(?:{'|'.join(_ORDINALS)})"
_RANK = re.compile(rf"#\s*(\d+)|\bnumber\s+(\d+)\b|\b({_ORDINAL})\b|\b(\d+)(?:st|nd|rd|th)\b", re.I)
# A lead named by its place in the ranking anywhere in a message: "tell me about the third one", "what
# about #2?", "explain lead 3", "number 3", "the top one", "the 4th lead". A bare count ("top 20",
# "the first 10") is a refinement, not a reference, and "C#" is a language (no digits follow it).
_REFERENCE = re.compile(
    rf"(?<![\w+])#\s*(?P<hash>\d+)\b"
    rf"|\b(?:lead|prospect|person|candidate|number|no\.)\s*#?\s*(?P<n>\d+)\b"
    rf"|\b(?P<word>{_ORDINAL}|\d+(?:st|nd|rd|th))\s+(?:one|lead|prospect|person|candidate|result|developer|match)\b",
    re.I,
)
_NOT_LOGINS = frozenset({"the", "this", "that", "it", "he", "she", "they", "number", "top", "first"})
# "more like #3", "find more people like the third one", "others similar to @alice": a lookalike job seeded with that lead.
_MORE_LIKE = re.compile(
    r"\b(?:more|others?)\s+(?:(?:people|developers|leads)\s+)?(?:like|similar\s+to)\s+(?P<ref>.+)$", re.I | re.S
)
_AT_LOGIN = re.compile(r"^@(?P<login>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\b")
_COUNTS = re.compile(r"\bhow\s+many\b|\bcount\b|\bnumber\s+of\b|\bstatus\b|\bprogress\b", re.I)
_EMAIL_WORDS = r"(?:e-?mails?|messages?|drafts?|copy|outreach|pitch(?:es)?)"


def _about_emails(before: str, after: str) -> re.Pattern[str]:
    """'<before> ... emails' or 'emails ... <after>': "write shorter emails", "make the drafts brief"."""
    return re.compile(rf"\b(?:{before})\b.*\b{_EMAIL_WORDS}\b|\b{_EMAIL_WORDS}\b.*\b(?:{after})\b", re.I)


_LENGTHS: tuple[tuple[EmailLength, re.Pattern[str]], ...] = (
    ("short", _about_emails("shorter|short|brief|briefer|concise|terse|tighter", "shorter|brief|concise")),
    ("long", _about_emails("longer|long|detailed|more detailed", "longer|more detailed")),
    ("medium", _about_emails("medium|normal|default(?:[- ]length)?", "medium|normal length")),
)
# Verbs that drop what they name: the goal parser reads "drop Google" as naming Google, and "drop
# Germany" must not be read as "only Germany".
_DROP = re.compile(r"\b(?:drop|remove|skip|except|filter out|leave out|exclude|excluding|without)\b", re.I)
_ANY_ROLE = re.compile(r"\b(?:any|all)\s+(?:roles?|developers)\b|\bcontributors\s+too\b|\bnot\s+only\s+maintainers\b", re.I)

HELP_TEXT = (
    "I understand: a goal to start a job (e.g. 'Find Python maintainers active in ML'); refinements that "
    "re-run it: regions ('only EU', 'only in Germany', 'not in China'), companies ('drop Google employees', 'exclude Meta', "
    "'only people at Stripe'), role ('only maintainers'), languages or domains ('only Rust', 'only ML'), "
    "size ('top 20'), email length ('write shorter emails'); questions about the results: 'why is <login> "
    "ranked first?', 'who is ranked #2?', 'tell me about the third one', 'what about lead 4?', 'how many are "
    "contactable?'; 'more like #3' (a new job finding developers like that lead); and 'new goal: ...' to start over."
)


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    text: str = ""  # goal: the goal itself
    login: str | None = None  # explain, lookalike: the person named (None: whoever holds `rank`)
    rank: int | None = None  # explain, lookalike: the rank the message mentions ("first" -> 1)
    parsed: ParsedGoal | None = None  # refine: the message read as a goal fragment
    drop: bool = False  # refine: the companies named are to be dropped, not targeted
    any_role: bool = False
    email_length: EmailLength | None = None


def _rank(text: str) -> int | None:
    match = _RANK.search(text)
    if match is None:
        return None
    number = match.group(1) or match.group(2) or match.group(4)
    return int(number) if number else _ORDINALS[match.group(3).lower()]


def _referenced(message: str) -> int | None:
    """The rank a message points at ("the third one" -> 3), or None."""
    match = _REFERENCE.search(message)
    if match is None:
        return None
    number = match.group("hash") or match.group("n")
    return int(number) if number else _rank(match.group("word"))


def parse_intent(message: str, *, has_goal: bool) -> Intent | None:
    """Read `message`; None when it is nothing this parser knows (the caller answers with help)."""
    if has_goal and (more := _MORE_LIKE.search(message)):
        ref = more.group("ref").strip()
        if at := _AT_LOGIN.match(ref):
            return Intent("lookalike", login=at.group("login"))
        if (rank := _referenced(ref) or _rank(ref)) is not None and rank > 0:
            return Intent("lookalike", rank=rank)
    if not has_goal or _NEW_GOAL.match(message) or _GOAL_VERBS.match(message):
        return Intent("goal", text=_NEW_GOAL.sub("", message, count=1).strip() or message)
    if _HELP.match(message):
        return Intent("help")
    if rank_asked := _WHY_RANK.search(message):
        return Intent("explain", rank=int(rank_asked.group("hash") or rank_asked.group("n")))
    why = _WHY.search(message)
    if why and _RANK_WORDS.search(why.group("rest")):
        login = why.group("login")
        return Intent("explain", login=None if login.lower() in _NOT_LOGINS else login, rank=_rank(why.group("rest")))
    who = _WHO.search(message)
    if who and _rank(who.group("rest")) is not None:
        return Intent("explain", rank=_rank(who.group("rest")))
    if (rank := _referenced(message)) is not None and rank > 0 and not _DROP.search(message):  # not "drop the third one"
        return Intent("explain", rank=rank)
    if _COUNTS.search(message):
        return Intent("counts")
    email_length = next((length for length, pattern in _LENGTHS if pattern.search(message)), None)
    parsed = parse_goal(message)
    intent = Intent(
        "refine",
        parsed=parsed,
        drop=bool(_DROP.search(message)),
        any_role=bool(_ANY_ROLE.search(message)),
        email_length=email_length,
    )
    a = parsed.audience
    understood = (
        email_length
        or intent.any_role
        or parsed.max_prospects
        or a.target_regions
        or a.exclude_regions
        or a.exclude_cities
        or a.languages
        or a.domains
        or a.exclude_companies
        or a.include_companies
        or a.role != "any"
        or a.stars_range
    )
    return intent if understood else None


@dataclass
class Thread:
    """The refinable part of a thread's state (stored as JSON in `chat_threads.state`)."""

    goal: str = ""
    audience: dict[str, Any] = field(default_factory=dict)  # explicit TargetAudience fields
    max_prospects: int | None = None
    email_length: EmailLength | None = None
    # The model's reading of the goal (`audience` with every field, `max_prospects`) when a model
    # planned it (`chat_plan`): the base the refinements apply to. None: the rules read the goal.
    planned: dict[str, Any] | None = None


def goal_audience(thread: Thread) -> TargetAudience:
    """The audience the thread's goal stands for before any refinement: the model's, else the rules'."""
    if thread.planned is not None:
        return TargetAudience.model_validate(thread.planned["audience"])
    return parse_goal(thread.goal).audience


def lead_target(thread: Thread) -> int:
    """How many leads a job of this thread keeps, by the planner's rule (a thread's campaign never
    sets a count: refinements only change the audience and the email length)."""
    read = thread.planned["max_prospects"] if thread.planned is not None else parse_goal(thread.goal).max_prospects
    return lead_count(thread.max_prospects, read)


def _describe(values: list[str], empty: str) -> str:
    return ", ".join(values) if values else empty


def refine(explicit: dict[str, Any], goal: TargetAudience, intent: Intent) -> tuple[dict[str, Any], list[str]]:
    """The explicit audience fields after `intent` (applied on top of the `goal`'s audience), and what changed.

    Only fields that change are written, and a field is written whole: a campaign's explicit field
    replaces the goal's, so dropping Google keeps the goal's own exclusions in the list.
    """
    assert intent.parsed is not None
    current = goal.model_copy(update=explicit)
    new, changes = dict(explicit), []
    a = intent.parsed.audience
    dropped = list(dict.fromkeys(a.exclude_companies + (a.include_companies if intent.drop else [])))
    targeted = [c for c in a.include_companies if c not in dropped]

    def change(name: str, value: Any, sentence: str) -> None:
        if getattr(current, name) != value:
            new[name] = value
            changes.append(sentence)

    if dropped:
        names = ", ".join(dropped)
        change("exclude_companies", list(dict.fromkeys(current.exclude_companies + dropped)), f"excluding {names}")
        change("include_companies", [c for c in current.include_companies if c not in dropped], f"no longer only {names}")
    if targeted:
        names = ", ".join(targeted)
        change("include_companies", targeted, f"only people at {names}")
        change("exclude_companies", [c for c in current.exclude_companies if c not in targeted], f"no longer excluding {names}")
    if a.target_regions and not intent.drop:
        regions = f"{_describe(current.target_regions, 'anywhere')} → {', '.join(a.target_regions)}"
        change("target_regions", a.target_regions, f"regions: {regions}")
        cities = f"{_describe(current.target_cities, 'any')} → {_describe(a.target_cities, 'any')}"
        change("target_cities", a.target_cities, f"cities: {cities}")
    for excluded, field_name, target_name in (
        (a.exclude_regions, "exclude_regions", "target_regions"),
        (a.exclude_cities, "exclude_cities", "target_cities"),
    ):
        if excluded:  # "not in China": left out, and no longer a target
            change(field_name, list(dict.fromkeys(getattr(current, field_name) + excluded)), f"excluding {', '.join(excluded)}")
            kept = [place for place in getattr(current, target_name) if place not in excluded]
            change(target_name, kept, f"{target_name.split('_')[1]}: no longer {', '.join(excluded)}")
    if intent.any_role:
        change("role", "any", f"role: {current.role} → any")
    elif a.role != "any":
        change("role", a.role, f"role: {current.role} → {a.role}")
    if a.languages and not intent.drop:
        change("languages", a.languages, f"languages: {_describe(current.languages, 'any')} → {', '.join(a.languages)}")
    if a.domains and not intent.drop:
        change("domains", a.domains, f"domains: {_describe(current.domains, 'any')} → {', '.join(a.domains)}")
        change("topics", a.topics, f"topics: {len(a.topics)} from {', '.join(a.domains)}")
    if a.stars_range:
        change("stars_range", a.stars_range, f"stars: {current.stars_range or 'any'} → {a.stars_range}")
    return new, changes


def apply(thread: Thread, intent: Intent) -> tuple[Thread, list[str]]:
    """The thread after a refinement, and one sentence per change (empty: nothing changed)."""
    assert intent.parsed is not None
    audience, changes = refine(thread.audience, goal_audience(thread), intent)
    count, max_prospects = intent.parsed.max_prospects, thread.max_prospects
    previous = lead_target(thread)
    if count and count != previous:
        changes.append(f"top {previous} → top {count}")
        max_prospects = count
    email_length = thread.email_length
    if intent.email_length and intent.email_length != (thread.email_length or "medium"):
        changes.append(f"emails: {thread.email_length or 'medium'} → {intent.email_length}")
        email_length = intent.email_length
    return Thread(thread.goal, audience, max_prospects, email_length, thread.planned), changes
