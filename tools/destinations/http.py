"""What every connector needs from HTTP: vendor limits honoured the same way everywhere.

- pacing: at most `rate_limit_per_second` requests (the vendor's documented per-app limit, set in
  the destination's config);
- retries of 429 and 5xx (and lost connections, not refused ones) with `Retry-After` honoured when the vendor sends
  it (seconds or an HTTP date, RFC 9110 §10.2.3), else exponential backoff with jitter; a wait
  longer than `max_wait` gives up rather than stall a sync;
- `batched()` for the vendors' batch-size caps.

`DestinationHTTP` is the httpx client of the connectors without a vendor SDK; `with_retries()` is
the same policy for SDK connectors, each of which says how to read its SDK's exception.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 5
MAX_WAIT_SECONDS = 60.0
BACKOFF_BASE_SECONDS = 0.5


class VendorHTTPError(Exception):
    """A request the vendor refused for good (or after every retry): status and the vendor's words."""

    def __init__(self, status: int, detail: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}: {detail}" if status else detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


class RetryLater(Exception):
    """Raised by a classifier: this failure may be retried, after `retry_after` seconds if the vendor said."""

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_seconds(attempt: int) -> float:
    """Exponential with full jitter: attempt 1 waits up to 0.5 s, 2 up to 1 s, ... capped at 30 s."""
    return random.uniform(0, min(30.0, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)))


class Pacer:
    """At most `per_second` calls a second from this process, across threads."""

    def __init__(self, per_second: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._sleep = sleep

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            self._sleep(delay)


def with_retries(
    call: Callable[[], T],
    classify: Callable[[Exception], None],
    *,
    pacer: Pacer | None = None,
    attempts: int = MAX_ATTEMPTS,
    max_wait: float = MAX_WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `call`, retrying what `classify` marks retryable (by raising `RetryLater`); anything else
    it re-raises or translates. The last failure is raised as it came."""
    for attempt in range(1, attempts + 1):
        if pacer:
            pacer.wait()
        try:
            return call()
        except Exception as exc:
            try:
                classify(exc)
            except RetryLater as later:
                wait = later.retry_after if later.retry_after is not None else backoff_seconds(attempt)
                if attempt == attempts or wait > max_wait:
                    raise exc from None
                sleep(wait)
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def batched(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), max(1, size)):
        yield list(items[start : start + size])


def classify_sdk_error(exc: Exception) -> None:
    """For SDKs whose exceptions carry `status` (and maybe `headers`), as OpenAPI-generated ones do;
    lost connections (the SDK's transport errors) are retried too."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status in RETRYABLE_STATUSES:
        headers = getattr(exc, "headers", None) or {}
        raise RetryLater(retry_after_seconds(headers.get("Retry-After")))
    if isinstance(exc, ConnectionError | TimeoutError) or type(exc).__name__ in {
        "MaxRetryError",
        "ProtocolError",
        "ConnectionError",
    }:
        raise RetryLater(None)


def _classify_httpx(exc: Exception) -> None:
    if isinstance(exc, VendorHTTPError) and exc.status in RETRYABLE_STATUSES:
        raise RetryLater(exc.retry_after)
    if isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.ConnectError):
        raise RetryLater(None)  # a lost connection or a timeout; a refused one (a wrong base_url) fails at once


class DestinationHTTP:
    """An httpx client with the policy above. `request()` returns the response of a 2xx (or of a
    status listed in `ok`), else raises `VendorHTTPError` with the vendor's message."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str],
        rate_limit_per_second: float,
        timeout: float = 15.0,
        attempts: int = MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)
        self.pacer = Pacer(rate_limit_per_second, sleep)
        self.attempts = attempts
        self._sleep = sleep

    def request(self, method: str, path: str, *, ok: frozenset[int] = frozenset(), **kwargs: Any) -> httpx.Response:
        def once() -> httpx.Response:
            response = self.client.request(method, path, **kwargs)
            if response.is_success or response.status_code in ok:
                return response
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            raise VendorHTTPError(response.status_code, _vendor_message(response), retry_after)

        try:
            return with_retries(once, _classify_httpx, pacer=self.pacer, attempts=self.attempts, sleep=self._sleep)
        except httpx.TransportError as exc:  # connectors see one error type, unreachable included
            raise VendorHTTPError(0, f"cannot reach {self.client.base_url}: {type(exc).__name__}") from exc

    def close(self) -> None:
        self.client.close()


def _vendor_message(response: httpx.Response) -> str:
    """The vendor's error text, bounded (no echo of whole bodies into logs)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        for key in ("message", "error", "detail", "errorMessage"):
            if isinstance(body.get(key), str):
                return str(body[key])[:200]
    return str(body)[:200]
