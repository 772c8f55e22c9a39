"""A requests- and tokens-per-minute limit shared by a run's concurrent model calls.

Providers cap both (OpenAI's RPM and TPM, a self-hosted server's queue), and a run that drafts 40
messages 8 at a time reaches either cap quickly: every 429 costs a retry and counts towards the
circuit breaker. The limit holds a call back until the last minute's requests and tokens leave room
for it, so the run waits instead of failing. A call's tokens are estimated before it is sent (the
prompt, roughly) and corrected by the usage its answer reports.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 60.0
# A request reaches the provider a little after the limit admits it (a thread switch, a connection,
# serialisation): without a margin, requests admitted 60 s apart can arrive less than 60 s apart and
# the provider counts one more than the limit in its minute (measured: +5 of 30 at 8 in flight,
# bench/personalisation_throughput.py). So a request leaves the window a second late.
TRANSIT_MARGIN_SECONDS = 1.0
_HELD_SECONDS = WINDOW_SECONDS + TRANSIT_MARGIN_SECONDS


@dataclass
class Ticket:
    """One admitted call: when it was admitted and the tokens it counts for (corrected by `settle`)."""

    at: float
    tokens: int


class MinuteLimit:
    """At most `requests_per_minute` calls and `tokens_per_minute` tokens in any 60 s (None: no cap),
    as the provider counts them on arrival (`TRANSIT_MARGIN_SECONDS`).

    A call larger than the whole token cap is admitted alone once the window is empty, rather than never.
    """

    def __init__(
        self,
        requests_per_minute: int | None,
        tokens_per_minute: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._clock = clock
        self._window: deque[Ticket] = deque()
        self._lock = threading.Lock()

    def acquire(self, tokens: int, stop: threading.Event) -> tuple[Ticket, float] | None:
        """Wait until a call of `tokens` fits; the ticket and the seconds waited, or None when `stop`
        was set while waiting (the circuit breaker opened: the call must not be sent at all)."""
        started = self._clock()
        while True:
            with self._lock:
                now = self._clock()
                while self._window and self._window[0].at <= now - _HELD_SECONDS:
                    self._window.popleft()
                if self._fits(tokens):
                    ticket = Ticket(now, tokens)
                    self._window.append(ticket)
                    return ticket, now - started
                wait = self._window[0].at + _HELD_SECONDS - now
            if stop.wait(max(wait, 0.01)):
                return None

    def settle(self, ticket: Ticket, tokens: int) -> None:
        """Count the tokens the answer reported instead of the estimate."""
        with self._lock:
            ticket.tokens = tokens

    def _fits(self, tokens: int) -> bool:
        if not self._window:
            return True
        if self.requests_per_minute is not None and len(self._window) >= self.requests_per_minute:
            return False
        used = sum(ticket.tokens for ticket in self._window)
        return self.tokens_per_minute is None or used + tokens <= self.tokens_per_minute
