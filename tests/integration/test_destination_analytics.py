"""The analytics destinations (GA4, Mixpanel, Amplitude, Segment) over real HTTP against contract stubs
of the vendors' documented APIs: engagement events, profile traits, re-send deduplication, vendor
batch caps, 429 with Retry-After, per-record failures and GDPR deletion requests. One body per
behaviour, run against all four; what a vendor cannot do is asserted as such."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.sync import forget_everywhere
from foundation.schemas import ComplianceReview, Prospect, Signal
from tests.support.amplitude_stub import AmplitudeStub
from tests.support.analytics_stub import AnalyticsStub
from tests.support.ga4_stub import GA4Stub
from tests.support.mixpanel_stub import MixpanelStub
from tests.support.segment_stub import SegmentStub
from tools.destinations.amplitude import AmplitudeDestination
from tools.destinations.analytics import ANALYTICS_MAPPING, AnalyticsDestination
from tools.destinations.base import AnalyticsEvent, DestinationContact
from tools.destinations.config import DestinationConfig, DestinationConfigError
from tools.destinations.google_analytics import GoogleAnalytics
from tools.destinations.ledger import Delivery, Ledger
from tools.destinations.mapping import FieldMapping, map_prospect
from tools.destinations.mixpanel import MixpanelDestination
from tools.destinations.registry import FACTORIES, connector
from tools.destinations.segment import SegmentDestination
from tools.destinations.sync import sync
from tools.suppression import SuppressionList

ENGAGEMENT = ("demo_booked", "trial_started", "contact_made", "replied")
NOW = datetime.now(UTC).replace(microsecond=0)


def _bad_ga4(stub: AnalyticsStub) -> AnalyticsEvent:
    return AnalyticsEvent(user_id="gh_ada", name="ga_reserved_prefix", occurred_at=NOW)  # refused before sending


def _bad_named(stub: AnalyticsStub) -> AnalyticsEvent:
    stub.reject_names.add("blocked_event")  # the vendor names it in its answer
    return AnalyticsEvent(user_id="gh_ada", name="blocked_event", occurred_at=NOW)


def _bad_oversized(stub: AnalyticsStub) -> AnalyticsEvent:
    return AnalyticsEvent(user_id="gh_ada", name="replied", occurred_at=NOW, properties={"body": "x" * 40_000})  # SDK's 32 KB cap


@dataclass
class Case:
    platform: str
    connector: type[AnalyticsDestination]
    stub: Callable[[], AnalyticsStub]
    ingest_path: str
    bad_event: Callable[[AnalyticsStub], AnalyticsEvent]
    options: dict[str, str] = field(default_factory=dict)


CASES = [
    Case(
        "google_analytics",
        GoogleAnalytics,
        GA4Stub,
        r"/mp/collect",
        _bad_ga4,
        {"measurement_id": "G-TEST123", "property_id": "123456789"},
    ),
    Case("mixpanel", MixpanelDestination, MixpanelStub, r"/import", _bad_named),
    Case("amplitude", AmplitudeDestination, AmplitudeStub, r"/2/httpapi", _bad_named),
    Case("segment", SegmentDestination, SegmentStub, r"/v1/batch", _bad_oversized),
]


@dataclass
class Setup:
    case: Case
    stub: AnalyticsStub
    sleeps: list[float]

    def connector(self, **config: Any) -> AnalyticsDestination:
        options = {"pseudonym_key": "k" * 32, "deletion_token": self.stub.deletion_token, **self.case.options}
        options.update(config.pop("options", {}))
        settings = DestinationConfig(
            platform=self.case.platform, base_url=self.stub.url, token=self.stub.token, options=options, **config
        )
        settings.options.setdefault("deletion_base_url", self.stub.url)
        return self.case.connector(settings, sleep=self.sleeps.append)

    def ingest_calls(self) -> int:
        return len(self.stub.calls("POST", self.case.ingest_path))


@pytest.fixture(params=CASES, ids=[c.platform for c in CASES])
def setup(request: pytest.FixtureRequest) -> Iterator[Setup]:
    case: Case = request.param
    with case.stub() as stub:
        yield Setup(case, stub, [])


def _events(users: tuple[str, ...] = ("gh_ada", "gh_linus")) -> list[AnalyticsEvent]:
    return [
        AnalyticsEvent(user_id=user, name=name, occurred_at=NOW - timedelta(minutes=i), properties={"campaign": "cmp_launch"})
        for user in users
        for i, name in enumerate(ENGAGEMENT)
    ]


def _prospect() -> Prospect:
    return Prospect(
        id="gh_ada",
        username="ada",
        name="Ada Lovelace",
        email="ada@example.org",
        company="Analytical Engines",
        country="GB",
        score=0.9,
        signals=[Signal(name="active_maintainer")],
        compliance=ComplianceReview(verdict="approved", lawful_basis="legitimate_interest"),
    )


def _raw(stub: AnalyticsStub) -> str:
    return " ".join(r.raw.decode(errors="replace") + " " + " ".join(r.query.values()) for r in stub.requests)


def test_engagement_events_arrive_under_a_pseudonym(setup: Setup) -> None:
    connector = setup.connector()
    results = connector.track(_events())
    assert [r.outcome for r in results] == ["created"] * 8
    assert sorted(setup.stub.names()) == sorted(ENGAGEMENT * 2)
    assert {r.prospect_id for r in results} == {"gh_ada", "gh_linus"}
    sent = _raw(setup.stub)
    assert "gh_ada" not in sent and "gh_linus" not in sent  # the prospect id names the person
    assert connector.user_id("gh_ada") in sent and connector.user_id("gh_ada").startswith("cmo_")
    assert connector.user_id("gh_Ada") == connector.user_id("gh_ada")  # GitHub logins ignore case
    assert connector.user_id("gh_ada") != setup.connector(options={"pseudonym_key": "other" * 8}).user_id("gh_ada")
    assert connector.pull_changes(NOW - timedelta(days=1)) == []


def test_a_resend_is_one_event_where_the_vendor_deduplicates(setup: Setup) -> None:
    connector = setup.connector()
    first = connector.track(_events())
    second = connector.track(_events())
    assert [r.remote_id for r in first] == [r.remote_id for r in second]  # the same insert ids
    expected = 8 if connector.dedupes_resends else 16  # GA4's Measurement Protocol has no event id
    assert len(setup.stub.ingested) == expected
    assert connector.dedupes_resends is (setup.case.platform != "google_analytics")


def test_batches_never_exceed_the_configured_size(setup: Setup) -> None:
    events = [AnalyticsEvent(user_id="gh_ada", name="replied", occurred_at=NOW - timedelta(seconds=i)) for i in range(30)]
    results = setup.connector(batch_size=10).track(events)
    assert [r.outcome for r in results] == ["created"] * 30
    assert setup.ingest_calls() == 3
    assert len(setup.stub.ingested) == 30


def test_429_waits_as_long_as_retry_after_says(setup: Setup) -> None:
    setup.stub.fail_next(1, status=429, headers={"Retry-After": "7"})
    results = setup.connector(rate_limit_per_second=1000).track(_events(("gh_ada",)))
    assert [r.outcome for r in results] == ["created"] * 4
    assert 7.0 in setup.sleeps
    assert len(setup.stub.ingested) == 4


def test_a_batch_refused_after_every_retry_fails_its_records_only(setup: Setup) -> None:
    setup.stub.fail_next(5, status=503, headers={})
    connector = setup.connector(batch_size=4, rate_limit_per_second=1000)
    results = connector.track(_events())
    assert [r.outcome for r in results[:4]] == ["failed"] * 4 and "503" in results[0].detail
    assert [r.outcome for r in results[4:]] == ["created"] * 4
    assert len(setup.sleeps) >= 4  # backed off between attempts


def test_a_bad_event_fails_alone_and_results_keep_the_input_order(setup: Setup) -> None:
    good = _events(("gh_ada", "gh_linus"))
    bad = setup.case.bad_event(setup.stub)
    events = [*good[:3], bad, *good[3:]]
    connector = setup.connector()
    results = connector.track(events)
    assert [r.remote_id for r in results] == [connector.event_id(e) for e in events]
    assert [r.outcome for r in results] == ["created"] * 3 + ["failed"] + ["created"] * 5
    assert results[3].detail and results[3].prospect_id == "gh_ada"
    assert sorted(setup.stub.names()) == sorted(ENGAGEMENT * 2)


def test_push_sends_only_the_mapped_traits(setup: Setup) -> None:
    connector = setup.connector()
    contact = map_prospect(_prospect(), ANALYTICS_MAPPING)
    bare = DestinationContact(prospect_id="gh_bare", github_url="https://github.com/bare")  # no traits
    report = connector.push([bare, contact], list_name=None, policy="fill_blanks")
    assert [r.prospect_id for r in report.results] == ["gh_bare", "gh_ada"] and report.results[0].outcome == "skipped"
    sent = _raw(setup.stub)
    assert "ada@example.org" not in sent and "Ada Lovelace" not in sent and "gh_ada" not in sent
    if not connector.profile_batch_limit:  # GA4 has no profile call
        assert report.results[1].outcome == "skipped" and not setup.stub.requests
        return
    assert report.results[1].outcome == "updated"
    profile = setup.stub.profiles[connector.user_id("gh_ada")]
    assert profile["company"] == "Analytical Engines" and profile["cmo_score"] == 0.9 and profile["country"] == "GB"
    connector.push([contact], list_name=None, policy="fill_blanks")
    assert len(setup.stub.profiles) == 1


def test_an_email_leaves_only_when_the_mapping_names_it(setup: Setup) -> None:
    connector = setup.connector()
    contact = map_prospect(_prospect(), FieldMapping(fields={"email": "email"}, custom={"company": "company"}))
    connector.push([contact], list_name=None, policy="fill_blanks")
    if connector.profile_batch_limit:
        assert setup.stub.profiles[connector.user_id("gh_ada")]["email"] == "ada@example.org"
    before = len(setup.stub.requests)
    connector.track(_events(("gh_ada",)))
    assert all("ada@example.org" not in r.raw.decode() for r in setup.stub.requests[before:])


def test_forget_records_a_gdpr_deletion_request(setup: Setup) -> None:
    connector = setup.connector()
    forgotten = connector.forget(email="ada@example.org", github_url="https://github.com/ada", prospect_id="gh_ada")
    assert forgotten.outcome == "gdpr_delete_requested", forgotten.detail
    assert forgotten.remote_ids and forgotten.destination == setup.case.platform
    pseudonym = connector.user_id("gh_ada")
    assert setup.stub.deletions and all(pseudonym in str(d) for d in setup.stub.deletions)
    assert "ada@example.org" not in _raw(setup.stub)


def test_forget_without_the_deletion_credential_is_a_recorded_failure(setup: Setup) -> None:
    missing = setup.connector(options={"deletion_token": ""}).forget(email=None, github_url=None, prospect_id="gh_ada")
    assert missing.outcome == "failed" and "deletion_token" in missing.detail
    wrong = setup.connector(options={"deletion_token": "stale"}).forget(email=None, github_url=None, prospect_id="gh_ada")
    assert wrong.outcome == "failed" and "401" in wrong.detail
    assert not setup.stub.deletions


def test_connection_test_answers(setup: Setup) -> None:
    status = setup.connector().test_connection()
    assert status.ok, status.detail
    assert not setup.stub.ingested  # a connection test records nothing


def test_a_pseudonym_key_is_required(setup: Setup) -> None:
    with pytest.raises(DestinationConfigError, match="pseudonym_key"):
        setup.connector(options={"pseudonym_key": ""})


@pytest.mark.parametrize("case", CASES, ids=[c.platform for c in CASES])
def test_each_module_answers_the_registry_contract(case: Case) -> None:
    entry = connector(case.platform)  # registry line: "<platform>": connector("<platform>")
    assert entry.default_mapping() == ANALYTICS_MAPPING
    options = {"pseudonym_key": "k", **case.options}
    built = entry(DestinationConfig(platform=case.platform, token="t", options=options))
    assert isinstance(built, case.connector) and built.kind == "analytics" and built.name == case.platform


def test_sync_resync_and_erasure_through_the_cmo_sync_ledger(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sync core and `cmo erase`'s propagation with an analytics connector: suppressed people
    are never sent, a re-sync leaves one profile a person, and the erasure reaches the vendor."""
    monkeypatch.setitem(FACTORIES, setup.case.platform, connector(setup.case.platform))
    monkeypatch.setenv("CMO_HOME", str(tmp_path / "home"))
    destination = setup.connector()
    config = destination.config
    config_path = tmp_path / "destinations.yaml"
    config_path.write_text(yaml.safe_dump({"destinations": {config.label: config.model_dump(exclude_none=True)}}))
    ada, linus = _prospect(), _prospect().model_copy(update={"id": "gh_linus", "username": "linus", "email": None})
    suppression = SuppressionList.from_entries([("login", "linus")])
    for _ in ("sync", "re-sync"):
        report = sync(destination, config, [ada, linus], suppression=suppression)
        assert {r.prospect_id: r.outcome for r in report.results}["gh_linus"] == "skipped"
    assert "linus" not in _raw(setup.stub)
    if not destination.profile_batch_limit:  # GA4: nothing delivered, nothing in the ledger to erase
        assert not report.delivered
        return
    assert len(setup.stub.profiles) == 1
    Ledger(tmp_path / "home").record(
        [Delivery(destination=config.label, platform=config.platform, config_path=str(config_path),
                  prospect_id=r.prospect_id, remote_id=r.remote_id or "") for r in report.delivered]
    )  # fmt: skip  # what `cmo sync` records
    lines = forget_everywhere(prospect_ids={"gh_ada"}, email="ada@example.org")
    assert len(lines) == 1 and "gdpr_delete_requested" in lines[0], lines
    assert setup.stub.deletions and destination.user_id("gh_ada") in str(setup.stub.deletions[-1])


