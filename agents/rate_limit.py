"""A requests- and tokens-per-minute limit shared by a run's concurrent model calls.

Providers cap both (OpenAI's RPM and TPM, a self-hosted server's queue), and a run that drafts 40
messages 8 at a time reaches either cap quickly: every 429 costs a retry and counts towards the
circuit breaker. The limit holds a call back until the last minute's requests and tokens leave room
for it, so the run waits instead of failing. A call's tokens are estimated before it is sent (the
prompt, roughly) and corrected by the usage its answer reports.

The provider counts a request when it arrives, which is some time after the limit admitted it (a
thread switch, a connection, a busy machine) and before it answers. So a request counts from its
admission until a minute after its answer (`finish`): any requests that arrive within one minute
were then all counted at once, when the last of them was admitted, and so are never more than the
limit, however long the way to the provider took. (Counting from admission to admission + 60 s let
the server see 904 requests in a minute under a limit of 900: bench/personalisation_throughput.py.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 60.0
_POLL_SECONDS = 0.05  # how often a call waiting only for answers looks again


@dataclass
class Ticket:
    """One admitted call: when it was admitted, when it was answered (None: in flight) and the
    tokens it counts for (corrected by `settle`)."""

    at: float
    tokens: int
    done: float | None = None


class MinuteLimit:
    """At most `requests_per_minute` calls and `tokens_per_minute` tokens in any 60 s at the provider
    (None: no cap); each call counts from its admission until a minute after its answer.

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
        self._window: list[Ticket] = []
        self._lock = threading.Lock()

    def acquire(self, tokens: int, stop: threading.Event) -> tuple[Ticket, float] | None:
        """Wait until a call of `tokens` fits; the ticket and the seconds waited, or None when `stop`
        was set while waiting (the circuit breaker opened: the call must not be sent at all)."""
        started = self._clock()
        while True:
            with self._lock:
                now = self._clock()
                self._window = [t for t in self._window if t.done is None or t.done > now - WINDOW_SECONDS]
                if self._fits(tokens):
                    ticket = Ticket(now, tokens)
                    self._window.append(ticket)
                    return ticket, now - started
                # the first answered call to leave; with every counted call still in flight, look again soon
                wait = min((t.done + WINDOW_SECONDS - now for t in self._window if t.done is not None), default=_POLL_SECONDS)
            if stop.wait(max(wait, 0.01)):
                return None

    def finish(self, ticket: Ticket) -> None:
        """The call was answered (or failed): it leaves the window a minute from now."""
        with self._lock:
            ticket.done = self._clock()

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
