"""Suppression lists held as blind indexes (a tenant's, from the service database) match exactly like
plaintext ones, merge with the file list, and cover every identity of a prospect; values are
normalised and checked per kind the same way for the file, the API, the CLI and the CSV import."""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import Callable

import pytest

from foundation.schemas import Prospect
from tools.suppression import KINDS, SuppressionKind, SuppressionList, normalize_entry, parse_csv

ENTRIES: list[tuple[SuppressionKind, str]] = [
    ("login", "octocat"),
    ("email", "ada@example.com"),
    ("domain", "corp.io"),
    ("github_id", "583231"),
]


def hasher(key: bytes = b"tenant-key") -> tuple[list[str], Callable[[str], str]]:
    """An HMAC like the keyring's, recording what it was asked to hash."""
    seen: list[str] = []

    def blind(value: str) -> str:
        seen.append(value)
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    return seen, blind


def blind_list(key: bytes = b"tenant-key") -> SuppressionList:
    _, blind = hasher(key)
    return SuppressionList.from_blind_indexes(blind, [(kind, blind(value)) for kind, value in ENTRIES])


@pytest.mark.parametrize("suppression", [SuppressionList.from_entries(ENTRIES), blind_list()], ids=["plaintext", "blind"])
def test_plaintext_and_blind_lists_match_the_same_people(suppression: SuppressionList) -> None:
    assert len(suppression) == 4
    assert suppression.contains(login="OctoCat")
    assert suppression.contains(email=" ADA@example.com ")
    assert suppression.contains(email="dev@eu.corp.io"), "an email matches its domain and parent domains"
    assert suppression.contains(github_id=583231)
    assert not suppression.contains(login="hubot", github_id=1, email="dev@notcorp.io")
    assert not suppression.contains()


def test_a_blind_list_hashes_normalised_values_and_never_holds_plaintext() -> None:
    seen, blind = hasher()
    suppression = SuppressionList.from_blind_indexes(blind, [("email", blind("ada@example.com"))])
    seen.clear()
    assert suppression.contains(login="OctoCat", email="Ada@Example.com")
    assert seen[:2] == ["octocat", "ada@example.com"]
    assert "ada@example.com" not in repr(suppression.blind[0].entries)
    other_key = blind_list(b"other")
    _, mismatched = hasher(b"tenant-key")
    crossed = SuppressionList.from_blind_indexes(mismatched, other_key.blind[0].entries)
    assert not crossed.contains(login="octocat"), "indexes made with another tenant's key never match"


def test_merged_lists_keep_both_sources() -> None:
    from_file = SuppressionList.from_entries([("login", "hubot"), ("domain", "spam.io")])
    merged = from_file.merged(blind_list())
    assert len(merged) == 6
    assert merged.contains(login="hubot") and merged.contains(email="x@spam.io")
    assert merged.contains(login="octocat") and merged.contains(github_id=583231)
    assert SuppressionList.empty().merged(SuppressionList.empty()) == SuppressionList.empty()


def test_a_prospect_is_covered_by_any_of_its_identities() -> None:
    suppression = blind_list()
    merged_account = Prospect(id="gh_octo-work", username="octo-work", merged_logins=["octocat"])
    assert suppression.contains_prospect(merged_account), "a merged login counts"
    assert suppression.contains_prospect(Prospect(id="gh_x", username="x", github_id=583231))
    assert suppression.contains_prospect(Prospect(id="gh_y", username="y", email="y@corp.io"))
    assert not suppression.contains_prospect(Prospect(id="gh_z", username="z", email="z@example.org"))


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("Email", " Ada@Example.COM ", ("email", "ada@example.com")),
        ("login", "OctoCat", ("login", "octocat")),
        ("domain", "@BigCorp.io", ("domain", "bigcorp.io")),
        ("github_id", "007", ("github_id", "7")),
    ],
)
def test_values_are_normalised(kind: str, value: str, expected: tuple[str, str]) -> None:
    assert normalize_entry(kind, value) == expected


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("phone", "555", "unknown kind"),
        ("login", "  ", "empty value"),
        ("login", "two words", "not a GitHub login"),
        ("login", "x" * 40, "not a GitHub login"),
        ("email", "no-at-sign", "not an email"),
        ("email", "a@localhost", "not an email"),
        ("email", "a b@example.com", "not an email"),
        ("github_id", "-1", "must be a number"),
        ("github_id", "١٢", "must be a number"),  # non-ASCII digits
        ("domain", "localhost", "not a domain"),
    ],
)
def test_values_of_the_wrong_shape_say_why(kind: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalize_entry(kind, value)
    assert set(KINDS) == {"github_id", "login", "email", "domain"}


def test_parse_csv_reports_every_bad_line() -> None:
    parsed = parse_csv(io.StringIO("kind,value\nlogin,ok\nphone,1\n\nemail,nope\nlogin,a,b\n", newline=""))
    assert parsed.entries == [("login", "ok")]
    assert [line for line, _ in parsed.errors] == [3, 5, 6]
    assert "2 columns" in parsed.errors[2][1]
    assert parse_csv(io.StringIO("")).errors == [(1, "expected the header 'kind,value', found ''")]
