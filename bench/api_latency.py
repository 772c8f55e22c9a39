"""Benchmark: `GET /api/jobs/{id}` and `POST /api/jobs` p50/p99 at 200 concurrent clients.

`cmo serve --workers-inline 0` with REDIS_URL (jobs only queue) on a fresh Postgres database
migrated with `cmo db upgrade`, against a bare FastAPI app on the same database: GET selects one
job row by id with SQLAlchemy, POST inserts one job row and XADDs its id (the same pool sizes, the
same uvicorn, the same keep-alive raw-socket client in this process). Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sse_fanout import KeepAliveClient, Service, free_port, percentile, raise_fd_limit, serve_bare_factory, wait_http

from sandbox import open_sandbox

BODY = json.dumps({"goal": "Find Python maintainers active in ML", "max_prospects": 10}).encode()


def bare_app(database_url: str, redis_url: str):
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, HTTPException
    from redis.asyncio import BlockingConnectionPool, Redis
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from api.core.config import ApiConfig
    from api.core.orm import Job, Tenant
    from api.services.jobs import new_job_id
    from storage.tables import utcnow

    config = ApiConfig(github_sandbox=open_sandbox)
    engine = create_async_engine(
        database_url.replace("postgresql://", "postgresql+psycopg://", 1),
        pool_size=config.db_pool_size,
        max_overflow=config.db_max_overflow,
        pool_pre_ping=True,
    )
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    # the pool cmo's client has (api/core/redis.py): redis-py's default one failed the bare POSTs
    # ("Too many connections") once more than 100 XADDs were in flight
    redis = Redis.from_pool(BlockingConnectionPool.from_url(redis_url, max_connections=100, timeout=2))
    state: dict = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with sessions() as session:
            state["tenant"] = await session.scalar(select(Tenant.id).limit(1))
        yield
        await engine.dispose()
        await redis.aclose()

    app = FastAPI(lifespan=lifespan)

    def as_dict(job: Job) -> dict:
        return {
            "id": job.id,
            "status": job.status,
            "goal": job.goal,
            "max_prospects": job.max_prospects,
            "metadata": job.metadata_,
            "counts": job.counts,
            "created_at": job.created_at.isoformat(),
        }

    @app.get("/bare/jobs/{job_id}")
    async def get_job(job_id: str) -> dict:
        async with sessions() as session:
            job = await session.scalar(select(Job).where(Job.id == job_id))
        if job is None:
            raise HTTPException(404)
        return as_dict(job)

    @app.post("/bare/jobs", status_code=201)
    async def post_job(body: dict) -> dict:
        job = Job(
            id=new_job_id(),
            tenant_id=state["tenant"],
            status="queued",
            goal=body["goal"],
            max_prospects=body.get("max_prospects"),
            metadata_={},
            counts={},
            cancel_requested=False,
            created_at=utcnow(),
        )
        async with sessions() as session, session.begin():
            session.add(job)
        await redis.xadd("bench:bare:jobs", {"job_id": job.id})
        return as_dict(job)

    return app


def bare_factory():
    """`bare_app` for uvicorn's own processes (`--processes N`): it imports the app by name in each."""
    return bare_app(os.environ["BENCH_DATABASE_URL"], os.environ["BENCH_REDIS_URL"])


async def load(port: int, headers: dict, method: str, path: str, clients: int, per_client: int) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    failures = 0

    async def one() -> None:
        nonlocal failures
        client = KeepAliveClient(port, headers)
        for _ in range(per_client):
            started = time.perf_counter()
            status, _ = await client.request(method, path, BODY if method == "POST" else b"")
            latencies.append((time.perf_counter() - started) * 1000)
            if status >= 300:
                failures += 1
        await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    return latencies, time.perf_counter() - started, failures


def phase(label: str, port: int, headers: dict, method: str, path: str, clients: int, per_client: int) -> dict:
    asyncio.run(load(port, headers, method, path, clients, 2))  # warm-up: connections, pools
    lat, wall, failures = asyncio.run(load(port, headers, method, path, clients, per_client))
    result = {"p50": percentile(lat, 50), "p99": percentile(lat, 99), "rps": len(lat) / wall}
    print(
        f"{label}: {len(lat)} requests, {failures} non-2xx, p50 {result['p50']:.1f} ms p99 {result['p99']:.1f} ms"
        f"  {result['rps']:.0f} req/s"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=25, help="requests per client per phase")
    parser.add_argument("--processes", type=int, default=1, help="API processes of both servers (`cmo serve --processes`)")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    raise_fd_limit()
    if args.serve_bare:
        os.environ.update(BENCH_DATABASE_URL=args.database_url, BENCH_REDIS_URL=args.redis_url)
        serve_bare_factory("api_latency:bare_factory", args.serve_bare, args.processes)
        return
    service = Service(redis_db=11)
    try:
        print(
            f"{args.clients} concurrent keep-alive clients x {args.requests} requests per phase, {args.processes} server"
            " process(es); load client on the same machine"
        )
        port = free_port()
        proc = service.serve(port, "--processes", str(args.processes))
        auth = {"Authorization": f"Bearer {service.key}"}
        import httpx

        job_id = httpx.post(
            f"http://127.0.0.1:{port}/api/jobs", headers={**auth, "Content-Type": "application/json"}, content=BODY
        ).json()["id"]
        cmo_get = phase("cmo  GET /api/jobs/{id}", port, auth, "GET", f"/api/jobs/{job_id}", args.clients, args.requests)
        cmo_post = phase("cmo  POST /api/jobs     ", port, auth, "POST", "/api/jobs", args.clients, args.requests)
        service.stop(proc)
        port = free_port()
        bare = service.spawn(
            [
                sys.executable,
                __file__,
                "--serve-bare",
                str(port),
                "--database-url",
                service.database_url,
                "--redis-url",
                service.redis_url,
                "--processes",
                str(args.processes),
            ],
            "bare.log",
        )
        wait_http(port, "/docs")
        bare_get = phase("bare GET /bare/jobs/{id}", port, {}, "GET", f"/bare/jobs/{job_id}", args.clients, args.requests)
        bare_post = phase("bare POST /bare/jobs    ", port, {}, "POST", "/bare/jobs", args.clients, args.requests)
        service.stop(bare)
        for name, cmo, base in (("GET ", cmo_get, bare_get), ("POST", cmo_post, bare_post)):
            print(
                f"ratio cmo/bare {name}: p50 {cmo['p50'] / base['p50']:.2f}x  p99 {cmo['p99'] / base['p99']:.2f}x"
                f"  throughput {cmo['rps'] / base['rps']:.2f}x"
            )
    finally:
        service.close()


if __name__ == "__main__":
    main()
