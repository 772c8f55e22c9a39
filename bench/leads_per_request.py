"""Benchmark: a 1,000-lead goal against the sandbox with 50 ms latency per request.

Prints wall time, GitHub requests, qualified leads and requests per qualified lead, cold and then
warm (second run, ETag cache). Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from foundation.settings import Settings
from graph.runner import run_job
from sandbox import SandboxServer, generate_world, open_sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--goal", default="Top 1000 Python developers active in the last 180 days")
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--core-limit", type=int, default=15_000, help="requests/hour (SPEC: GitHub App, Enterprise)")
    args = parser.parse_args()
    world = generate_world(seed=7, users=args.users)
    server = SandboxServer(world, latency_ms=args.latency_ms, core_limit=args.core_limit, search_limit=30).start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            cmo_home=Path(tmp) / "home",
            github_api_url=server.url,
            github_concurrency=args.concurrency,
            github_max_requests=50_000,
            github_max_wait_seconds=120,
        )
        print(
            f"goal: {args.goal!r}; sandbox users={args.users} latency={args.latency_ms}ms "
            f"concurrency={args.concurrency} core limit={args.core_limit}/h search limit=30/min"
        )
        for label in ("cold", "warm"):
            started = time.perf_counter()
            result = run_job(args.goal, settings, sandbox=open_sandbox, out_dir=Path(tmp) / label)
            wall = time.perf_counter() - started
            leads = len(result.prospects)
            summary = result.summary
            requests = summary.api_requests or 0
            print(
                f"{label}: wall {wall:.1f}s  leads {leads}  requests {requests}"
                f" (+{summary.api_requests_saved_by_cache} 304s)"
                f"  requests/lead {requests / max(leads, 1):.2f}  status {summary.status}"
                + (f" ({'; '.join(summary.stop_reasons)})" if summary.stop_reasons else "")
            )
    server.stop()


if __name__ == "__main__":
    main()
