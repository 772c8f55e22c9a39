"""The HTTP layer under PyGithub: budget, conditional requests, rate limits and retries.

PyGithub has no ETag cache, no per-job budget and (with `retry=None`) no backoff, so this
`requests` adapter, mounted on PyGithub's session, adds them in one place for every call:
- refuses to send once the job's request budget is spent (`BudgetExhausted`);
- sends `If-None-Match` from the ETag cache and turns a 304 back into the cached 200;
- reads `x-ratelimit-*` into `RateBudget` and, when the primary limit is spent, waits for the reset
  if it is within `max_wait`, else raises `RateLimitExhausted` (callers stop with partial results);
- retries 5xx and secondary rate limits, honouring `Retry-After`, with jittered exponential backoff,
  each retry with the current token (an App's installation token may have been renewed meanwhile).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from github.Auth import Auth
from requests.adapters import HTTPAdapter

from tools.etag_cache import CachedResponse, ETagCache

_ORIGIN = "{origin}"
RETRY_STATUSES = frozenset({500, 502, 503, 504})
_RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset")
# The cached body is stored decoded, so transport-level headers must not be replayed with it.
_DROP_HEADERS = frozenset({*_RATE_HEADERS, "content-encoding", "content-length", "transfer-encoding", "connection"})


class GitHubError(Exception):
    """A GitHub answer we cannot use (bad credentials, unreachable server, malformed query)."""


class GitHubStop(Exception):
    """The run must stop talking to GitHub; what was gathered so far is kept."""


class BudgetExhausted(GitHubStop):
    """The per-job request budget is spent."""


class RateLimitExhausted(GitHubStop):
    """GitHub's rate limit is spent and its reset is further away than we may wait."""


@dataclass
class RateBudget:
    """Counters shared by every thread of one client (guarded by a lock)."""

    max_requests: int
    counted: int = 0
    not_modified: int = 0
    retries: int = 0
    remaining: dict[str, int] = field(default_factory=dict)
    reset_at: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "api_requests": self.counted,
                "api_requests_saved_by_cache": self.not_modified,
                "retries": self.retries,
                "budget_left": max(self.max_requests - self.counted, 0),
                "rate_remaining": dict(self.remaining),
            }


