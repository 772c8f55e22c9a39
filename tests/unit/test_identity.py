from __future__ import annotations

import pytest

from foundation.schemas import Prospect
from tools.identity import is_bot, is_noreply, is_person, merge_duplicates, noreply_user_id


@pytest.mark.parametrize(
    ("login", "kind", "bot", "person"),
    [
        ("dependabot[bot]", "Bot", True, False),
        ("renovate[bot]", "User", True, False),
        ("kubernetes", "Organization", False, False),
        ("alice", "User", False, True),
        ("bob", None, False, True),
    ],
)
def test_bots_and_orgs_are_not_people(login: str, kind: str | None, bot: bool, person: bool) -> None:
    assert is_bot(login, kind) is bot
    assert is_person(login, kind) is person


@pytest.mark.parametrize(
    ("email", "noreply", "user_id"),
    [
        ("12345+alice@users.noreply.github.com", True, 12345),
        ("alice@users.noreply.github.com", True, None),
        ("noreply@example.com", True, None),
        ("no-reply@example.com", True, None),
        ("alice@alice.dev", False, None),
        (None, False, None),
    ],
)
def test_noreply_forms(email: str | None, noreply: bool, user_id: int | None) -> None:
    assert is_noreply(email) is noreply
    assert noreply_user_id(email) == user_id


def _p(login: str, gid: int, score: float, email: str | None = None) -> Prospect:
    return Prospect(
        id=f"gh_{login}", username=login, github_id=gid, score=score, email=email, email_source="profile" if email else None
    )


def test_same_published_email_merges_into_higher_scored_account() -> None:
    merged = merge_duplicates([_p("a", 1, 0.4, "x@x.dev"), _p("b", 2, 0.9, "X@x.dev"), _p("c", 3, 0.5)], {})
    by_login = {p.username: p for p in merged}
    assert set(by_login) == {"b", "c"}
    assert by_login["b"].merged_logins == ["a"]


def test_noreply_id_in_commits_links_two_accounts() -> None:
    merged = merge_duplicates([_p("main", 10, 0.8, "m@m.dev"), _p("alt", 11, 0.3)], {11: {10}})
    assert [p.username for p in merged] == ["main"]
    assert merged[0].merged_logins == ["alt"]


def test_unrelated_people_stay_apart() -> None:
    assert len(merge_duplicates([_p("a", 1, 0.1, "a@a.dev"), _p("b", 2, 0.2, "b@b.dev")], {})) == 2
