"""Benchmark: N concurrent SSE clients on one job, against a bare sse-starlette broadcaster.

The clients run on uvloop (as both servers do), so the load generator, which shares the machine,
spends less of it reading.

`cmo serve` (uvicorn on api.app:create_app, Postgres in a fresh database migrated with `cmo db
upgrade`, REDIS_URL set, a key from `cmo apikey create`); N raw-socket clients stream
`GET /api/jobs/{id}/events`; this process appends events with `api.services.events.append_event`
(each carrying its send time) and measures publish -> receive latency and the server's RSS growth
per connection. The baseline is a bare sse-starlette endpoint fed by Redis pub/sub (published from
this process), read by the same client code. Numbers only; nothing is asserted.

Also holds the helpers the other bench scripts share (fresh database, service process, tiny
keep-alive HTTP client).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import uvloop

from sandbox import open_sandbox

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PG = "postgresql://postgres@127.0.0.1:5432"


# ---------------------------------------------------------------- shared helpers


def raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def rss_kib(pid: int) -> int:
    """Resident memory of the process and its children (the processes of `--processes N`)."""
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1])
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        total += sum(rss_kib(int(child)) for child in children.read_text().split())
    return total


class Service:
    """A fresh Postgres database migrated with `cmo db upgrade`, a key file (`cmo keys init`), an API key, a Redis db number."""

    def __init__(self, redis_db: int, extra_env: dict[str, str] | None = None) -> None:
        import psycopg

        self.dbname = f"cmo_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname}"')
        self.home = tempfile.mkdtemp(prefix="cmo-bench-")
        self.redis_url = f"redis://127.0.0.1:6379/{redis_db}"
        self.database_url = f"{PG}/{self.dbname}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CMO_HOME": self.home,
            **(extra_env or {}),
        }
        self.env.pop("OPENAI_API_KEY", None)
        self.env.pop("CMO_KEK_FILE", None)  # the bench's own key file, under its CMO_HOME
        subprocess.run([str(VENV_BIN / "cmo"), "db", "upgrade"], env=self.env, check=True, capture_output=True)
        subprocess.run([str(VENV_BIN / "cmo"), "keys", "init"], env=self.env, check=True, capture_output=True)
        out = subprocess.run(
            [str(VENV_BIN / "cmo"), "apikey", "create", "--tenant", "bench"],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        self.key = out.strip().splitlines()[-1]
        self.procs: list[subprocess.Popen] = []
        self._flush_redis()

    def _flush_redis(self) -> None:
        import redis

        r = redis.Redis.from_url(self.redis_url)
        for key in r.scan_iter("cmo:*"):
            r.delete(key)
        r.close()

    def spawn(self, args: list[str], log_name: str) -> subprocess.Popen:
        log = open(Path(self.home) / log_name, "wb")  # noqa: SIM115
        proc = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.procs.append(proc)
        return proc

    def serve(self, port: int, *extra: str) -> subprocess.Popen:
        proc = self.spawn([str(VENV_BIN / "cmo"), "serve", "--port", str(port), "--workers-inline", "0", *extra], "serve.log")
        wait_http(port, "/healthz")
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self) -> None:
        import psycopg

        for proc in self.procs:
            self.stop(proc)
        self._flush_redis()
        with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')


def serve_bare_factory(factory: str, port: int, processes: int) -> None:
    """Serve a bench's bare app (`module:function`, a factory of this directory) with uvicorn, in
    `processes` processes: uvicorn imports the factory by name in each."""
    import uvicorn

    uvicorn.run(
        factory,
        factory=True,
        app_dir=str(Path(__file__).resolve().parent),
        workers=processes,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


def wait_http(port: int, path: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing answers on port {port}{path}")


class KeepAliveClient:
    """One HTTP/1.1 keep-alive connection, minimal: requests with Content-Length responses only."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        extra = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body or method == "POST" else ""
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{self.head}{extra}\r\n".encode() + body)
        assert self.reader is not None
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        payload = await self.reader.readexactly(length)
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# ---------------------------------------------------------------- SSE clients


