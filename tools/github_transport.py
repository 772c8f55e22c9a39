"""The HTTP layer under PyGithub: budget, conditional requests, rate limits and retries.

PyGithub has no ETag cache, no per-job budget and (with `retry=None`) no backoff, so this
`requests` adapter, mounted on PyGithub's session, adds them in one place for every call:
- counts every request in GitHub's own bucket (`core`, `search`), read from the response's
  `X-RateLimit-Resource` when GitHub names it, else from the path; GraphQL spends points, not
  requests: `tools/github_graphql.py` adds each query's `rateLimit { cost }` (`RateBudget.spend_points`);
- refuses to send once the job's budget for that bucket is spent (`BudgetExhausted`);
- sends `If-None-Match` from the ETag cache and turns a 304 back into the cached 200;
- reads `x-ratelimit-*` per bucket into `RateBudget` and, when a bucket's primary limit is spent,
  waits for that bucket's reset if it is within `max_wait`, else raises `RateLimitExhausted`
  (callers stop with partial results); only requests of the spent bucket wait, the others go on;
- retries 5xx and secondary rate limits, honouring `Retry-After`, with jittered exponential backoff,
  each retry with the current token (an App's installation token may have been renewed meanwhile).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, get_args
from urllib.parse import urlsplit

import requests
from github.Auth import Auth
from requests.adapters import HTTPAdapter

from foundation.schemas.run import BucketName, BucketUse, GitHubBudget
from tools.etag_cache import CachedResponse, ETagCache

_ORIGIN = "{origin}"
RETRY_STATUSES = frozenset({500, 502, 503, 504})
_RATE_HEADERS = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-used",
    "x-ratelimit-reset",
    "x-ratelimit-resource",
)
# The cached body is stored decoded, so transport-level headers must not be replayed with it.
_DROP_HEADERS = frozenset({*_RATE_HEADERS, "content-encoding", "content-length", "transfer-encoding", "connection"})


class GitHubError(Exception):
    """A GitHub answer we cannot use (bad credentials, unreachable server, malformed query)."""


class GitHubStop(Exception):
    """The run must stop talking to GitHub; what was gathered so far is kept.

    `bucket` is the rate-limit bucket that ran dry; None when every request is refused (a token
    that could not be renewed, say).
    """

    bucket: BucketName | None = None

    @property
    def stops_core(self) -> bool:
        """Whether REST core requests are stopped too: not after a spent search bucket alone."""
        return self.bucket in (None, "core")


class BudgetExhausted(GitHubStop):
    """The per-job budget of one bucket is spent."""

    def __init__(self, bucket: BucketName, limit: int) -> None:
        super().__init__(f"the job's GitHub {bucket} request budget ({limit}) is spent")
        self.bucket = bucket


class RateLimitExhausted(GitHubStop):
    """GitHub's rate limit of one bucket is spent and its reset is further away than we may wait."""

    def __init__(self, bucket: BucketName, message: str) -> None:
        super().__init__(message)
        self.bucket = bucket


BUCKETS: tuple[BucketName, ...] = get_args(BucketName)


def bucket_of(path: str) -> BucketName:
    """GitHub's bucket for a request path (GHES's `/api/v3` and `/api` prefixes allowed)."""
    parts = path.strip("/").split("/")
    if parts[:2] == ["api", "v3"]:
        parts = parts[2:]
    elif parts[:1] == ["api"] and parts[1:2] == ["graphql"]:
        parts = parts[1:]
    return "search" if parts[:1] == ["search"] else "graphql" if parts == ["graphql"] else "core"


@dataclass
class BucketCounters:
    """One bucket's use by this job: requests (GraphQL: points) that counted, 304s, retries, and
    what GitHub last said about it."""

    limit: int
    counted: int = 0
    not_modified: int = 0
    retries: int = 0
    remaining: int | None = None
    reset_at: float | None = None


