"""`make sync-demo` (scripts/sync_demo.py) keeps working: a sandbox run synced into each CRM stub
creates records once, and the re-sync finds every one of them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_sync_demo_creates_once_and_resyncs_without_duplicates() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "sync_demo.py")], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for platform in ("hubspot", "salesforce", "pipedrive"):
        created = re.search(rf"{platform} \({platform}\): (\d+) created", output)
        unchanged = re.search(rf"{platform} \({platform}\): (\d+) unchanged", output)
        held = re.search(rf"{platform} stub now holds (\d+) record", output)
        assert created and unchanged and held, output
        assert int(created[1]) == int(unchanged[1]) == int(held[1]) > 0
