"""Zoho CRM, Marketo, Mailchimp, Klaviyo and ActiveCampaign over real HTTP against contract stubs
(tests/support/<platform>_stub.py, each citing the vendor reference it follows). One body for all
five: sync, re-sync without duplicates (also after an email change), conflicts under the policy,
rate limits and errors, pull of changes, erasure propagation, and the connection test."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from foundation.schemas import ComplianceReview, Prospect
from tests.support.activecampaign_stub import ActiveCampaignStub
from tests.support.destination_stubs import ContractStub
from tests.support.klaviyo_stub import KlaviyoStub
from tests.support.mailchimp_stub import AUDIENCE, MailchimpStub
from tests.support.marketo_stub import MarketoStub
from tests.support.zoho_stub import ZohoStub
from tools.destinations.base import Destination, DestinationContact
from tools.destinations.config import DestinationConfig
from tools.destinations.mapping import map_prospect
from tools.destinations.registry import Connector

LIST = "cmo ML maintainers"


@dataclass
class Platform:
    name: str
    stub: Callable[[], Any]
    connection: Callable[[Any, str], dict[str, Any]]  # stub, token -> base_url and options
    company_field: str
    pulled: str  # the kind the stub's bounce() shows up as
    erased: str

    def destination(self, stub: ContractStub, token: str | None = None) -> Destination:
        config = DestinationConfig(
            platform=self.name, token=token or stub.token, rate_limit_per_second=500, **self.connection(stub, token or stub.token)
        )
        return Connector(self.name)(config)  # the registry's lazy factory, as `cmo sync` builds it


def _zoho(stub: Any, token: str) -> dict[str, Any]:
    refresh = stub.refresh_token if token == stub.token else "revoked"
    return {
        "base_url": stub.url + "/crm/v6",
        "options": {"accounts_url": stub.url, "refresh_token": refresh, "client_id": "1000.X", "client_secret": "s"},
    }


PLATFORMS = [
    Platform("zoho", ZohoStub, _zoho, "Company", "lifecycle_stage", "deleted"),
    Platform(
        "marketo",
        MarketoStub,
        lambda s, t: {"base_url": s.url, "options": {"client_id": s.client_id, "folder_id": "12"}},
        "company",
        "bounced",
        "deleted",
    ),
    Platform(
        "mailchimp",
        MailchimpStub,
        lambda s, t: {"base_url": s.url + "/3.0", "options": {"audience_id": AUDIENCE}},
        "COMPANY",
        "bounced",
        "deleted",
    ),
    Platform("klaviyo", KlaviyoStub, lambda s, t: {"base_url": s.url}, "organization", "bounced", "gdpr_delete_requested"),
    Platform(
        "activecampaign",
        ActiveCampaignStub,
        lambda s, t: {"base_url": s.url, "options": {"sender_url": "https://techflow.dev"}},
        "COMPANY",
        "bounced",
        "deleted",
    ),
]


def _contact(platform: Platform, login: str, name: str, email: str | None, company: str) -> DestinationContact:
    prospect = Prospect(
        id=f"gh_{login}",
        username=login,
        name=name,
        email=email,
        company=company,
        score=0.8,
        compliance=ComplianceReview(verdict="approved", lawful_basis="legitimate_interest"),
    )
    return map_prospect(prospect, Connector(platform.name).default_mapping())


def _outcomes(report: Any) -> dict[str, str]:
    return {r.prospect_id: r.outcome for r in report.results}


def _result(report: Any, prospect_id: str) -> Any:
    return next(r for r in report.results if r.prospect_id == prospect_id)


@pytest.mark.parametrize("platform", PLATFORMS, ids=[p.name for p in PLATFORMS])
def test_sync_resync_pull_and_forget(platform: Platform) -> None:
    with platform.stub() as stub:
        destination = platform.destination(stub)
        assert destination.test_connection().ok
        assert not platform.destination(stub, token="wrong-token").test_connection().ok
        since = datetime.now(UTC) - timedelta(seconds=2)
        ada = _contact(platform, "ada", "Ada Lovelace", "ada@example.org", "Analytical")
        bob = _contact(platform, "bob", "Bob Kahn", "bob@example.net", "Internet")
        bad = _contact(platform, "rej", "Rex Reject", "reject@example.com", "Nope")
        noemail = _contact(platform, "ghost", "No Mail", None, "Ghosts")

        # first sync: a 429 with Retry-After is waited out; the refused record fails alone
        stub.fail_next(1, status=429, headers={"Retry-After": "0"})
        report = destination.push([ada, bob, bad, noemail], list_name=LIST, policy="fill_blanks")
        outcomes = _outcomes(report)
        assert outcomes["gh_ada"] == outcomes["gh_bob"] == "created", report
        assert outcomes["gh_rej"] == "failed" and _result(report, "gh_rej").detail
        assert outcomes["gh_ghost"] in ("skipped", "created")  # a CRM lead needs no email
        people = stub.count()
        remote_ids = {r.prospect_id: r.remote_id for r in report.results}
        assert report.list_id and {remote_ids["gh_ada"], remote_ids["gh_bob"]} <= stub.in_list(report.list_id)

        # re-sync: nothing new, nothing written (a 503 on the way is retried)
        stub.fail_next(1, status=503, headers={})
        before_resync = len(stub.requests)
        again = destination.push([ada, bob], list_name=LIST, policy="fill_blanks")
        assert not [
            r for r in stub.requests[before_resync:] if r.method in ("PUT", "PATCH", "DELETE") or r.path.endswith("/tags")
        ]
        assert _outcomes(again) == {"gh_ada": "unchanged", "gh_bob": "unchanged"}, again
        assert again.list_id == report.list_id and stub.count() == people

        # the same person under a new email is found by the GitHub URL field, not created again
        moved = ada.model_copy(
            update={
                "email": "ada@new.example",
                "fields": {k: ("ada@new.example" if v == "ada@example.org" else v) for k, v in ada.fields.items()},
            }
        )
        found = destination.push([moved], list_name=None, policy="fill_blanks").results[0]
        assert found.remote_id == remote_ids["gh_ada"] and found.conflicts, found  # the email differs: theirs kept
        assert stub.count() == people

        # conflicts: fill_blanks keeps theirs and says so; ours_wins overwrites and says so
        stub.seed("carol@example.com", "https://github.com/carol", "Theirs Inc")
        carol = _contact(platform, "carol", "Carol Shaw", "carol@example.com", "Ours Ltd")
        kept = destination.push([carol], list_name=None, policy="fill_blanks").results[0]
        assert kept.conflicts[platform.company_field] == ("Ours Ltd", "Theirs Inc"), kept  # blanks were filled
        theirs = destination.push([carol], list_name=None, policy="theirs_wins").results[0]
        assert theirs.outcome == "conflict" and platform.company_field in theirs.conflicts
        overwritten = destination.push([carol], list_name=None, policy="ours_wins").results[0]
        assert overwritten.outcome == "updated" and platform.company_field in overwritten.detail, overwritten
        assert destination.push([carol], list_name=None, policy="fill_blanks").results[0].outcome == "unchanged"

        # pull: an unsubscribe and a bounce (Zoho: a status change) come back
        stub.unsubscribe("ada@example.org")
        stub.bounce("bob@example.net")
        pulled = {(str(c.email).lower(), c.kind) for c in destination.pull_changes(since)}
        assert {("ada@example.org", "unsubscribed"), ("bob@example.net", platform.pulled)} <= pulled, pulled

        # erasure propagates; a second request finds nothing
        before = stub.count()
        erased = destination.forget(email="ada@example.org", github_url=ada.github_url, prospect_id="gh_ada")
        assert erased.outcome == platform.erased and erased.remote_ids == [remote_ids["gh_ada"]], erased
        assert not stub.has("ada@example.org") and stub.count() == before - 1
        assert destination.forget(email="ada@example.org", github_url=ada.github_url, prospect_id="gh_ada").outcome == "not_found"


@pytest.mark.parametrize("platform", PLATFORMS, ids=[p.name for p in PLATFORMS])
def test_a_refused_request_fails_the_batch_and_is_reported(platform: Platform) -> None:
    with platform.stub() as stub:
        destination = platform.destination(stub)
        destination.test_connection()  # Marketo: the access token is fetched here
        stub.fail_next(1, status=400, headers={}, body={"message": "Bad request"})
        report = destination.push(
            [_contact(platform, "ada", "Ada Lovelace", "ada@example.org", "Analytical")], list_name=None, policy="fill_blanks"
        )
        assert report.results[0].outcome == "failed" and "400" in report.results[0].detail
        assert stub.count() == 0


def test_zoho_refreshes_an_expired_access_token() -> None:
    platform = PLATFORMS[0]
    with ZohoStub() as stub:
        destination = platform.destination(stub)
        stub.token = "rotated-by-zoho"  # the old access token expired
        assert destination.test_connection().ok
        assert stub.calls("POST", r"/oauth/v2/token")


def test_marketo_waits_out_its_in_body_rate_limit() -> None:
    platform = PLATFORMS[1]
    with MarketoStub() as stub:
        destination = platform.destination(stub)
        stub.rate_limited = 2  # HTTP 200 with error 606, twice
        assert destination.test_connection().ok
        assert len(stub.calls("GET", r"/rest/v1/leads/describe\.json")) == 3


@pytest.mark.parametrize("platform", PLATFORMS, ids=[p.name for p in PLATFORMS])
def test_pull_follows_every_page(platform: Platform) -> None:
    """The stubs serve two items a page: five unsubscribes take three pages on every platform."""
    with platform.stub() as stub:
        destination = platform.destination(stub)
        since = datetime.now(UTC) - timedelta(seconds=2)
        emails = [f"dev{i}@example.org" for i in range(5)]
        for i, email in enumerate(emails):
            stub.seed(email, f"https://github.com/dev{i}", "Acme")
            stub.unsubscribe(email)
        pulled = {str(c.email) for c in destination.pull_changes(since) if c.kind == "unsubscribed"}
        assert pulled == set(emails)


def test_mailchimp_never_resubscribes_an_unsubscribed_member() -> None:
    platform = PLATFORMS[2]
    with MailchimpStub() as stub:
        destination = platform.destination(stub)
        stub.seed("ada@example.org", "https://github.com/ada", "Old Co")
        stub.unsubscribe("ada@example.org")
        ada = _contact(platform, "ada", "Ada Lovelace", "ada@example.org", "Analytical")
        assert destination.push([ada], list_name=None, policy="ours_wins").results[0].outcome == "updated"
        (put,) = stub.calls("PATCH", r"/3\.0/lists/\w+/members/[0-9a-f]{32}")
        assert "status" not in put.body and put.body["merge_fields"]["COMPANY"] == "Analytical"
        assert stub.members[put.path.rsplit("/", 1)[1]]["status"] == "unsubscribed"


def test_klaviyo_sdk_calls_honour_retry_after() -> None:
    """The SDK path (ApiException, read by http.classify_sdk_error) waits as long as Klaviyo says."""
    with KlaviyoStub() as stub:
        destination = PLATFORMS[3].destination(stub)
        stub.fail_next(1, status=429, headers={"Retry-After": "1"})
        started = time.monotonic()
        assert destination.test_connection().ok
        assert time.monotonic() - started >= 1.0 and len(stub.calls("GET", r"/api/accounts")) == 2


def test_a_refused_list_call_keeps_the_records_results() -> None:
    """Marketo cannot create a static list without a folder: the leads are still reported created."""
    with MarketoStub() as stub:
        config = DestinationConfig(platform="marketo", base_url=stub.url, token=stub.token, options={"client_id": stub.client_id})
        destination = Connector("marketo")(config)
        ada = _contact(PLATFORMS[1], "ada", "Ada Lovelace", "ada@example.org", "Analytical")
        report = destination.push([ada], list_name="new list", policy="fill_blanks")
        assert report.results[0].outcome == "created" and "folder_id" in report.results[0].detail
        assert report.list_id is None and stub.count() == 1


def test_marketo_long_lookups_go_as_post_method_get() -> None:
    """300 addresses pass Marketo's 8 KB URL limit: the lookup is a POST ?_method=GET with a form body."""
    platform = PLATFORMS[1]
    with MarketoStub() as stub:
        options = {"client_id": stub.client_id}
        config = DestinationConfig(
            platform="marketo", base_url=stub.url, token=stub.token, batch_size=300, rate_limit_per_second=500, options=options
        )
        destination = Connector("marketo")(config)
        contacts = [
            _contact(platform, f"dev{i}", f"Dev Number{i}", f"developer.number.{i}@example-company.org", "Acme")
            for i in range(300)
        ]
        report = destination.push(contacts, list_name=None, policy="fill_blanks")
        assert {r.outcome for r in report.results} == {"created"} and stub.count() == 300
        lookups = stub.calls("POST", r"/rest/v1/leads\.json")
        assert any(r.query.get("_method") == "GET" and "filterValues" in r.body for r in lookups)