# --- what only some vendors do ---------------------------------------------------------------------


@pytest.mark.parametrize("stub_type,connector_type", [(MixpanelStub, MixpanelDestination), (AmplitudeStub, AmplitudeDestination)])
def test_a_refused_token_fails_the_connection_test(
    stub_type: type[AnalyticsStub], connector_type: type[AnalyticsDestination]
) -> None:
    with stub_type() as stub:
        config = DestinationConfig(platform="x", base_url=stub.url, token="wrong", options={"pseudonym_key": "k"})
        status = connector_type(config, sleep=lambda _: None).test_connection()
    assert not status.ok


def test_ga4_caps_requests_at_25_events_and_one_user() -> None:
    with GA4Stub() as stub:
        config = DestinationConfig(
            platform="google_analytics", base_url=stub.url, token=stub.token, batch_size=100,
            options={"pseudonym_key": "k", "measurement_id": stub.measurement_id},
        )  # fmt: skip
        events = [
            AnalyticsEvent(user_id=f"gh_{i % 2}", name="replied", occurred_at=NOW - timedelta(seconds=i)) for i in range(60)
        ]
        results = GoogleAnalytics(config, sleep=lambda _: None).track(events)
        assert [r.outcome for r in results] == ["created"] * 60
        bodies = [r.body for r in stub.calls("POST", r"/mp/collect")]
        assert all(len(b["events"]) <= 25 and b["client_id"] == b["user_id"] for b in bodies)
        assert len(bodies) == 4  # two users of 30 events: 25 + 5 each, not one request per user switch
        assert len(stub.ingested) == 60 and stub.dropped == 0


