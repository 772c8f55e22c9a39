"""Each CRM connector over real HTTP against its vendor contract stub: a sync, a re-sync without
duplicates, conflicts by policy, per-record failures, 429s with Retry-After, pagination, pulled
changes and erasure. One body, parametrised over the connectors."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from foundation.schemas import ComplianceReview, Evidence, Prospect, Signal
from tests.support.destination_stubs import ContractStub
from tests.support.hubspot_stub import HubSpotStub
from tests.support.pipedrive_stub import PipedriveStub
from tests.support.salesforce_stub import SalesforceStub
from tests.support.smtp import self_signed
from tools.destinations.base import Destination
from tools.destinations.config import DestinationConfig
from tools.destinations.mapping import map_prospect
from tools.destinations.registry import build, mapping_for


@dataclass
class Driver:
    """What the shared body needs to do to a vendor's stub besides calling the connector."""

    platform: str
    stub: ContractStub
    count: Callable[[], int]
    seed: Callable[[str, str, str], str]  # (email, github_url, company) -> remote id of a record made by a person
    company_of: Callable[[str], str | None]
    mark_stage: Callable[[str, str], None]
    mark_unsubscribed: Callable[[str], None]
    exists: Callable[[str], bool]
    refuse: Callable[[str], None]  # make writes of this login's record fail
    options: dict[str, str]


def _hubspot() -> Driver:
    stub = HubSpotStub()

    def seed(email: str, url: str, company: str) -> str:
        return stub.add_contact(email=email, github_url=url, company=company)

    def stage(rid: str, value: str) -> None:
        stub.add_deal(rid, value)  # a deal in that stage, associated with the contact

    def unsubscribe(rid: str) -> None:
        stub._write(rid, {"hs_email_optout": "true"})

    def refuse(login: str) -> None:
        stub.refuse_github_url = f"https://github.com/{login}"

    return Driver(
        "hubspot",
        stub,
        count=lambda: len(stub.contacts),
        seed=seed,
        company_of=lambda rid: stub.contacts[rid]["properties"].get("company"),
        mark_stage=stage,
        mark_unsubscribed=unsubscribe,
        exists=lambda rid: rid in stub.contacts,
        refuse=refuse,
        options={},
    )


def _pipedrive() -> Driver:
    stub = PipedriveStub()

    def seed(email: str, url: str, company: str) -> str:
        custom = {k: v for k, v in (("github_url", url), ("cmo_company", company)) if v}
        return str(stub.add_person("Someone Else", email or None, **custom))

    def stage(rid: str, value: str) -> None:
        stub.stages[99] = value
        stub.add_deal(int(rid), 99)

    def refuse(login: str) -> None:
        stub.refuse_github_url = f"https://github.com/{login}"

    return Driver(
        "pipedrive",
        stub,
        count=lambda: len(stub.persons),
        seed=seed,
        company_of=lambda rid: stub.persons[int(rid)]["custom_fields"].get("cmo_company"),
        mark_stage=stage,
        mark_unsubscribed=lambda rid: stub.touch(int(rid), marketing_status="unsubscribed"),
        exists=lambda rid: int(rid) in stub.persons,
        refuse=refuse,
        options={},
    )


def _salesforce(tmp: Path) -> Driver:
    context, cert = self_signed(tmp)
    stub = SalesforceStub(context)
    leads = stub.objects["Lead"]

    def seed(email: str, url: str, company: str) -> str:
        return stub.insert("Lead", LastName="Else", Email=email or None, GitHub_URL__c=url or None, Company=company or None)

    def stage(rid: str, value: str) -> None:
        opportunity = stub.insert("Opportunity", StageName=value)
        stub.touch("Lead", rid, ConvertedOpportunityId=opportunity)

    def refuse(login: str) -> None:
        stub.refuse_github_url = f"https://github.com/{login}"

    return Driver(
        "salesforce",
        stub,
        count=lambda: len(leads),
        seed=seed,
        company_of=lambda rid: leads[rid].get("Company"),
        mark_stage=stage,
        mark_unsubscribed=lambda rid: stub.touch("Lead", rid, HasOptedOutOfEmail=True),
        exists=lambda rid: rid in leads,
        refuse=refuse,
        options={"ca_file": str(cert)},
    )