def test_activecampaign_never_resubscribes_a_contact_to_a_list() -> None:
    """`contactLists` status 1 would re-activate an unsubscribed contact: members already on the list are left alone."""
    platform = PLATFORMS[4]
    with ActiveCampaignStub() as stub:
        destination = platform.destination(stub)
        ada = _contact(platform, "ada", "Ada Lovelace", "ada@example.org", "Analytical")
        destination.push([ada], list_name=LIST, policy="fill_blanks")
        stub.unsubscribe("ada@example.org")
        assert destination.push([ada], list_name=LIST, policy="fill_blanks").results[0].outcome == "unchanged"
        assert len(stub.calls("POST", r"/api/3/contactLists")) == 1


def test_activecampaign_creates_no_list_without_the_senders_website() -> None:
    """A new list needs `sender_url`, shown to its subscribers: no placeholder is invented for it."""
    with ActiveCampaignStub() as stub:
        config = DestinationConfig(platform="activecampaign", token=stub.token, base_url=stub.url, rate_limit_per_second=500)
        destination = Connector("activecampaign")(config)
        ada = _contact(PLATFORMS[4], "ada", "Ada Lovelace", "ada@example.org", "Analytical")
        report = destination.push([ada], list_name=LIST, policy="fill_blanks")
        assert not stub.calls("POST", r"/api/3/lists")
        assert "sender_url" in json.dumps(report.model_dump(mode="json")), report
