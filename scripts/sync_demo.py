"""`make sync-demo`: a sandbox run synced into each CRM's local contract stub, twice.

Runs `cmo run` against the built-in GitHub sandbox (generated people, never real ones), starts the
HubSpot, Salesforce (TLS) and Pipedrive stubs of the test suite, writes a config file naming all
three, and runs `cmo sync` for each: the first sync creates records, the second finds every one of
them and changes nothing. Everything stays on this machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.hubspot_stub import HubSpotStub  # noqa: E402
from tests.support.pipedrive_stub import PipedriveStub  # noqa: E402
from tests.support.salesforce_stub import SalesforceStub  # noqa: E402
from tests.support.smtp import self_signed  # noqa: E402

GOAL = "Find Python maintainers active in ML"
CMO = [sys.executable, "-m", "cli"]


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
    stubs = {"hubspot": HubSpotStub(), "salesforce": SalesforceStub(tls), "pipedrive": PipedriveStub()}
    config = work / "destinations.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "destinations": {
                    name: {
                        "platform": name,
                        "base_url": stub.url,
                        "token": "env:DEMO_CRM_TOKEN",
                        "list_name": "cmo demo" if name != "pipedrive" else None,
                        "options": {"ca_file": str(cert)} if name == "salesforce" else {},
                    }
                    for name, stub in stubs.items()
                }
            }
        )
    )
    env["DEMO_CRM_TOKEN"] = "test-token"  # what the stubs accept
    for stub in stubs.values():
        stub.start()
    try:
        subprocess.run([*CMO, "destinations", "list", "--config", str(config)], env=env, check=True)
        for name, stub in stubs.items():
            for attempt in ("first sync", "re-sync"):
                print(f"\n$ cmo sync {name} {run_dir} --config {config}   # {attempt}", flush=True)
                subprocess.run([*CMO, "sync", name, str(run_dir), "--config", str(config)], env=env, check=False)
            print(f"{name} stub now holds {_count(name, stub)} record(s) after {len(stub.requests)} request(s)")
    finally:
        for stub in stubs.values():
            stub.stop()
        shutil.rmtree(work, ignore_errors=True)  # generated people only, but nothing is left behind
    return 0


def _count(name: str, stub: object) -> int:
    if isinstance(stub, HubSpotStub):
        return len(stub.contacts)
    if isinstance(stub, SalesforceStub):
        return len(stub.objects["Lead"])
    assert isinstance(stub, PipedriveStub)
    return len(stub.persons)


if __name__ == "__main__":
    raise SystemExit(main())
