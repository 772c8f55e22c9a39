"""The PII detector: known positives of every kind are found, the developer text the pipeline is
full of (versions, dates, SHAs, ids, repository URLs) is never reported, and the compliance rule
built on it flags third-party contact data in drafts but not the sender's or recipient's own."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy.pii import PERSONAL_KINDS, find_pii, personal_data_except, redact_secrets
from tests.unit.test_compliance import codes, message, review
from tests.unit.test_copywriter import SETTINGS

GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5" * 3 + "f6G7h8"
POSITIVES: list[tuple[str, str, str]] = [
    ("mail ada@example.com today", "email", "ada@example.com"),
    ("cc: mona.lisa+ml@example.co.uk", "email", "mona.lisa+ml@example.co.uk"),
    ("call +49 30 1234567 now", "phone", "+49 30 1234567"),
    ("call +1 (415) 555-0132", "phone", "+1 (415) 555-0132"),
    ("US office (415) 555-0132", "phone", "(415) 555-0132"),
    ("Tel.: 030 1234567", "phone", "030 1234567"),
    ("Handy 0171/2345678", "phone", "0171/2345678"),
    ("portable 06 12 34 56 78", "phone", "06 12 34 56 78"),
    ("or 06.12.34.56.78", "phone", "06.12.34.56.78"),
    ("London 020 7946 0958", "phone", "020 7946 0958"),
    ("teléfono 612 34 56 78", "phone", "612 34 56 78"),
    ("bel 0031 20 123 4567", "phone", "0031 20 123 4567"),
    ("HQ: 1600 Amphitheatre Parkway, Mountain View", "address", "1600 Amphitheatre Parkway"),
    ("at 221B Baker St. in London", "address", "221B Baker St."),
    ("Büro Hauptstraße 5, Berlin", "address", "Hauptstraße 5"),
    ("Berliner Straße 12a", "address", "Berliner Straße 12a"),
    ("Karl-Marx-Allee 3", "address", "Karl-Marx-Allee 3"),
    ("kantoor Keizersgracht 123", "address", "Keizersgracht 123"),
    ("au 12 rue de la Paix, Paris", "address", "12 rue de la Paix"),
    ("en Calle Mayor 5, Madrid", "address", "Calle Mayor 5"),
    ("Avenida de la Constitución, 12", "address", "Avenida de la Constitución, 12"),
    ("mail to PO Box 1234", "address", "PO Box 1234"),
    ("Postfach 1122", "address", "Postfach 1122"),
    ("from 203.0.113.7 at noon", "ip", "203.0.113.7"),
    ("client 2001:db8::1 connected", "ip", "2001:db8::1"),
    ("link fe80::1ff:fe23:4567:890a up", "ip", "fe80::1ff:fe23:4567:890a"),
    (f"GITHUB_TOKEN {GITHUB_TOKEN}", "secret", GITHUB_TOKEN),
    (
        "pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "secret",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    ),
    ("key sk-proj-abc123DEF456ghi789JKL012", "secret", "sk-proj-abc123DEF456ghi789JKL012"),
    ("aws AKIAIOSFODNN7EXAMPLE", "secret", "AKIAIOSFODNN7EXAMPLE"),
    ("slack xoxb-1234-5678-abcdefghij", "secret", "xoxb-1234-5678-abcdefghij"),
    ("key cmo_sk_Q2hhbmdlTWUhU2VjcmV0S2V5", "secret", "cmo_sk_Q2hhbmdlTWUhU2VjcmV0S2V5"),
    ("Authorization: Bearer abc.def-123456", "secret", "abc.def-123456"),
    ("{'authorization': 'Basic dXNlcjpwYXNz'}", "secret", "dXNlcjpwYXNz"),
    ("password=hunter2 retry", "secret", "hunter2"),
    ('{"client_secret": "s3cr3t-value"}', "secret", "s3cr3t-value"),
    ("postgresql://app:s3cret@db.internal/prod", "secret", "s3cret"),
    (
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "secret",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ),
]

DEVELOPER_TEXT = [
    "pushed to main@v1.2 at 10:00, see https://github.com/org/repo and @octocat",
    "released v1.2.3.4, version 2.0.0.1, release 10.1.2.3; pin numpy==1.26.4.1 or torch>=2.1.0.1",
    "python3.11.4, node 20.11.1, 1.0.0-rc.1, go1.22.3, Chrome/120.0.6099.109",
    "commit 3f2a9c1d0e7b4a6f8c2d1e0f9a8b7c6d5e4f3a2b (3f2a9c1) fixed #12345 and PR 4567",
    "github_id 583231, created 1732550400, stars 38000, 117 commits/pushes in 90 days",
    "git@github.com:org/repo.git and https://github.com/fastinfer/fastinfer-python/tree/v0.4.1",
    "icon@2x.png, logo@3x.webp, @types/node@20.11.5, pkg@latest",
    "2024-01-15 10:00:00, 05.11.2024, 05/11/2024 10:30, 12:30:45, 2026-11-19T14:30:00Z, 1990-2024",
    "std::vector<int>, a::b, Foo::Bar, 00:1a:2b:3c:4d:5e",
    "listening on 127.0.0.1:8000 and [::1]:8000 and 0.0.0.0:80; port 5432; 100 200 3000",
    "Bearer authentication and the token mechanism; max_tokens=512; password: ***; token=None",
    "api_key=${OPENAI_API_KEY}, secret=<redacted>, scikit-learn, task-runner, risk-free",
    "#1 contributor of fastinfer/fastinfer (4800 commits, 38000★) (+1 more repos)",
    "Top 10 Python libraries, 3 New Features, Section 2 Road Map, Keyring 2, Protection Ring 3",
    "cmo_20261125_220947_5a7f95, art_0123456789abcdef, 12345678-1234-5678-1234-567812345678",
]


@pytest.mark.parametrize(("text", "kind", "expected"), POSITIVES)
def test_known_positives_are_found(text: str, kind: str, expected: str) -> None:
    found = [(f.kind, f.text) for f in find_pii(text)]
    assert (kind, expected) in found, found


@pytest.mark.parametrize("text", DEVELOPER_TEXT)
def test_developer_text_has_no_findings(text: str) -> None:
    assert find_pii(text) == []


def test_overlapping_kinds_resolve_to_one_finding_by_priority() -> None:
    text = "db https://ada:pa55word@ada.example.com and ada@example.com"
    assert [(f.kind, f.text) for f in find_pii(text)] == [("secret", "pa55word"), ("email", "ada@example.com")]


def test_kinds_filter_and_spans_point_into_the_text() -> None:
    text = "Ada <ada@example.com>, +49 30 1234567, 203.0.113.7, token=abc123xyz"
    findings = find_pii(text, kinds=("email", "ip"))
    assert [f.kind for f in findings] == ["email", "ip"]
    assert all(text[f.start : f.end] == f.text and f.span == (f.start, f.end) for f in findings)


def test_redact_secrets_keeps_everything_else() -> None:
    text = f"no artifact '{GITHUB_TOKEN}' for ada@example.com"
    assert redact_secrets(text) == "no artifact '[secret]' for ada@example.com"


semver = st.tuples(*[st.integers(0, 300)] * 3).map(lambda v: "v{}.{}.{}".format(*v))
four_part = st.tuples(*[st.integers(0, 255)] * 4).map(lambda v: "version {}.{}.{}.{}".format(*v))
iso_date = st.dates().map(lambda d: f"{d.isoformat()} and {d:%d.%m.%Y} and {d:%d/%m/%Y}")
sha = st.binary(min_size=20, max_size=20).map(lambda b: f"commit {b.hex()} ({b.hex()[:7]})")
github_id = st.integers(1, 10**10).map(lambda n: f"github_id {n}")
repo_url = st.from_regex(r"[a-z][a-z0-9-]{0,20}/[a-z][a-z0-9_.-]{0,20}", fullmatch=True).map(
    lambda repo: f"https://github.com/{repo} git@github.com:{repo}.git"
)


@given(st.one_of(semver, four_part, iso_date, sha, github_id, repo_url))
def test_generated_developer_text_is_never_personal_data(text: str) -> None:
    assert find_pii(text) == [], text


emails = st.from_regex(r"[a-z][a-z0-9._+-]{0,15}[a-z0-9]@[a-z][a-z0-9-]{0,10}\.(com|org|io|de|co\.uk)", fullmatch=True)
ipv4 = st.ip_addresses(v=4).filter(lambda a: not (a.is_loopback or a.is_unspecified or a.is_multicast)).map(str)
phones = st.tuples(st.sampled_from(["+49", "+33", "+44", "+1", "+34"]), st.integers(10, 999), st.integers(100000, 99999999)).map(
    lambda p: f"{p[0]} {p[1]} {p[2]}"
)


@given(st.sampled_from(["email", "ip", "phone"]), st.data())
def test_generated_personal_data_is_found_inside_prose(kind: str, data: Any) -> None:
    value = data.draw({"email": emails, "ip": ipv4, "phone": phones}[kind])
    text = f"Please reach {value} before Friday."
    assert [(f.kind, f.text) for f in find_pii(text)] == [(kind, value)]


@given(st.text(max_size=200))
def test_findings_never_overlap_on_arbitrary_text(text: str) -> None:
    findings = find_pii(text)
    assert all(a.end <= b.start for a, b in pairwise(findings))
    assert all(text[f.start : f.end] == f.text for f in findings)


def test_own_contact_data_is_not_reported() -> None:
    own = ["ACME GmbH, Hauptstraße 5, 10115 Berlin", "sales@acme.dev", "+49 30 1234567"]
    text = "Write to sales@acme.dev, call 030 1234567, visit Hauptstraße 5; or ask bob@other.org."
    assert [(f.kind, f.text) for f in personal_data_except(text, own)] == [("email", "bob@other.org")]
    assert set(PERSONAL_KINDS) == {"email", "phone", "address", "ip"}


SENDER_EMAIL = SETTINGS.model_copy(update={"cmo_sender_email": "sales@techflow.io"})
THIRD_PARTY_BODY = "Hi Alice,\n\nMy colleague Bob (bob@elsewhere.org, +44 20 7946 0958) suggested I write.\n"


def test_draft_quoting_someone_elses_contact_data_needs_review() -> None:
    draft = message()
    result = review(message=draft.model_copy(update={"body": THIRD_PARTY_BODY + draft.body}))
    assert result.verdict == "needs_review"
    assert "third_party_personal_data" in codes(result)
    reason = next(r for r in result.reasons if r.startswith("third_party_personal_data"))
    assert "email, phone" in reason and "bob@elsewhere.org" not in reason, "the reason must not repeat the data"


def test_sender_and_recipient_contact_data_in_a_draft_pass() -> None:
    """Alice's own address, the sender's configured email and the sender's postal address
    (500 Market St, in every footer) are not third-party data."""
    draft = message()
    body = "Reply to alice@fastgrad.dev or to us at sales@techflow.io.\n" + draft.body
    assert "500 Market St" in body
    result = review(settings=SENDER_EMAIL, message=draft.model_copy(update={"body": body}))
    assert "third_party_personal_data" in result.rules_checked
    assert "third_party_personal_data" not in codes(result), result.reasons
    assert "third_party_personal_data" in codes(review(message=draft.model_copy(update={"body": body})))


@pytest.mark.parametrize(
    "text",
    [
        "missing API key: send `Authorization: Bearer <key>` (create one with `cmo apikey create --tenant NAME`)",
        "Authorization: <your-key-here>",
        "header Authorization: Bearer ${CMO_KEY}",
    ],
)
def test_placeholders_in_help_texts_are_not_secrets(text: str) -> None:
    """Issue 14: the 401 help text came out as "send `Authorization: Bearer [secret] (create one ..."."""
    assert redact_secrets(text) == text


def test_real_authorization_values_are_still_redacted() -> None:
    assert redact_secrets("Authorization: Bearer abcdef1234567890xyz") == "Authorization: Bearer [secret]"
    assert redact_secrets("Authorization: Basic dXNlcjpwYXNz") == "Authorization: Basic [secret]"