@dataclass
class RateBudget:
    """Per-bucket counters shared by every thread of one client (guarded by a lock).

    `max_requests` is the core budget (the setting predates buckets, GITHUB_MAX_REQUESTS);
    `max_search_requests` the search one; `max_graphql_points` the GraphQL one, in GitHub's points.
    """

    max_requests: int
    max_search_requests: int = 1000
    max_graphql_points: int = 5000
    buckets: dict[BucketName, BucketCounters] = field(init=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        limits = {"core": self.max_requests, "search": self.max_search_requests, "graphql": self.max_graphql_points}
        self.buckets = {name: BucketCounters(limits[name]) for name in BUCKETS}

    @property
    def counted(self) -> int:
        """REST requests that counted (core + search), the `api_requests` of a run."""
        with self.lock:
            return self.buckets["core"].counted + self.buckets["search"].counted

    @property
    def not_modified(self) -> int:
        with self.lock:
            return sum(b.not_modified for b in self.buckets.values())

    @property
    def retries(self) -> int:
        with self.lock:
            return sum(b.retries for b in self.buckets.values())

    def count_cached(self, bucket: BucketName) -> None:
        """An answer served from the cache, which GitHub never saw."""
        with self.lock:
            self.buckets[bucket].not_modified += 1

    def spend_points(self, points: int) -> None:
        """Count a GraphQL query's cost, as GitHub reported it, in the `graphql` bucket."""
        with self.lock:
            self.buckets["graphql"].counted += points

    def left(self) -> int:
        """Core requests the job may still send (the bucket nearly every call spends)."""
        with self.lock:
            core = self.buckets["core"]
            return max(core.limit - core.counted, 0)

    def report(self) -> GitHubBudget:
        """The job's use per bucket and in budget units, as `summary.json` reports it."""
        with self.lock:
            uses = {
                name: BucketUse(requests=b.counted, saved_by_cache=b.not_modified, retries=b.retries, remaining=b.remaining)
                for name, b in self.buckets.items()
            }
        return GitHubBudget(
            core=uses["core"],
            search=uses["search"],
            graphql=uses["graphql"],
            budget_units=sum(u.requests for u in uses.values()),
        )


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
        bucket = bucket_of(urlsplit(request.url or "").path)
        attempt = 0
        while True:
            waited = self._await_reset(bucket)
            if (attempt or waited) and self.auth is not None:  # a request held back may outlive its token
                request.headers["Authorization"] = f"{self.auth.token_type} {self.auth.token}"
            self._reserve(bucket)
            try:
                with self._slots:
                    response = super().send(request, **kwargs)
            except Exception:
                self._release(bucket)  # never answered: GitHub counted nothing
                raise
            bucket = self._record(response, bucket)
            delay = self._retry_delay(response, attempt, bucket)
            if delay is None:
                break
            attempt += 1
            with self.budget.lock:
                self.budget.buckets[bucket].retries += 1
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

    def _await_reset(self, bucket: BucketName) -> bool:
        """Hold back a request whose bucket GitHub last reported spent until its reset (raising when
        that is beyond `max_wait`), rather than spend a request on a certain 403; True if it waited.
        Requests of other buckets are not held back."""
        with self.budget.lock:
            counters = self.budget.buckets[bucket]
            spent = counters.remaining == 0 and counters.reset_at is not None
            wait = max((counters.reset_at or 0.0) - time.time(), 0.0) if spent else 0.0
        if not wait:
            return False
        self._sleep(self._bounded(wait, bucket, "rate limit") + 0.5)  # reset is in whole seconds
        with self.budget.lock:
            if counters.remaining == 0:
                counters.remaining = None  # unknown until the next response reports it
        return True

    def _reserve(self, bucket: BucketName) -> None:
        """Count the request before it is sent, so that parallel requests cannot overrun the budget;
        `_record` gives the count back for what GitHub does not count."""
        with self.budget.lock:
            counters = self.budget.buckets[bucket]
            if counters.counted >= counters.limit:
                raise BudgetExhausted(bucket, counters.limit)
            if bucket != "graphql":  # points are known only from the answer
                counters.counted += 1

    def _release(self, bucket: BucketName) -> None:
        if bucket != "graphql":
            with self.budget.lock:
                self.budget.buckets[bucket].counted -= 1

    def _record(self, response: requests.Response, guessed: BucketName) -> BucketName:
        """Count the response in its bucket (GitHub's `X-RateLimit-Resource` wins over the path's guess)."""
        headers = response.headers
        named = headers.get("x-ratelimit-resource")
        bucket: BucketName = next((b for b in BUCKETS if b == named), guessed)
        self._release(guessed)  # counted again below, in GitHub's bucket, if GitHub counts it
        with self.budget.lock:
            counters = self.budget.buckets[bucket]
            if response.status_code == 304:
                counters.not_modified += 1
            elif bucket != "graphql" and not urlsplit(response.url or "").path.endswith("/rate_limit"):
                counters.counted += 1
            if "x-ratelimit-remaining" in headers:
                counters.remaining = int(headers["x-ratelimit-remaining"])
            if "x-ratelimit-reset" in headers:
                counters.reset_at = float(headers["x-ratelimit-reset"])
        return bucket

    def _retry_delay(self, response: requests.Response, attempt: int, bucket: BucketName) -> float | None:
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
            return self._bounded(float(retry_after), bucket, "secondary rate limit")
        if response.headers.get("x-ratelimit-remaining") == "0":
            reset = float(response.headers.get("x-ratelimit-reset", time.time()))
            return self._bounded(max(reset - time.time(), 0.0), bucket, "rate limit") + 0.5  # reset is in whole seconds
        if "secondary rate limit" in response.text.lower():
            return self._bounded(60.0 * (2**attempt), bucket, "secondary rate limit")
        return None

    def _backoff(self, attempt: int) -> float:
        return self.backoff_base * (2**attempt) * (0.5 + random.random())

    def _bounded(self, seconds: float, bucket: BucketName, what: str) -> float:
        if seconds > self.max_wait:
            raise RateLimitExhausted(
                bucket,
                f"GitHub {bucket} {what} reached; reset in {seconds:.0f}s exceeds GITHUB_MAX_WAIT_SECONDS={self.max_wait:.0f}",
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
