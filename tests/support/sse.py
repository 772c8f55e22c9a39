"""An SSE client for tests: parses `text/event-stream` line by line from an httpx streaming response,
so a test can read the events of a stream that is still open, one at a time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Sse:
    id: int
    event: str
    data: dict[str, Any]


class EventReader:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.comments: list[str] = []
        self._lines = response.aiter_lines()

    async def next(self, timeout: float = 5.0) -> Sse | None:
        """The next event, or None once the server has ended the stream."""
        fields: dict[str, str] = {}
        async with asyncio.timeout(timeout):
            while True:
                try:
                    line = await anext(self._lines)
                except StopAsyncIteration:
                    return None
                if line.startswith(":"):
                    self.comments.append(line)
                elif line:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                elif fields:
                    return Sse(int(fields["id"]), fields["event"], json.loads(fields["data"]))

    async def take(self, count: int, timeout: float = 5.0) -> list[Sse]:
        events = []
        for _ in range(count):
            event = await self.next(timeout)
            assert event is not None, f"the stream ended after {events}"
            events.append(event)
        return events

    async def rest(self, timeout: float = 5.0) -> list[Sse]:
        """Every event until the server ends the stream."""
        events = []
        while (event := await self.next(timeout)) is not None:
            events.append(event)
        return events


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, job_id: str, headers: dict[str, str], **params: Any
) -> AsyncIterator[EventReader]:
    async with client.stream("GET", f"/api/jobs/{job_id}/events", headers=headers, params=params) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        yield EventReader(response)
