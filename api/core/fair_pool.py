"""A connection pool that serves waiting requests first come, first served.

Why: SQLAlchemy's `AsyncAdaptedQueuePool` keeps idle connections in an `asyncio.Queue`, which lets a
newcomer take a connection that was just returned for a waiter (the waiter was woken but has not run
yet), and a waiter that loses this race goes back to the *end* of the line. Under load (200 clients
on a pool of 30) a few requests lost again and again: `GET /api/jobs/{id}` had a median of 110 ms
and a p99 of 4 s, every slow request spending all of it inside one pool checkout
(bench/README.md). Here a returned connection is handed to the oldest waiter directly, nobody
passes a waiter, and an overflow connection returned while someone waits is handed on instead of
closed and reopened.

Only the queue changes; sizes, overflow, timeouts, pre-ping and recycling stay SQLAlchemy's.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, TypeVar

from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util import await_
from sqlalchemy.util.queue import Empty, Full, QueueCommon

_T = TypeVar("_T")


class HandoffQueue(QueueCommon[_T]):
    """FIFO idle items and FIFO waiters; `put` hands an item to the oldest live waiter if any.

    Runs on one event loop (the pool calls it from SQLAlchemy's greenlet bridge, inside the loop's
    thread), so plain deques need no lock."""

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        self.maxsize = maxsize
        self.use_lifo = use_lifo
        self._items: deque[_T] = deque()
        self._waiters: deque[asyncio.Future[_T]] = deque()

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._items)

    def qsize(self) -> int:
        return len(self._items)

    def put_nowait(self, item: _T) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(item)
                return
        if self.full():
            raise Full()
        self._items.append(item)

    def put(self, item: _T, block: bool = True, timeout: float | None = None) -> None:
        # The pool only ever returns connections without blocking (a full queue closes the extra one).
        self.put_nowait(item)

    def get_nowait(self) -> _T:
        if not self._items:
            raise Empty()
        return self._items.pop() if self.use_lifo else self._items.popleft()

    def get(self, block: bool = True, timeout: float | None = None) -> _T:
        if self._items or not block:
            return self.get_nowait()
        result: _T = await_(self._wait(timeout))
        return result

    async def _wait(self, timeout: float | None) -> _T:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[_T] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(timeout, self._expire, waiter) if timeout is not None else None
        try:
            return await waiter
        except asyncio.CancelledError:
            # The request was cancelled (client gone): it leaves the line, and a connection handed
            # to it meanwhile goes to the next waiter.
            if waiter.cancelled():
                self._waiters.remove(waiter)
            elif waiter.exception() is None:
                self.put_nowait(waiter.result())
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def _expire(self, waiter: asyncio.Future[_T]) -> None:
        if not waiter.done():
            self._waiters.remove(waiter)
            waiter.set_exception(Empty())


class FairAsyncQueuePool(AsyncAdaptedQueuePool):
    """`AsyncAdaptedQueuePool` with the first-come, first-served `HandoffQueue`."""

    _queue_class: Any = HandoffQueue
