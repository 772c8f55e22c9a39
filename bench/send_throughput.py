"""Benchmark: messages per hour `cmo send` hands to an SMTP server, caps off (SPEC: 10,000/h).

An aiosmtpd server (`SlowSink`: accepts and discards each message, after `--latency-ms` to stand in
for a real relay's answer time) runs as a separate process on 127.0.0.1; `cmo send` runs as another,
over a run directory of N approved leads with real drafts (the copywriter's footer, signed one-click
links), without DKIM and with a 2048-bit DKIM key, with 1 and with 4 parallel connections
(`CMO_SEND_CONNECTIONS`). Every message goes through the whole path: the send-time checks, the
outbox's durable claim and record (two SQLite commits with fsync), message building, the SMTP
transaction on a reused connection. Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.outreach import POSTAL, SENDER_EMAIL, lead, write_run
from tests.support.smtp import free_port

ROOT = Path(__file__).resolve().parent.parent


class SlowSink:
    """aiosmtpd handler (`-c send_throughput.SlowSink MS`): discards each message after MS milliseconds."""

    def __init__(self, delay_ms: float = 0.0) -> None:
        self.delay = delay_ms / 1000

    @classmethod
    def from_cli(cls, parser: argparse.ArgumentParser, *args: str) -> SlowSink:
        return cls(float(args[0]) if args else 0.0)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        await asyncio.sleep(self.delay)
        return "250 2.0.0 OK"


def wait_listening(port: int, deadline: float) -> None:
    import socket

    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the SMTP server did not listen on {port}")


def run(messages: int, dkim: bool, connections: int, work: Path, port: int) -> float:
    name = f"{'dkim' if dkim else 'plain'}-{connections}-{port}"
    run_dir = write_run(
        work / f"run-{name}",
        [lead(f"dev{n}", email=f"dev{n}@d{n % 500}.example-devs.org") for n in range(messages)],
        run_id=f"bench-{name}",
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CMO_HOME": str(work / f"home-{name}"),
        "CMO_SEND_CONNECTIONS": str(connections),
        "CMO_SMTP_URL": f"smtp://127.0.0.1:{port}?starttls=false",
        "CMO_SENDER_EMAIL": SENDER_EMAIL,
        "CMO_SENDER_POSTAL_ADDRESS": POSTAL,
        "CMO_SEND_DAILY_CAP": "0",
        "CMO_SEND_PER_HOUR": "0",
        "CMO_SEND_PER_DOMAIN_PER_HOUR": "0",
        "CMO_SEND_WARMUP_START": "0",
    }
    if dkim:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_file = work / "dkim.pem"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            )
        )
        env |= {"CMO_DKIM_SELECTOR": "bench", "CMO_DKIM_DOMAIN": "acme-devtools.io", "CMO_DKIM_PRIVATE_KEY_FILE": str(key_file)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "cli", "send", str(run_dir)], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or f"{messages} sent" not in done.stderr:
        raise SystemExit(f"cmo send failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--connections", default="1,4", help="comma-separated CMO_SEND_CONNECTIONS values")
    parser.add_argument("--latency-ms", default="0,50", help="comma-separated server answer delays")
    args = parser.parse_args()
    for latency in [float(x) for x in args.latency_ms.split(",")]:
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "send_throughput.SlowSink", str(latency)],
            env={**os.environ, "PYTHONPATH": f"{ROOT / 'bench'}{os.pathsep}{ROOT}"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_listening(port, time.monotonic() + 30)
            with tempfile.TemporaryDirectory(prefix="cmo-send-bench-") as tmp:
                for connections in [int(x) for x in args.connections.split(",")]:
                    for dkim in (False, True):
                        elapsed = run(args.messages, dkim, connections, Path(tmp), port)
                        print(
                            f"latency {latency:.0f} ms, {connections} connection(s), {'DKIM-signed' if dkim else 'unsigned'}: "
                            f"{args.messages} messages in {elapsed:.1f} s (process start included) = "
                            f"{args.messages / elapsed * 3600:,.0f} messages/hour",
                            flush=True,
                        )
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