class Fanout:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.sent: list[float] = []  # the `t_send` of each latency, to measure cmo's from its commit too
        self.ready = 0
        self.errors = 0
        self.all_ready = asyncio.Event()
        self.expected = 0

    def failed(self, exc: BaseException) -> None:
        """A stream that never started: counted, and no longer waited for."""
        self.errors += 1
        if self.errors <= 3:
            print(f"  client error: {exc!r}", file=sys.stderr)
        self.expected -= 1
        if self.ready >= self.expected:
            self.all_ready.set()


class SSEClient(asyncio.Protocol):
    """One SSE stream read in the transport's callback: no task wakes up per chunk, so the load
    generator, which shares the machine with the server, spends as little as it can per delivery
    (the earlier StreamReader client took ~20-30 µs a chunk, and read 1,000 streams per event
    one after another: part of every latency measured was the client's own queue)."""

    def __init__(self, request: bytes, stats: Fanout, done: asyncio.Future[None]) -> None:
        self.request, self.stats, self.done = request, stats, done
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.buffer = b""
        self.streaming = False
        self.ready = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if not self.streaming:
            self.head += data
            if b"\r\n\r\n" not in self.head:
                return
            head, _, data = self.head.partition(b"\r\n\r\n")
            if b" 200 " not in head.split(b"\r\n", 1)[0]:
                self._fail(RuntimeError(head[:200]))
                return
            self.streaming = True
            if not data:
                return
        if not self.ready:
            self.ready = True
            self.stats.ready += 1
            if self.stats.ready >= self.stats.expected:
                self.stats.all_ready.set()
        buffer = self.buffer + data
        # chunked transfer encoding: size lines never contain `"t_send":`, so scan the raw bytes;
        # a number is complete once a non-digit follows it, else it waits for the next chunk
        keep = max(0, len(buffer) - 16)
        start = 0
        while (i := buffer.find(b'"t_send":', start)) != -1:
            end = i + 9
            while end < len(buffer) and buffer[end] in b"0123456789.e-":
                end += 1
            if end >= len(buffer):
                keep = i
                break
            sent = float(buffer[i + 9 : end])
            self.stats.latencies.append(now - sent)
            self.stats.sent.append(sent)
            start = keep = end
        self.buffer = buffer[keep:]
        if b"job.cancelled" in data or b"event: end" in data:
            self.transport.close()  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            if not self.streaming:
                self._fail(exc or ConnectionError("closed before the response"))
            else:  # deliveries lost mid-stream show in the deliveries count
                self.done.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        self.stats.failed(exc)
        if self.transport is not None:
            self.transport.close()
        if not self.done.done():
            self.done.set_result(None)


