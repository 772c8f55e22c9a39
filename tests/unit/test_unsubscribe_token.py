"""Opt-out tokens and the drafts that carry them: a token names exactly one tenant's recipient, any
change to it (or another key) makes it unknown, junk never raises anything else, the signing key is
generated in the embedded mode and required with Postgres, and every draft carries its recipient's
link in the body and in the `List-Unsubscribe` headers."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from agents.compliance import review_prospect
from agents.copy_templates import opt_out_headers, sender_identity
from agents.copywriter import draft_from_template
from foundation.settings import Settings
from privacy.optout import (
    SECRET_FILE,
    InvalidToken,
    Recipient,
    UnsubscribeNotConfigured,
    link_signer,
    sign_token,
    unsubscribe_key,
    verify_token,
)
from tests.unit.test_copywriter import CAMPAIGN, SETTINGS, alice
from tools.suppression import SuppressionList

KEY = b"k" * 32
ALICE = Recipient(tenant_id="ten_a", prospect_id="gh_alice", github_id=1001)
PUBLIC = SETTINGS.model_copy(update={"cmo_public_url": "https://cmo.techflow.io/", "cmo_unsubscribe_secret": SecretStr("s" * 32)})
ONE_CLICK = "List-Unsubscribe=One-Click"


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _forge(token: str, **claims: object) -> str:
    """The token's MAC on a payload with other claims."""
    payload = base64.urlsafe_b64encode(json.dumps(_claims(token) | claims).encode()).rstrip(b"=").decode()
    return f"{payload}.{token.split('.')[1]}"


def test_a_token_round_trips_to_its_recipient_and_is_url_safe() -> None:
    token = sign_token(KEY, ALICE)
    assert verify_token(KEY, token) == ALICE
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert verify_token(KEY, sign_token(KEY, ALICE.model_copy(update={"github_id": None}))).github_id is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: _forge(t, t="ten_b"),  # another tenant under the same MAC
        lambda t: _forge(t, p="gh_bob"),
        lambda t: _forge(t, g=1002),
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # the MAC changed
        lambda t: ("B" if t[0] != "B" else "C") + t[1:],  # the payload changed
        lambda t: t.split(".")[0],  # no MAC
        lambda t: t + ".x",
    ],
)
def test_any_change_makes_a_token_unknown(tamper: object) -> None:
    token = sign_token(KEY, ALICE)
    with pytest.raises(InvalidToken):
        verify_token(KEY, tamper(token))  # type: ignore[operator]


def test_another_deployments_key_does_not_verify() -> None:
    with pytest.raises(InvalidToken):
        verify_token(b"another key of 32 bytes........", sign_token(KEY, ALICE))


def test_a_token_of_one_tenant_names_only_that_tenant() -> None:
    for_a, for_b = sign_token(KEY, ALICE), sign_token(KEY, ALICE.model_copy(update={"tenant_id": "ten_b"}))
    assert for_a != for_b
    assert verify_token(KEY, for_a).tenant_id == "ten_a" and verify_token(KEY, for_b).tenant_id == "ten_b"


@given(st.text(max_size=600))
def test_junk_is_always_an_unknown_token(junk: str) -> None:
    with pytest.raises(InvalidToken):
        verify_token(KEY, junk)


def test_the_link_holds_no_email_and_names_the_recipient() -> None:
    signer = link_signer(PUBLIC, "ten_a")
    assert signer is not None
    url = signer.url(alice())
    assert url.startswith("https://cmo.techflow.io/unsubscribe/")
    token = url.rsplit("/", 1)[1]
    assert "alice@fastgrad.dev" not in json.dumps(_claims(token))
    assert verify_token(PUBLIC.cmo_unsubscribe_secret.get_secret_value().encode(), token) == ALICE  # type: ignore[union-attr]


def test_links_need_a_public_url_and_a_tenant() -> None:
    assert link_signer(SETTINGS, "ten_a") is None, "no CMO_PUBLIC_URL: the configured opt-out base is used"
    assert link_signer(PUBLIC, None) is None, "a CLI run has no tenant to record an objection for"


def test_the_embedded_mode_generates_one_private_secret(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, cmo_home=tmp_path / "home")
    key = unsubscribe_key(settings)
    assert len(key) >= 32 and unsubscribe_key(settings) == key
    assert stat.S_IMODE((tmp_path / "home" / SECRET_FILE).stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "home").iterdir()] == [SECRET_FILE], "no scratch file left behind"


def test_postgres_deployments_must_set_the_secret(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, cmo_home=tmp_path, database_url="postgresql://db.internal/cmo")
    with pytest.raises(UnsubscribeNotConfigured, match="CMO_UNSUBSCRIBE_SECRET"):
        unsubscribe_key(settings)
    configured = settings.model_copy(update={"cmo_unsubscribe_secret": PUBLIC.cmo_unsubscribe_secret})
    assert unsubscribe_key(configured) == b"s" * 32


def test_a_service_draft_carries_its_one_click_link_and_both_headers() -> None:
    prospect = alice()
    draft = draft_from_template(prospect, CAMPAIGN, "A", PUBLIC, tenant_id="ten_a")
    url = draft.headers["List-Unsubscribe"].strip("<>")
    assert url.startswith("https://cmo.techflow.io/unsubscribe/") and draft.headers["List-Unsubscribe-Post"] == ONE_CLICK
    assert f"To opt out of all further messages: {url}" in draft.body
    other = draft_from_template(alice(id="gh_bob", username="bob", github_id=7), CAMPAIGN, "A", PUBLIC, tenant_id="ten_a")
    assert other.headers["List-Unsubscribe"] != draft.headers["List-Unsubscribe"], "one link per recipient"
    review = review_prospect(prospect.model_copy(update={"message": draft}), CAMPAIGN, SuppressionList.empty(), PUBLIC)
    assert review.verdict == "approved", review.reasons


@pytest.mark.parametrize("tenant_id", [None, "ten_a"])
def test_without_our_link_the_configured_base_is_used_without_a_one_click_claim(tenant_id: str | None) -> None:
    settings = SETTINGS if tenant_id else PUBLIC  # a service job without CMO_PUBLIC_URL, or a CLI run
    draft = draft_from_template(alice(), CAMPAIGN, "A", settings, tenant_id=tenant_id)
    assert draft.headers == {"List-Unsubscribe": "<https://optout.techflow.io/u?u=gh_alice>"}
    assert "https://optout.techflow.io/u?u=gh_alice" in draft.body


def test_a_campaigns_own_opt_out_url_wins() -> None:
    campaign = CAMPAIGN.model_copy(
        update={"messaging": CAMPAIGN.messaging.model_copy(update={"unsubscribe_url": "https://acme.io/optout"})}
    )
    sender = sender_identity(campaign, PUBLIC, "ten_a")
    assert sender.signer is None
    assert opt_out_headers(alice(), sender) == {"List-Unsubscribe": "<https://acme.io/optout?u=gh_alice>"}


def test_a_local_public_url_is_flagged_as_an_opt_out_that_cannot_work() -> None:
    local = PUBLIC.model_copy(update={"cmo_public_url": "http://localhost:8000"})
    prospect = alice()
    draft = draft_from_template(prospect, CAMPAIGN, "A", local, tenant_id="ten_a")
    review = review_prospect(prospect.model_copy(update={"message": draft}), CAMPAIGN, SuppressionList.empty(), local)
    assert review.verdict == "needs_review"
    assert [r.split(":", 1)[0] for r in review.reasons] == ["placeholder_unsubscribe_url"]
    assert "localhost is the sender's own machine (RFC 6761)" in review.reasons[0], "the flag says why"
