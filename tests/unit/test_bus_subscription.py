"""A stream's live subscription (api/services/bus.py): what it returns and when, on a real event loop."""

from __future__ import annotations

import asyncio

from api.services.bus import BusEvent, Subscription


def _event(seq: int) -> BusEvent:
    return BusEvent(seq, "job.progress", f"id: {seq}\n\n".encode())


async def test_events_wake_the_waiting_stream_at_once_and_arrive_together() -> None:
    subscription = Subscription(capacity=10)
    waiting = asyncio.create_task(subscription.receive(timeout=5))
    await asyncio.sleep(0)
    subscription.deliver(_event(1))
    subscription.deliver(_event(2))
    assert [e.seq for e in await asyncio.wait_for(waiting, 1) or []] == [1, 2]
    subscription.close()


async def test_silence_of_the_timeout_returns_none_however_long_the_stream_was_busy() -> None:
    subscription = Subscription(capacity=1000)
    loop = asyncio.get_running_loop()
    for seq in range(50):  # a busy stream: each wait ends with an event, well before its deadline
        waiting = asyncio.create_task(subscription.receive(timeout=0.3))
        await asyncio.sleep(0.005)
        subscription.deliver(_event(seq))
        assert [e.seq for e in await waiting or []] == [seq]
    started = loop.time()
    assert await subscription.receive(timeout=0.3) is None  # then nothing: it reads the table
    assert 0.25 <= loop.time() - started < 1.0
    started = loop.time()
    assert await subscription.receive(timeout=0.05) is None, "a shorter timeout than the last one"
    assert loop.time() - started < 0.25
    subscription.close()


async def test_a_full_buffer_or_a_lost_connection_sends_the_stream_to_the_table() -> None:
    subscription = Subscription(capacity=1)
    subscription.deliver(_event(1))
    subscription.deliver(_event(2))  # dropped: stale
    assert [e.seq for e in await subscription.receive(timeout=1) or []] == [1]
    assert await subscription.receive(timeout=1) is None
    waiting = asyncio.create_task(subscription.receive(timeout=5))
    await asyncio.sleep(0)
    subscription.mark_stale()
    assert await asyncio.wait_for(waiting, 1) is None
    subscription.close()


async def test_a_cancelled_wait_leaves_nothing_behind() -> None:
    subscription = Subscription(capacity=10)
    waiting = asyncio.create_task(subscription.receive(timeout=0.05))
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    await asyncio.sleep(0.1)  # the timer fires with nobody waiting
    assert subscription._waiter is None and subscription._timer is None
    subscription.deliver(_event(7))
    assert [e.seq for e in await subscription.receive(timeout=1) or []] == [7]
    subscription.close()
