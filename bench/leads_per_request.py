"""Benchmark: a 1,000-lead goal against the sandbox with 50 ms latency per request.

Prints wall time, qualified leads and GitHub budget units per qualified lead (REST core + search
requests + GraphQL points, the issue's measure), cold and then warm (second run, ETag cache), for the
GraphQL path and, as the baseline from the same run, the REST-only path (`--paths`). Numbers only;
nothing is asserted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from foundation.settings import Settings
from graph.runner import run_job
from sandbox import SandboxServer, generate_world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--goal", default="Top 1000 Python developers active in the last 180 days")
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--core-limit", type=int, default=15_000, help="requests/hour (SPEC: GitHub App, Enterprise)")
    parser.add_argument("--paths", default="graphql,rest", help="comma-separated: graphql (v2) and/or rest (v1 baseline)")
    args = parser.parse_args()
    world = generate_world(seed=7, users=args.users)
    server = SandboxServer(world, latency_ms=args.latency_ms, core_limit=args.core_limit, search_limit=30).start()
    print(
        f"goal: {args.goal!r}; sandbox users={args.users} latency={args.latency_ms}ms "
        f"concurrency={args.concurrency} core limit={args.core_limit}/h search limit=30/min"
    )
    for path in args.paths.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                cmo_home=Path(tmp) / "home",
                github_api_url=server.url,
                github_token="bench",  # the sandbox takes any token; GraphQL takes none without one
                github_graphql=path == "graphql",
                github_concurrency=args.concurrency,
                github_max_requests=50_000,
                github_max_graphql_points=50_000,
                github_max_wait_seconds=120,
            )
            for label in ("cold", "warm"):
                started = time.perf_counter()
                result = run_job(args.goal, settings, out_dir=Path(tmp) / label)
                wall = time.perf_counter() - started
                leads = len(result.prospects)
                summary = result.summary
                budget = summary.budget
                units = budget.budget_units if budget else 0
                spend = (
                    f"core {budget.core.requests} (+{budget.core.saved_by_cache} 304s) search {budget.search.requests} "
                    f"graphql {budget.graphql.requests} points"
                    if budget
                    else ""
                )
                print(
                    f"{path:7s} {label}: wall {wall:.1f}s  leads {leads}  units {units} ({spend})"
                    f"  units/lead {units / max(leads, 1):.2f}  status {summary.status}"
                    + (f" ({'; '.join(summary.stop_reasons)})" if summary.stop_reasons else "")
                )
    server.stop()


if __name__ == "__main__":
    main()