async def sse_client(port: int, path: str, headers: str, stats: Fanout) -> None:
    """Open one SSE stream, count it ready at the first frame, record `now - t_send` of every
    frame carrying `"t_send"` until the stream ends."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n{headers}\r\n".encode()
    try:
        await loop.create_connection(lambda: SSEClient(request, stats, done), "127.0.0.1", port)
    except OSError as exc:
        stats.failed(exc)
        return
    await done


async def connect_all(port: int, path: str, headers: str, clients: int, stats: Fanout, batch: int) -> list[asyncio.Task]:
    stats.expected = clients
    tasks = []
    for i in range(0, clients, batch):
        for _ in range(min(batch, clients - i)):
            tasks.append(asyncio.create_task(sse_client(port, path, headers, stats)))
        await asyncio.sleep(0.05)
    try:
        async with asyncio.timeout(180):
            await stats.all_ready.wait()
    except TimeoutError:
        print(f"  only {stats.ready}/{clients} streams ready after 180 s", file=sys.stderr)
    return tasks


def report(
    label: str,
    clients: int,
    stats: Fanout,
    rss_before: int,
    rss_after: int,
    events: int,
    committed: dict[float, float] | None = None,
) -> dict:
    lat_ms = [x * 1000 for x in stats.latencies]
    result = {
        "p50": percentile(lat_ms, 50),
        "p99": percentile(lat_ms, 99),
        "max": max(lat_ms) if lat_ms else float("nan"),
        "kib_per_conn": (rss_after - rss_before) / max(stats.ready, 1),
    }
    print(
        f"{label}: clients {clients} ready {stats.ready} errors {stats.errors} deliveries {len(lat_ms)}/{stats.ready * events}"
        f"  latency p50 {result['p50']:.1f} ms p99 {result['p99']:.1f} ms max {result['max']:.1f} ms"
        f"  server RSS {rss_before / 1024:.0f} -> {rss_after / 1024:.0f} MiB = {result['kib_per_conn']:.1f} KiB/connection"
    )
    if committed:  # the same deliveries timed from the moment each event was committed (cmo only)
        after = [(lat - (committed[sent] - sent)) * 1000 for lat, sent in zip(stats.latencies, stats.sent, strict=True)]
        result |= {"p50_commit": percentile(after, 50), "p99_commit": percentile(after, 99)}
        commits = sorted((committed[sent] - sent) * 1000 for sent in set(stats.sent))
        print(
            f"{' ' * len(label)}  from the commit: p50 {result['p50_commit']:.1f} ms p99 {result['p99_commit']:.1f} ms"
            f"  (append + commit took p50 {percentile(commits, 50):.1f} ms, max {commits[-1]:.1f} ms)"
        )
    return result


# ---------------------------------------------------------------- runs


async def run_cmo(service: Service, port: int, pid: int, clients: int, events: int, rate: float, batch: int) -> dict:
    import httpx

    from api.core.config import ApiConfig
    from api.core.database import Database
    from api.services.bus import create_event_bus
    from api.services.events import append_event, bind_event_bus
    from foundation.settings import Settings
    from storage.encrypted_types import bind_keyring
    from storage.keyring import get_keyring

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {service.key}"}) as http:
        job = (await http.post("/api/jobs", json={"goal": "Find Python maintainers active in ML", "max_prospects": 10})).json()
    job_id = job["id"]
    settings = Settings(database_url=service.database_url, redis_url=service.redis_url, cmo_home=Path(service.home))
    config = ApiConfig(github_sandbox=open_sandbox)
    database = Database(settings, config)
    bind_keyring(get_keyring(settings))  # events are sealed like the workers' (the keys of `cmo keys init`)
    bus = create_event_bus(settings.redis_url, config)
    await bus.start()
    bind_event_bus(database, bus)
    # warm-up (not timed): the first append opened the bench's connection and read the keys, which
    # delayed that one event, and so 5% of the deliveries, by ~50 ms
    async with database.sessions() as session, session.begin():
        await append_event(session, job_id, "job.progress", {"warm_up": True})
    stats = Fanout()
    rss_before = rss_kib(pid)
    tasks = await connect_all(
        port, f"/api/jobs/{job_id}/events", f"Authorization: Bearer {service.key}\r\n", clients, stats, batch
    )
    await asyncio.sleep(1)
    rss_after = rss_kib(pid)
    committed: dict[float, float] = {}
    for n in range(events):
        sent = time.time()
        async with database.sessions() as session, session.begin():
            await append_event(session, job_id, "job.progress", {"n": n, "t_send": sent})
        committed[sent] = time.time()
        await asyncio.sleep(1 / rate)
    async with database.sessions() as session, session.begin():
        await append_event(session, job_id, "job.cancelled", {"reason": "bench over"})
    try:
        async with asyncio.timeout(60):
            await asyncio.gather(*tasks)
    except TimeoutError:
        print("  some streams did not end within 60 s", file=sys.stderr)
    await bus.close()
    await database.dispose()
    return report("cmo serve  ", clients, stats, rss_before, rss_after, events, committed)


async def run_bare(service: Service, port: int, pid: int, clients: int, events: int, rate: float, batch: int) -> dict:
    from redis.asyncio import Redis

    redis = Redis.from_url(service.redis_url)
    stats = Fanout()
    rss_before = rss_kib(pid)
    tasks = await connect_all(port, "/events", "", clients, stats, batch)
    await asyncio.sleep(1)
    rss_after = rss_kib(pid)
    for n in range(events):
        await redis.publish("bench:bare", json.dumps({"n": n, "t_send": time.time()}, separators=(",", ":")))
        await asyncio.sleep(1 / rate)
    await redis.publish("bench:bare", "END")
    try:
        async with asyncio.timeout(60):
            await asyncio.gather(*tasks)
    except TimeoutError:
        print("  some streams did not end within 60 s", file=sys.stderr)
    await redis.aclose()
    return report("bare sse   ", clients, stats, rss_before, rss_after, events)


def bare_app(redis_url: str):
    """A bare sse-starlette broadcaster: one Redis subscriber, one queue per client, encoded per client."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI
    from redis.asyncio import Redis
    from sse_starlette.sse import EventSourceResponse, ServerSentEvent

    queues: set[asyncio.Queue] = set()

    async def pump() -> None:
        redis = Redis.from_url(redis_url)
        pubsub = redis.pubsub()
        await pubsub.subscribe("bench:bare")
        async for message in pubsub.listen():
            if message["type"] == "message":
                for q in list(queues):
                    q.put_nowait(message["data"].decode())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        task = asyncio.create_task(pump())
        yield
        task.cancel()

    app = FastAPI(lifespan=lifespan)

    @app.get("/events")
    async def events() -> EventSourceResponse:
        queue: asyncio.Queue = asyncio.Queue()
        queues.add(queue)

        async def generate():
            try:
                yield ServerSentEvent(data=json.dumps({"hello": True}), event="hello")
                while True:
                    data = await queue.get()
                    if data == "END":
                        yield ServerSentEvent(data="{}", event="end")
                        return
                    yield ServerSentEvent(data=data, event="job.progress")
            finally:
                queues.discard(queue)

        return EventSourceResponse(generate(), send_timeout=30)

    return app


