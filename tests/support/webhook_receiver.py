"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records what it is sent."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    """Records requests; answers `fail_first` of them with 500, the rest with 200."""

    fail_first: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    answering: threading.Event = field(default_factory=threading.Event)  # cleared: requests wait before the answer

    def __post_init__(self) -> None:
        self.answering.set()

    def wait_for(self, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.requests) >= count, f"receiver got {len(self.requests)} requests, expected {count}"
        return self.requests


@contextmanager
def serving_receiver() -> Iterator[Receiver]:
    """A receiver on a free port until the block ends."""
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append({"at": time.monotonic(), "path": self.path, "headers": dict(self.headers), "body": body})
            state.answering.wait(30)
            self.send_response(500 if len(state.requests) <= state.fail_first else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/cmo"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
