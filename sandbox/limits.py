"""Rate-limit buckets and scheduled faults: the ways the sandbox says no, with GitHub's numbers and headers.

Kept apart from the request plumbing in `server.py` so the rules read on their own. Not locked here
on purpose: the server changes them under its one lock, together with its request counters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass
class Bucket:
    """One rate-limit resource: `limit` requests per `window` seconds, refilled at `reset` (epoch)."""

    limit: int
    window: float
    remaining: int
    reset: float

    def roll(self, now: float) -> None:
        if now >= self.reset:
            self.remaining, self.reset = self.limit, now + self.window

    def take(self, now: float, amount: int = 1) -> bool:
        """Spend one request (or a GraphQL query's points), False if the window's budget cannot pay;
        a 304 gives its request back afterwards."""
        self.roll(now)
        if self.remaining < amount:
            return False
        self.remaining -= amount
        return True

    def headers(self, resource: str) -> dict[str, str]:
        """The X-RateLimit-* headers GitHub puts on every response, errors included."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Used": str(self.limit - max(self.remaining, 0)),
            "X-RateLimit-Reset": str(math.ceil(self.reset)),
            "X-RateLimit-Resource": resource,
        }


def rate_limit_body(buckets: dict[str, Bucket], now: float) -> dict[str, Any]:
    """GET /rate_limit: every bucket rolled to `now` (core, search, graphql)."""
    resources = {}
    for name, bucket in buckets.items():
        bucket.roll(now)
        resources[name] = {
            "limit": bucket.limit,
            "remaining": bucket.remaining,
            "resource": name,
            "used": bucket.limit - bucket.remaining,
            "reset": math.ceil(bucket.reset),
        }
    return {"resources": resources, "rate": resources["core"]}


@dataclass
class Fault:
    """A scheduled answer for the next `times` requests under `prefix`."""

    prefix: str
    status: int
    times: int
    headers: dict[str, str]
    body: dict[str, Any]


def take_fault(scheduled: list[Fault], path: str) -> Fault | None:
    """The first scheduled fault covering `path`, used once; a spent fault leaves the schedule."""
    fault = next((f for f in scheduled if path.startswith(f.prefix)), None)
    if fault is not None:
        fault.times -= 1
        if fault.times <= 0:
            scheduled.remove(fault)
    return fault