def test_ga4_reports_what_it_would_silently_drop() -> None:
    with GA4Stub() as stub:
        config = DestinationConfig(
            platform="google_analytics", base_url=stub.url, token=stub.token,
            options={"pseudonym_key": "k", "measurement_id": stub.measurement_id},
        )  # fmt: skip
        events = [
            AnalyticsEvent(user_id="gh_ada", name="demo_booked", occurred_at=NOW - timedelta(hours=80)),
            AnalyticsEvent(user_id="gh_ada", name="has space", occurred_at=NOW),
            AnalyticsEvent(user_id="gh_ada", name="replied", occurred_at=NOW, properties={"p": "x" * 101}),
            AnalyticsEvent(user_id="gh_ada", name="replied", occurred_at=datetime.now().replace(tzinfo=None)),  # naive: UTC
        ]
        results = GoogleAnalytics(config, sleep=lambda _: None).track(events)
        assert [r.outcome for r in results] == ["skipped", "failed", "failed", "created"]
        assert "72-hour" in results[0].detail
        assert stub.names() == ["replied"]


def test_ga4_erasure_asks_for_both_identifier_types() -> None:
    with GA4Stub() as stub:
        config = DestinationConfig(
            platform="google_analytics", base_url=stub.url, token=stub.token,
            options={"pseudonym_key": "k", "measurement_id": "G-1", "property_id": "42",
                     "deletion_token": stub.deletion_token, "deletion_base_url": stub.url},
        )  # fmt: skip
        assert (
            GoogleAnalytics(config).forget(email=None, github_url=None, prospect_id="gh_ada").outcome == "gdpr_delete_requested"
        )
        assert sorted(d["id"]["type"] for d in stub.deletions) == ["CLIENT_ID", "USER_ID"]
        assert {d["propertyId"] for d in stub.deletions} == {"42"}