class GitHubTransport(HTTPAdapter):
    """A `requests` adapter that makes PyGithub budget-aware, cache-aware and patient."""

    def __init__(
        self,
        budget: RateBudget,
        cache: ETagCache | None,
        cache_namespace: str,
        *,
        max_wait: float,
        concurrency: int,
        max_retries_5xx: int = 4,
        backoff_base: float = 0.5,
        sleep: Any = time.sleep,
        auth: Auth | None = None,
    ) -> None:
        super().__init__(pool_connections=concurrency, pool_maxsize=concurrency, max_retries=0)
        self.budget = budget
        self.cache = cache
        self.namespace = cache_namespace
        self.max_wait = max_wait
        self.max_retries_5xx = max_retries_5xx
        self.backoff_base = backoff_base
        self._sleep = sleep
        self.auth = auth
        self._slots = threading.BoundedSemaphore(concurrency)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        key = self._cache_key(request)
        cached = self.cache.get(key) if key and self.cache else None
        # This adapter owns conditional requests: a validator it cannot answer a 304 for (one set by
        # PyGithub itself, say) would hand PyGithub an empty body.
        request.headers.pop("If-None-Match", None)
        if cached:
            request.headers["If-None-Match"] = cached.etag
        attempt = 0
        while True:
            if attempt and self.auth is not None:  # a request held back for minutes may outlive its token
                request.headers["Authorization"] = f"{self.auth.token_type} {self.auth.token}"
            self._reserve()
            with self._slots:
                response = super().send(request, **kwargs)
            self._record(response)
            delay = self._retry_delay(response, attempt)
            if delay is None:
                break
            attempt += 1
            with self.budget.lock:
                self.budget.retries += 1
            response.close()
            self._sleep(delay)
        if response.status_code == 304 and cached:
            return self._from_cache(response, cached, _origin(request.url))
        if key and self.cache and response.status_code == 200 and response.headers.get("ETag"):
            origin = _origin(request.url)
            body = response.content.replace(origin.encode(), _ORIGIN.encode())
            self.cache.put(key, CachedResponse(response.headers["ETag"], body, self._keep_headers(response, origin)))
        return response

    def _cache_key(self, request: requests.PreparedRequest) -> str | None:
        if request.method != "GET" or request.url is None:
            return None
        parts = urlsplit(request.url)
        return f"{self.namespace}|{parts.path}?{parts.query}"

    def _reserve(self) -> None:
        with self.budget.lock:
            if self.budget.counted >= self.budget.max_requests:
                raise BudgetExhausted(f"the job's GitHub request budget ({self.budget.max_requests}) is spent")

    def _record(self, response: requests.Response) -> None:
        headers = response.headers
        resource = headers.get("x-ratelimit-resource", "core")
        with self.budget.lock:
            if response.status_code == 304:
                self.budget.not_modified += 1
            elif not urlsplit(response.url or "").path.endswith("/rate_limit"):
                self.budget.counted += 1
            if "x-ratelimit-remaining" in headers:
                self.budget.remaining[resource] = int(headers["x-ratelimit-remaining"])
            if "x-ratelimit-reset" in headers:
                self.budget.reset_at[resource] = float(headers["x-ratelimit-reset"])

    def _retry_delay(self, response: requests.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying, None to hand the response on; raises when we must stop."""
        status = response.status_code
        if status in RETRY_STATUSES:
            if attempt >= self.max_retries_5xx:
                return None
            return self._backoff(attempt)
        if status not in (403, 429):
            return None
        retry_after = response.headers.get("Retry-After")
        if retry_after is not None:
            return self._bounded(float(retry_after), "secondary rate limit")
        if response.headers.get("x-ratelimit-remaining") == "0":
            reset = float(response.headers.get("x-ratelimit-reset", time.time()))
            return self._bounded(max(reset - time.time(), 0.0), "rate limit") + 0.5  # reset is in whole seconds
        if "secondary rate limit" in response.text.lower():
            return self._bounded(60.0 * (2**attempt), "secondary rate limit")
        return None

    def _backoff(self, attempt: int) -> float:
        return self.backoff_base * (2**attempt) * (0.5 + random.random())

    def _bounded(self, seconds: float, what: str) -> float:
        if seconds > self.max_wait:
            raise RateLimitExhausted(
                f"GitHub {what} reached; reset in {seconds:.0f}s exceeds GITHUB_MAX_WAIT_SECONDS={self.max_wait:.0f}"
            )
        return seconds

    @staticmethod
    def _keep_headers(response: requests.Response, origin: str) -> dict[str, str]:
        """Headers worth replaying; URLs lose their origin (the same API may come back on another host/port)."""
        kept = {k: v for k, v in response.headers.items() if k.lower() not in _DROP_HEADERS}
        if "Link" in kept:
            kept["Link"] = kept["Link"].replace(origin, _ORIGIN)
        return kept

    @staticmethod
    def _from_cache(response: requests.Response, cached: CachedResponse, origin: str) -> requests.Response:
        """Turn a 304 into the 200 it stands for, keeping the fresh rate-limit headers."""
        fresh = {k: v for k, v in response.headers.items() if k.lower() in _RATE_HEADERS}
        response.status_code = 200
        response.reason = "OK"
        response._content = cached.body.replace(_ORIGIN.encode(), origin.encode())
        response.headers.clear()
        response.headers.update({k: v.replace(_ORIGIN, origin) for k, v in cached.headers.items()})
        response.headers.update(fresh)
        return response


def _origin(url: str | None) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}"
