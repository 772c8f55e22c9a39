"""What the browser tests need: the service on a real port (uvicorn in a thread of the test process,
so a test can hand it its own GitHub sandbox) and the system's Chromium for Playwright.

Playwright's own browser download cannot work here (no internet): the tests launch Debian's
`chromium` through `executable_path`; `.ci/run` installs it when missing. Without it, the tests
skip locally and fail in CI (`CI=true`), like those needing Postgres or Redis.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn

from api.app import create_app
from api.core.config import ApiConfig
from foundation.settings import Settings

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str:
    """The system Chromium (CHROMIUM_PATH wins); a skip, or a failure in CI, without one."""
    found = os.environ.get("CHROMIUM_PATH") or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if found:
        return found
    message = "Chromium is missing: `apt-get install -y chromium` (.ci/run does it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(settings: Settings, config: ApiConfig) -> Iterator[str]:
    """`create_app(settings, config)` served by uvicorn on a free port until the block ends; yields its URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, config), host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting (see the log above)"
        assert time.monotonic() < deadline, "the server did not start in 60 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright's `Browser`)."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


class CuttableProxy:
    """A TCP proxy in front of a server whose open connections a test can cut at once, as a flaky
    network does: what the browser then sees is a real dropped connection, not an emulated one."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.lock = threading.Lock()
        self.open: list[socket.socket] = []
        self.cuts = 0
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self.lock:
                self.open += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        """Reset every connection open now (new ones are served as before)."""
        with self.lock:
            sockets, self.open = self.open, []
            self.cuts += 1
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()
        self.cut()


@contextmanager
def cuttable(url: str) -> Iterator[tuple[str, CuttableProxy]]:
    """A `CuttableProxy` in front of the server at `url`; yields the proxy's URL and the proxy."""
    proxy = CuttableProxy(int(url.rsplit(":", 1)[1]))
    try:
        yield f"http://127.0.0.1:{proxy.port}", proxy
    finally:
        proxy.close()
