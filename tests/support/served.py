"""The scaffolding every local HTTP stub of the tests shares: a `ThreadingHTTPServer` on a free
127.0.0.1 port, served from a daemon thread, started and stopped (or used as a context manager)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self


class ServedStub:
    """Subclasses build their handler class and call `_listen(handler)` in `__init__`."""

    scheme = "http"
    _server: ThreadingHTTPServer
    _thread: threading.Thread

    def _listen(self, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        return self._server

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()