def bare_factory():
    """`bare_app` for uvicorn's own processes (`--processes N`): it imports the app by name in each."""
    return bare_app(os.environ["BENCH_REDIS_URL"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2.0, help="events per second")
    parser.add_argument("--connect-batch", type=int, default=100, help="connections opened per 50 ms")
    parser.add_argument("--processes", type=int, default=1, help="API processes of both servers (`cmo serve --processes`)")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    raise_fd_limit()
    if args.serve_bare:
        os.environ["BENCH_REDIS_URL"] = args.redis_url
        serve_bare_factory("sse_fanout:bare_factory", args.serve_bare, args.processes)
        return
    sys.path.insert(0, str(ROOT))
    service = Service(redis_db=13)
    try:
        print(
            f"{args.clients} clients, {args.events} events at {args.rate}/s, {args.processes} server process(es),"
            " load client in this process (same machine)"
        )
        port = free_port()
        proc = service.serve(port, "--processes", str(args.processes))
        cmo = uvloop.run(run_cmo(service, port, proc.pid, args.clients, args.events, args.rate, args.connect_batch))
        service.stop(proc)
        port = free_port()
        bare = service.spawn(
            [
                sys.executable,
                __file__,
                "--serve-bare",
                str(port),
                "--redis-url",
                service.redis_url,
                "--processes",
                str(args.processes),
            ],
            "bare.log",
        )
        wait_http(port, "/docs")
        base = uvloop.run(run_bare(service, port, bare.pid, args.clients, args.events, args.rate, args.connect_batch))
        service.stop(bare)
        print(
            f"ratio cmo/bare: p50 {cmo['p50'] / base['p50']:.2f}x  p99 {cmo['p99'] / base['p99']:.2f}x"
            f"  memory/connection {cmo['kib_per_conn'] / base['kib_per_conn']:.2f}x"
        )
    finally:
        service.close()


if __name__ == "__main__":
    main()