DRIVERS: dict[str, Callable[[Path], Driver]] = {
    "hubspot": lambda _: _hubspot(),
    "pipedrive": lambda _: _pipedrive(),
    "salesforce": _salesforce,
}


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    made = DRIVERS[request.param](tmp_path)
    with made.stub:
        yield made


def _destination(driver: Driver, **overrides: Any) -> Destination:
    config = DestinationConfig(
        platform=driver.platform,
        base_url=driver.stub.url,
        token="test-token",
        rate_limit_per_second=200,
        options=driver.options,
        **overrides,
    )
    return build(config)


def _prospects(count: int) -> list[Prospect]:
    return [
        Prospect(
            id=f"gh_dev{i}",
            username=f"dev{i}",
            name=f"Dev Number{i}",
            email=f"dev{i}@example.org" if i % 4 else None,
            company="Acme",
            location="Berlin",
            score=round(0.5 + (i % 50) / 100, 2),
            signals=[Signal(name="active_maintainer", evidence=[Evidence(kind="commits", repo=f"dev{i}/x", count=i)])],
            compliance=ComplianceReview(verdict="approved", lawful_basis="legitimate_interest"),
        )
        for i in range(count)
    ]


def _contacts(driver: Driver, prospects: list[Prospect]) -> list[Any]:
    config = DestinationConfig(platform=driver.platform, token="x")
    return [map_prospect(p, mapping_for(config)) for p in prospects]


def test_sync_then_resync_creates_no_duplicates(driver: Driver) -> None:
    destination = _destination(driver, batch_size=5)
    contacts = _contacts(driver, _prospects(12))
    first = destination.push(contacts, list_name="cmo test", policy="fill_blanks")
    assert [r.outcome for r in first.results] == ["created"] * 12, first.results
    assert driver.count() == 12
    assert first.list_id or driver.platform == "pipedrive"  # Pipedrive has no contact lists
    second = destination.push(contacts, list_name="cmo test", policy="fill_blanks")
    assert {r.outcome for r in second.results} == {"unchanged"}
    assert driver.count() == 12
    assert [r.remote_id for r in first.results] == [r.remote_id for r in second.results]


def test_duplicate_searches_and_pulls_read_every_page(driver: Driver) -> None:
    driver.stub.page_cap = 2  # the vendor answers two records a page: every search and pull must follow the cursor
    since = datetime.now(UTC) - timedelta(minutes=1)
    destination = _destination(driver)
    contacts = _contacts(driver, _prospects(7))
    first = destination.push(contacts, list_name=None, policy="fill_blanks")
    assert {r.outcome for r in first.results} == {"created"}
    assert {r.outcome for r in destination.push(contacts, list_name=None, policy="fill_blanks").results} == {"unchanged"}
    assert driver.count() == 7
    for result in first.results[:5]:
        driver.mark_unsubscribed(result.remote_id or "")
    assert len([c for c in destination.pull_changes(since) if c.kind == "unsubscribed"]) == 5


def test_existing_records_are_found_by_email_or_github_url_and_conflicts_follow_the_policy(driver: Driver) -> None:
    prospects = _prospects(3)
    by_email = driver.seed("dev1@example.org", "", "Globex")
    by_url = driver.seed("", "https://github.com/dev2", "")
    contacts = _contacts(driver, prospects)
    report = _destination(driver).push(contacts, list_name=None, policy="fill_blanks")
    outcomes = {r.prospect_id: r for r in report.results}
    assert driver.count() == 3  # dev0 new; dev1 and dev2 matched
    assert outcomes["gh_dev1"].remote_id == by_email and outcomes["gh_dev2"].remote_id == by_url
    assert any(ours == "Acme" and theirs == "Globex" for ours, theirs in outcomes["gh_dev1"].conflicts.values())
    assert driver.company_of(by_email) == "Globex"  # fill_blanks kept theirs...
    assert driver.company_of(by_url) == "Acme"  # ...and filled the blank
    theirs = _destination(driver).push(contacts, list_name=None, policy="theirs_wins")
    assert {r.prospect_id: r.outcome for r in theirs.results}["gh_dev1"] == "conflict"
    ours = _destination(driver).push(contacts, list_name=None, policy="ours_wins")
    row = {r.prospect_id: r for r in ours.results}["gh_dev1"]
    assert row.outcome == "updated" and "overwrote" in row.detail
    assert driver.company_of(by_email) == "Acme"


