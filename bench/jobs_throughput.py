"""Benchmark: jobs completed per minute with 1, 2 and 4 `cmo worker` processes (sandbox).

`cmo serve --workers-inline 0` queues the jobs (fresh Postgres database, REDIS_URL), then K
`cmo worker` processes run them against the built-in sandbox (SANDBOX_USERS=400, max_prospects
10). Throughput = jobs / (last finished_at - first started_at), read from the jobs table, so
worker start-up is not counted. Baseline: the same jobs run one after another in this process
with `graph.runner.run_job`. Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sse_fanout import VENV_BIN, Service, free_port, raise_fd_limit

from sandbox import open_sandbox

GOAL = "Find Python maintainers active in ML"


def run_workers(service: Service, port: int, workers: int, jobs: int, concurrency: int, max_prospects: int) -> float:
    import httpx
    import psycopg

    auth = {"Authorization": f"Bearer {service.key}"}
    ids = [
        httpx.post(f"http://127.0.0.1:{port}/api/jobs", headers=auth, json={"goal": GOAL, "max_prospects": max_prospects}).json()[
            "id"
        ]
        for _ in range(jobs)
    ]
    procs = [
        service.spawn(
            [str(VENV_BIN / "cmo"), "worker", "--sandbox", "--concurrency", str(concurrency)], f"worker{workers}-{i}.log"
        )
        for i in range(workers)
    ]
    deadline = time.monotonic() + 1800
    with psycopg.connect(service.database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            rows = conn.execute("SELECT status, started_at, finished_at FROM jobs WHERE id = ANY(%s)", (ids,)).fetchall()
            if all(r[0] in ("succeeded", "failed", "cancelled") for r in rows):
                break
            time.sleep(0.5)
    for proc in procs:
        service.stop(proc)
    statuses = [r[0] for r in rows]
    span = (max(r[2] for r in rows) - min(r[1] for r in rows if r[1])).total_seconds()
    per_min = jobs / span * 60
    counts = {s: statuses.count(s) for s in set(statuses)}
    print(f"{workers} worker(s) x concurrency {concurrency}: {jobs} jobs {counts} in {span:.1f} s = {per_min:.2f} jobs/min")
    return per_min


def run_sequential(jobs: int, max_prospects: int, users: int) -> float:
    from foundation.settings import Settings
    from graph.runner import run_job

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(cmo_home=Path(tmp) / "home", sandbox_users=users)
        started = time.perf_counter()
        for i in range(jobs):
            result = run_job(GOAL, settings, sandbox=open_sandbox, out_dir=Path(tmp) / f"run{i}", max_prospects=max_prospects)
        span = time.perf_counter() - started
    per_min = jobs / span * 60
    print(
        f"bare run_job sequential in-process: {jobs} jobs (last {result.summary.status}) in {span:.1f} s = {per_min:.2f} jobs/min"
    )
    return per_min


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=16, help="jobs per configuration")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--concurrency", type=int, default=1, help="`cmo worker --concurrency`")
    parser.add_argument("--max-prospects", type=int, default=10)
    parser.add_argument("--users", type=int, default=400, help="SANDBOX_USERS")
    args = parser.parse_args()
    raise_fd_limit()
    print(f"{args.jobs} jobs per configuration, goal {GOAL!r}, max_prospects {args.max_prospects}, SANDBOX_USERS={args.users}")
    base = run_sequential(args.jobs, args.max_prospects, args.users)
    service = Service(redis_db=12, extra_env={"SANDBOX_USERS": str(args.users)})
    try:
        port = free_port()
        service.serve(port)
        for workers in (int(w) for w in args.workers.split(",")):
            per_min = run_workers(service, port, workers, args.jobs, args.concurrency, args.max_prospects)
            print(f"  ratio {workers} worker(s) / bare sequential: {per_min / base:.2f}x")
    finally:
        service.close()


if __name__ == "__main__":
    main()
