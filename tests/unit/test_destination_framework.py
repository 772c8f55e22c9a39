"""The destinations framework: the mapping sends only what it names, configs read tokens from the
environment, and the HTTP helper honours Retry-After and backoff over real HTTP (a contract stub)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from foundation.schemas import ComplianceReview, Evidence, Prospect, Signal
from tests.support.destination_stubs import ContractStub, Reply, StubRequest, paginate, route
from tools.destinations.base import DestinationContact
from tools.destinations.config import DestinationConfigError, load_config, load_configs
from tools.destinations.crm import BatchOutcome, RemoteRecord, Write, push_records
from tools.destinations.http import DestinationHTTP, VendorHTTPError, batched, retry_after_seconds
from tools.destinations.mapping import FieldMapping, map_prospect


def _prospect() -> Prospect:
    return Prospect(
        id="gh_ada",
        username="ada",
        name="Ada Byron Lovelace",
        email="ada@example.org",
        company="Analytical",
        location="London",
        bio="private bio never leaves",
        score=0.87,
        score_explanation="owner of ada/engine (120 commits)",
        signals=[Signal(name="active_maintainer", evidence=[Evidence(kind="commits", repo="ada/engine", count=120)])],
        compliance=ComplianceReview(verdict="approved", lawful_basis="legitimate_interest"),
    )


def test_mapping_sends_only_what_it_names() -> None:
    mapping = FieldMapping(fields={"firstname": "first_name", "lastname": "last_name"}, custom={"gh": "github_url"})
    contact = map_prospect(_prospect(), mapping)
    assert contact.fields == {"firstname": "Ada Byron", "lastname": "Lovelace"}
    assert contact.custom == {"gh": "https://github.com/ada"}
    assert contact.email is None  # not mapped: not even the duplicate search sees it
    assert "private bio" not in contact.model_dump_json()


def test_mapping_renders_every_source_and_drops_empty_values() -> None:
    sources = ["name", "email", "company", "score", "signals", "evidence_summary", "lawful_basis", "verdict", "source", "country"]
    contact = map_prospect(_prospect(), FieldMapping(custom={s: s for s in sources}))  # type: ignore[misc]
    assert contact.email == "ada@example.org"
    assert contact.custom["score"] == 0.87 and contact.custom["signals"] == "active_maintainer"
    assert contact.custom["lawful_basis"] == "legitimate_interest" and contact.custom["verdict"] == "approved"
    assert "country" not in contact.custom  # None is never sent (it would blank the vendor's value)


@pytest.mark.parametrize(
    ("profile", "sent"),
    [
        ("@acme", "acme"),
        ("Acme, Inc.", "Acme, Inc."),
        ("@acme-corp @foo", "acme-corp foo"),
        ("a@b.io", None),  # an address, not a company
        (" @ ", None),
        ('=HYPERLINK("http://evil")', None),  # hostile: it would land in the vendor's merge fields, so in emails
        ("", None),
    ],
)
def test_mapping_sends_the_company_as_a_name(profile: str, sent: str | None) -> None:
    """A GitHub company field mentions an org ("@acme"); a CRM wants its name, otherwise as written,
    and nothing a draft could not quote."""
    contact = map_prospect(_prospect().model_copy(update={"company": profile}), FieldMapping(fields={"company": "company"}))
    assert contact.fields.get("company") == sent


def test_mapping_sends_no_hostile_name() -> None:
    hostile = _prospect().model_copy(update={"name": "=cmd|' /C calc'!A0 <b>x</b>"})
    contact = map_prospect(hostile, FieldMapping(fields={"n": "name", "f": "first_name", "l": "last_name"}))
    assert contact.fields == {"n": "ada", "l": "ada"}  # the login stands in, as for a profile without a name


def test_mapping_rejects_unknown_sources() -> None:
    with pytest.raises(ValueError):
        FieldMapping.model_validate({"fields": {"x": "bio"}})


def test_config_files_env_tokens_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    many = tmp_path / "d.yaml"
    many.write_text("destinations:\n  crm:\n    platform: hubspot\n    token: env:CMO_T\n  pd:\n    platform: pipedrive\n")
    assert sorted(load_configs(many)) == ["crm", "pd"]
    config = load_config(many, "crm")
    assert config.label == "crm"
    with pytest.raises(DestinationConfigError, match="CMO_T is not set"):
        config.resolved_token()
    monkeypatch.setenv("CMO_T", "secret")
    assert config.resolved_token() == "secret"
    with pytest.raises(DestinationConfigError, match="no destination 'nope'"):
        load_config(many, "nope")
    one = tmp_path / "one.json"
    one.write_text('{"platform": "pipedrive", "token": "x", "batch_size": 0}')
    with pytest.raises(DestinationConfigError, match="batch_size"):
        load_configs(one)


def test_retry_after_reads_seconds_and_dates() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=10), usegmt=True), now) == 10.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_batched() -> None:
    assert [len(b) for b in batched(list(range(7)), 3)] == [3, 3, 1]


class _Echo(ContractStub):
    @route("GET", r"/items")
    def items(self, request: StubRequest) -> Reply:
        page = paginate(list(range(5)), request.query.get("after"), 2)
        return 200, {"results": page.items, "next": page.next_cursor}

    @route("POST", r"/bad")
    def bad(self, request: StubRequest) -> Reply:
        return 400, {"message": "Property values were not valid"}


def test_http_helper_honours_retry_after_and_reports_vendor_errors() -> None:
    with _Echo() as stub:
        client = DestinationHTTP(stub.url, headers={"Authorization": "Bearer test-token"}, rate_limit_per_second=50)
        stub.fail_next(1, status=429, headers={"Retry-After": "1"})
        started = time.monotonic()
        assert client.request("GET", "/items").json() == {"results": [0, 1], "next": "2"}
        assert time.monotonic() - started >= 1.0  # waited as told
        stub.fail_next(2, status=503, headers={})  # backoff without Retry-After
        assert client.request("GET", "/items", params={"after": "4"}).json() == {"results": [4], "next": None}
        with pytest.raises(VendorHTTPError, match="Property values were not valid") as refused:
            client.request("POST", "/bad", json={})
        assert refused.value.status == 400
        assert len(stub.calls("POST", "/bad")) == 1  # a 400 is not retried
        stub.fail_next(9, status=429, headers={"Retry-After": "0"})
        with pytest.raises(VendorHTTPError) as spent:
            client.request("GET", "/items")
        assert spent.value.status == 429
        client.close()


def test_stub_refuses_wrong_credentials() -> None:
    with _Echo() as stub:
        client = DestinationHTTP(stub.url, headers={"Authorization": "Bearer wrong"}, rate_limit_per_second=50)
        with pytest.raises(VendorHTTPError) as refused:
            client.request("GET", "/items")
        assert refused.value.status == 401


def test_cmo_schema_prints_the_destination_and_mapping_schemas() -> None:
    import json

    from typer.testing import CliRunner

    from cli.main import app

    result = CliRunner().invoke(app, ["schema", "mapping"])
    assert result.exit_code == 0
    schema = json.loads(result.output)["mapping"]
    assert "github_url" in json.dumps(schema) and "bio" not in json.dumps(schema)
    assert "conflict_policy" in CliRunner().invoke(app, ["schema", "destination"]).output


class _RefusesLists:
    """A CRM that creates every record and then refuses the list call (a Salesforce campaign that
    rejects members, a HubSpot list error): the pushed results must survive it."""

    max_batch = 10

    def find(self, contacts: Sequence[DestinationContact]) -> list[RemoteRecord]:
        return []

    def create(self, writes: Sequence[Write]) -> BatchOutcome:
        return BatchOutcome(ids={w.contact.prospect_id: f"r-{w.contact.prospect_id}" for w in writes})

    def update(self, writes: Sequence[Write]) -> BatchOutcome:
        return BatchOutcome()

    def add_to_list(self, list_name: str, remote_ids: Sequence[str]) -> str:
        raise RuntimeError("campaign members refused")


def test_a_refused_list_call_keeps_what_was_written() -> None:
    contacts = [DestinationContact(prospect_id=f"gh_{n}", github_url=f"https://github.com/{n}") for n in ("ada", "bob")]
    report = push_records(_RefusesLists(), "crm", contacts, list_name="cmo", policy="fill_blanks", batch_size=5)
    assert [(r.prospect_id, r.outcome, r.remote_id) for r in report.results] == [
        ("gh_ada", "created", "r-gh_ada"),
        ("gh_bob", "created", "r-gh_bob"),
    ]
    assert report.list_id is None and all("not added to 'cmo': campaign members refused" in r.detail for r in report.results)