def test_a_refused_record_fails_alone(driver: Driver) -> None:
    driver.refuse("dev2")
    report = _destination(driver).push(_contacts(driver, _prospects(4)), list_name=None, policy="fill_blanks")
    outcomes = {r.prospect_id: r for r in report.results}
    assert outcomes["gh_dev2"].outcome == "failed" and outcomes["gh_dev2"].detail
    assert [outcomes[f"gh_dev{i}"].outcome for i in (0, 1, 3)] == ["created"] * 3


def test_rate_limits_are_waited_out(driver: Driver) -> None:
    driver.stub.fail_next(2, status=429, headers={"Retry-After": "1"})
    started = time.monotonic()
    report = _destination(driver).push(_contacts(driver, _prospects(2)), list_name=None, policy="fill_blanks")
    assert [r.outcome for r in report.results] == ["created", "created"]
    assert time.monotonic() - started >= 2.0  # each refusal's Retry-After was honoured


def test_pull_changes_and_forget(driver: Driver) -> None:
    destination = _destination(driver)
    since = datetime.now(UTC) - timedelta(minutes=1)
    report = destination.push(_contacts(driver, _prospects(3)), list_name=None, policy="fill_blanks")
    ids = {r.prospect_id: r.remote_id or "" for r in report.results}
    driver.mark_stage(ids["gh_dev1"], "opportunity")
    driver.mark_unsubscribed(ids["gh_dev2"])
    changes = destination.pull_changes(since)
    kinds = {(c.remote_id, c.kind) for c in changes}
    assert (ids["gh_dev2"], "unsubscribed") in kinds
    assert any(c.remote_id == ids["gh_dev1"] and c.value == "opportunity" for c in changes)
    assert any(c.github_url == "https://github.com/dev2" for c in changes if c.kind == "unsubscribed")
    gone = destination.forget(email="dev1@example.org", github_url="https://github.com/dev1", prospect_id="gh_dev1")
    assert gone.outcome in ("deleted", "gdpr_delete_requested") and gone.remote_ids == [ids["gh_dev1"]]
    assert not driver.exists(ids["gh_dev1"]) and driver.exists(ids["gh_dev2"])
    again = destination.forget(email="dev1@example.org", github_url="https://github.com/dev1", prospect_id="gh_dev1")
    assert again.outcome == "not_found"


def test_connection_test_tells_good_from_bad_credentials(driver: Driver) -> None:
    assert _destination(driver).test_connection().ok
    bad = DestinationConfig(platform=driver.platform, base_url=driver.stub.url, token="wrong", options=driver.options)
    assert not build(bad).test_connection().ok


def test_salesforce_contacts_instead_of_leads(tmp_path: Path) -> None:
    context, cert = self_signed(tmp_path)
    with SalesforceStub(context) as stub:
        config = DestinationConfig(
            platform="salesforce",
            base_url=stub.url,
            token="test-token",
            list_name="cmo",
            options={"object": "Contact", "ca_file": str(cert)},
        )
        destination = build(config)
        contacts = _contacts(Driver("salesforce", stub, *([None] * 7), {}), _prospects(3))  # type: ignore[arg-type]
        report = destination.push(contacts, list_name="cmo", policy="fill_blanks")
        assert [r.outcome for r in report.results] == ["created"] * 3
        assert {r.outcome for r in destination.push(contacts, list_name="cmo", policy="fill_blanks").results} == {"unchanged"}
        assert len(stub.objects["Contact"]) == 3 and not stub.objects["Lead"]
        assert all("Company" not in c for c in stub.objects["Contact"].values())  # a Contact has no Company field
        assert {m["ContactId"] for m in stub.objects["CampaignMember"].values()} == set(stub.objects["Contact"])