def test_ga4_needs_a_measurement_id() -> None:
    with pytest.raises(DestinationConfigError, match="measurement_id"):
        GoogleAnalytics(DestinationConfig(platform="google_analytics", token="s", options={"pseudonym_key": "k"}))


def test_amplitude_halves_a_batch_it_calls_too_large() -> None:
    with AmplitudeStub() as stub:
        stub.fail_next(1, status=413, headers={}, body={"code": 413, "error": "Payload too large"})
        config = DestinationConfig(platform="amplitude", base_url=stub.url, token=stub.token, options={"pseudonym_key": "k"})
        results = AmplitudeDestination(config, sleep=lambda _: None).track(_events())
        assert [r.outcome for r in results] == ["created"] * 8
        assert [len(r.body["events"]) for r in stub.calls("POST", r"/2/httpapi")] == [8, 4, 4]


def test_mixpanel_import_failures_are_named_per_record() -> None:
    with MixpanelStub() as stub:
        stub.reject_names.add("blocked_event")
        config = DestinationConfig(platform="mixpanel", base_url=stub.url, token=stub.token, options={"pseudonym_key": "k"})
        events = [*_events(("gh_ada",)), AnalyticsEvent(user_id="gh_ada", name="blocked_event", occurred_at=NOW)]
        results = MixpanelDestination(config, sleep=lambda _: None).track(events)
        assert results[-1].outcome == "failed" and "data governance" in results[-1].detail
        assert stub.calls("POST", r"/import")[0].query == {"strict": "1"}
