"""`make sync-demo` (scripts/sync_demo.py) keeps working: a sandbox run synced into the stub of every
registered platform succeeds, and the re-sync creates nothing new. CRMs and marketing tools create
records once and find them all again (`unchanged`); analytics profiles are set again (`updated`) on
the same pseudonyms; GA4 has no profile call and skips every lead both times."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools.destinations.registry import FACTORIES

ROOT = Path(__file__).resolve().parents[2]
ANALYTICS = {"mixpanel", "amplitude", "segment"}  # profile calls: traits set again, no new profile
NO_PROFILES = {"google_analytics"}


@pytest.mark.slow
def test_sync_demo_syncs_every_platform_and_resyncs_without_duplicates() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "sync_demo.py")], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert len(FACTORIES) == 12
    for platform in FACTORIES:
        reports = re.findall(rf"^{platform} \({platform}\): (.+)$", output, re.MULTILINE)
        assert len(reports) == 2, (platform, output)
        first, again = reports
        summary = re.search(
            rf"^{platform} stub now holds (\d+) record\(s\) after \d+ request\(s\); exit codes 0, 0$", output, re.MULTILINE
        )
        assert summary, (platform, output)
        held = int(summary[1])
        if platform in NO_PROFILES:
            assert re.fullmatch(r"\d+ skipped", first) and again == first and held == 0, (platform, first, again)
            continue
        outcome = "updated" if platform in ANALYTICS else "created"
        synced = re.fullmatch(rf"(\d+) {outcome}", first)
        assert synced and int(synced[1]) > 0, (platform, first)
        assert again == f"{synced[1]} {'updated' if platform in ANALYTICS else 'unchanged'}", (platform, again)
        assert held == int(synced[1]), (platform, held)
