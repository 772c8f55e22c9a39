"""`make sync-demo`: a sandbox run synced into every registered platform's local contract stub, twice.

Runs `cmo run` against the built-in GitHub sandbox (generated people, never real ones), starts the
test suite's stub of each of the twelve platforms (tests/support/<platform>_stub.py; Salesforce over
TLS), writes one config file naming them all, and runs `cmo sync` for each: the first sync creates
records, the re-sync finds every one of them and creates nothing. GA4 has no profile call, so it skips
every lead both times (as documented). Everything stays on this machine.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.activecampaign_stub import ActiveCampaignStub  # noqa: E402
from tests.support.amplitude_stub import AmplitudeStub  # noqa: E402
from tests.support.ga4_stub import GA4Stub  # noqa: E402
from tests.support.hubspot_stub import HubSpotStub  # noqa: E402
from tests.support.klaviyo_stub import KlaviyoStub  # noqa: E402
from tests.support.mailchimp_stub import AUDIENCE, MailchimpStub  # noqa: E402
from tests.support.marketo_stub import MarketoStub  # noqa: E402
from tests.support.mixpanel_stub import MixpanelStub  # noqa: E402
from tests.support.pipedrive_stub import PipedriveStub  # noqa: E402
from tests.support.salesforce_stub import SalesforceStub  # noqa: E402
from tests.support.segment_stub import SegmentStub  # noqa: E402
from tests.support.smtp import self_signed  # noqa: E402
from tests.support.zoho_stub import ZohoStub  # noqa: E402

GOAL = "Find Python maintainers active in ML"
CMO = [sys.executable, "-m", "cli"]
LIST = "cmo demo"


@dataclass(frozen=True)
class Platform:
    """One stub and the config entry pointing at it, in the shapes the integration tests use."""

    stub: Callable[[ssl.SSLContext], Any]
    config: Callable[[Any, Path], dict[str, Any]]  # stub, CA file -> base_url, options, list_name
    held: Callable[[Any], int]  # what the stub now holds: CRM/marketing records, or analytics profiles


def _analytics(extra: dict[str, str] | None = None) -> Callable[[Any, Path], dict[str, Any]]:
    """Analytics configs (tests/integration/test_destination_analytics.py): a pseudonym key, and the
    deletion credential and endpoint erasure would use."""
    return lambda s, _: {
        "base_url": s.url,
        "options": {"pseudonym_key": "k" * 32, "deletion_token": s.deletion_token, "deletion_base_url": s.url, **(extra or {})},
    }


def _zoho(stub: Any, _: Path) -> dict[str, Any]:
    options = {"accounts_url": stub.url, "refresh_token": stub.refresh_token, "client_id": "1000.X", "client_secret": "s"}
    return {"base_url": stub.url + "/crm/v6", "options": options, "list_name": LIST}


def _url(list_name: str | None = LIST) -> Callable[[Any, Path], dict[str, Any]]:
    return lambda s, _: {"base_url": s.url, "list_name": list_name}


PLATFORMS: dict[str, Platform] = {
    "hubspot": Platform(lambda _: HubSpotStub(), _url(), lambda s: len(s.contacts)),
    "salesforce": Platform(
        SalesforceStub,
        lambda s, ca: {"base_url": s.url, "list_name": LIST, "options": {"ca_file": str(ca)}},
        lambda s: len(s.objects["Lead"]),
    ),
    "pipedrive": Platform(lambda _: PipedriveStub(), _url(None), lambda s: len(s.persons)),
    "zoho": Platform(lambda _: ZohoStub(), _zoho, lambda s: len(s.leads)),
    "marketo": Platform(
        lambda _: MarketoStub(),
        lambda s, _: {"base_url": s.url, "list_name": LIST, "options": {"client_id": s.client_id, "folder_id": "12"}},
        lambda s: len(s.leads),
    ),
    "mailchimp": Platform(
        lambda _: MailchimpStub(),
        lambda s, _: {"base_url": s.url + "/3.0", "list_name": LIST, "options": {"audience_id": AUDIENCE}},
        lambda s: len(s.members),
    ),
    "klaviyo": Platform(lambda _: KlaviyoStub(), _url(), lambda s: len(s.profiles)),
    "activecampaign": Platform(lambda _: ActiveCampaignStub(), _url(), lambda s: len(s.contacts)),
    "google_analytics": Platform(
        lambda _: GA4Stub(),
        _analytics({"measurement_id": "G-TEST123", "property_id": "123456789"}),
        lambda s: len(s.profiles),
    ),
    "mixpanel": Platform(lambda _: MixpanelStub(), _analytics(), lambda s: len(s.profiles)),
    "amplitude": Platform(lambda _: AmplitudeStub(), _analytics(), lambda s: len(s.profiles)),
    "segment": Platform(lambda _: SegmentStub(), _analytics(), lambda s: len(s.profiles)),
}


def _token_variable(name: str) -> str:
    return f"DEMO_{name.upper()}_TOKEN"


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="cmo-sync-demo-"))
    env = os.environ | {
        "CMO_HOME": str(work / "home"),
        "CMO_SENDER_POSTAL_ADDRESS": "Example GmbH, Musterstr. 1, 10115 Berlin, Germany",
        "CMO_UNSUBSCRIBE_URL": "https://optout.cmo-demo.dev/unsubscribe",
        "PYTHONPATH": str(ROOT),
    }
    for name in ("GITHUB_TOKEN", "GITHUB_API_URL", "GITHUB_APP_ID", "OPENAI_API_KEY"):
        env.pop(name, None)
    run_dir = work / "run"
    print(f"$ cmo run {GOAL!r} --out {run_dir} --max-prospects 20", flush=True)
    subprocess.run(
        [*CMO, "run", GOAL, "--out", str(run_dir), "--max-prospects", "20", "--json"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    tls, cert = self_signed(work)
    stubs = {name: platform.stub(tls) for name, platform in PLATFORMS.items()}
    entries = {
        name: {"platform": name, "token": f"env:{_token_variable(name)}", "rate_limit_per_second": 50}
        | PLATFORMS[name].config(stub, cert)
        for name, stub in stubs.items()
    }
    config = work / "destinations.yaml"
    config.write_text(yaml.safe_dump({"destinations": entries}))
    env |= {_token_variable(name): stub.token for name, stub in stubs.items()}  # what each stub accepts
    for stub in stubs.values():
        stub.start()
    failures = 0
    try:
        subprocess.run([*CMO, "destinations", "list", "--config", str(config)], env=env, check=True)
        for name, stub in stubs.items():
            codes = []
            for attempt in ("first sync", "re-sync"):
                print(f"\n$ cmo sync {name} {run_dir} --config {config}   # {attempt}", flush=True)
                done = subprocess.run([*CMO, "sync", name, str(run_dir), "--config", str(config)], env=env, check=False)
                codes.append(done.returncode)
            failures += any(codes)
            held, calls = PLATFORMS[name].held(stub), len(stub.requests)
            print(f"{name} stub now holds {held} record(s) after {calls} request(s); exit codes {codes[0]}, {codes[1]}")
    finally:
        for stub in stubs.values():
            stub.stop()
        shutil.rmtree(work, ignore_errors=True)  # generated people only, but nothing is left behind
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
