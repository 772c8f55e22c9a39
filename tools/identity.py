"""Who is a person: bots and organisations out, noreply addresses decoded, duplicate accounts merged."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from foundation.schemas import Prospect

_NOREPLY = re.compile(r"^(?:(?P<id>\d+)\+)?(?P<login>[^@]+)@users\.noreply\.github\.com$", re.IGNORECASE)
_NOREPLY_LOCAL = re.compile(r"^(no-?reply|do-?not-?reply)([+.\-].*)?$", re.IGNORECASE)


def is_bot(login: str, account_type: str | None) -> bool:
    return account_type == "Bot" or login.lower().endswith("[bot]")


def is_person(login: str, account_type: str | None) -> bool:
    """Only `User` accounts that are not bots are people we may list."""
    return not is_bot(login, account_type) and account_type in (None, "User")


def is_noreply(email: str | None) -> bool:
    """GitHub's noreply forms and generic no-reply mailboxes are never contact addresses."""
    if not email or "@" not in email:
        return False
    local = email.split("@", 1)[0]
    return bool(_NOREPLY.match(email) or _NOREPLY_LOCAL.match(local))


def noreply_user_id(email: str | None) -> int | None:
    """The account id in `ID+login@users.noreply.github.com` (it survives renames), else None."""
    match = _NOREPLY.match(email or "")
    return int(match.group("id")) if match and match.group("id") else None


def merge_duplicates(prospects: Iterable[Prospect], linked_ids: Mapping[int, Iterable[int]]) -> list[Prospect]:
    """Merge accounts of one person: same published email, or commits signed with the other's noreply id.

    `linked_ids` maps a prospect's github_id to account ids seen in its commits' noreply addresses.
    The higher-scored account stays primary and lists the others in `merged_logins`.
    """
    items = sorted(prospects, key=lambda p: p.score, reverse=True)
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_email: dict[str, int] = {}
    by_id = {p.github_id: i for i, p in enumerate(items) if p.github_id is not None}
    for i, p in enumerate(items):
        if p.email and p.email_source == "profile":
            j = by_email.setdefault(p.email.lower(), i)
            parent[find(i)] = find(j)
        for other in linked_ids.get(p.github_id or -1, ()):
            if other in by_id:
                a, b = sorted((find(i), find(by_id[other])))
                parent[b] = a
    groups: dict[int, list[Prospect]] = {}
    for i, p in enumerate(items):
        groups.setdefault(find(i), []).append(p)
    return [_combine(group) for group in groups.values()]


def _combine(group: list[Prospect]) -> Prospect:
    primary, others = group[0], group[1:]
    if not others:
        return primary
    names = {s.name for s in primary.signals}
    signals = list(primary.signals) + [s for o in others for s in o.signals if s.name not in names]
    repos = list(
        dict.fromkeys(primary.developer_profile.repositories + [r for o in others for r in o.developer_profile.repositories])
    )
    profile = primary.developer_profile.model_copy(update={"repositories": repos})
    return primary.model_copy(
        update={
            "merged_logins": primary.merged_logins + [o.username for o in others],
            "signals": signals,
            "developer_profile": profile,
            "email": primary.email or next((o.email for o in others if o.email), None),
            "email_source": primary.email_source or next((o.email_source for o in others if o.email), None),
        }
    )
