"""GitHub's GraphQL API through PyGithub's requester, so the same session, token (or App installation
token) and transport (`tools/github_transport.py`: retries, rate-limit waits) serve both APIs.

GraphQL is where enrichment is cheap: one query of 50 people by aliases costs a few points where REST
spends 3-7 requests a person. What GraphQL cannot do, or a server that does not offer it, falls back
to REST: `GraphQLUnavailable` says why, and the caller switches for the rest of the run.

Points are GitHub's `rateLimit { cost }` of each answered query, added to the job's `graphql` bucket;
a query is not sent once the bucket's budget is spent (so the budget may be overrun by at most the
cost of the queries already under way).

GraphQL has no ETags, so a re-run would pay every point again: answers are kept in the ETag cache
(encrypted like it, erased with it) for `cache_seconds`, keyed by document and variables; the
queries ask day-stable windows so the same goal asked again the same day hits.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

import requests
from github import GithubException
from github.Requester import Requester

from tools.etag_cache import CachedResponse, ETagCache
from tools.github_transport import GitHubStop, RateBudget

ERRORS_SHOWN = 3
_EXPIRES = "graphql-expires:"  # a cached answer's "ETag" is its expiry time
_FETCHED = "fetched-at"  # a cached answer's "header": when GitHub gave it (its facts' provenance)


class GraphQLUnavailable(Exception):
    """GraphQL cannot serve this run (no token, no endpoint, persistent errors, its bucket spent):
    use REST. The message says why, for the run's summary."""


class GraphQLTimeout(GraphQLUnavailable):
    """The query took too long (GitHub stops a query after 10 s): a smaller one may pass."""


class GraphQLClient:
    """Typed-free transport of GraphQL documents; `tools.github_graphql_queries` builds and reads them."""

    def __init__(
        self,
        requester: Requester,
        budget: RateBudget,
        *,
        authenticated: bool,
        cache: ETagCache | None = None,
        cache_namespace: str = "",
        cache_seconds: float = 0,
    ) -> None:
        self._requester = requester
        self.budget = budget
        self.authenticated = authenticated
        self.url = requester.graphql_url
        self._cache, self._namespace, self._cache_seconds = cache, cache_namespace, cache_seconds

    def _cache_key(self, query: str, variables: dict[str, Any]) -> str:
        digest = hashlib.sha256(json.dumps([query, variables], sort_keys=True).encode()).hexdigest()
        return f"{self._namespace}|graphql|{digest}"

    def _cached(self, key: str) -> tuple[dict[str, Any], datetime] | None:
        """A live cached answer and when GitHub gave it (GraphQL has no revalidation: a cached answer
        is as old as its fetch, never "now")."""
        entry = self._cache.get(key) if self._cache is not None and self._cache_seconds > 0 else None
        if entry is None or not entry.etag.startswith(_EXPIRES) or float(entry.etag.removeprefix(_EXPIRES)) < time.time():
            return None
        body = json.loads(entry.body)
        if not isinstance(body, dict):
            return None
        fetched = entry.headers.get(_FETCHED)
        expires = float(entry.etag.removeprefix(_EXPIRES))
        at = datetime.fromisoformat(fetched) if fetched else datetime.fromtimestamp(expires - self._cache_seconds, UTC)
        return body, at

    def execute(self, query: str, variables: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]], datetime]:
        """`(data, not_found_paths, fetched_at)` of one query; aliases GitHub could not resolve are
        None in `data` and their top-level alias is listed. Every other error makes GraphQL unavailable."""
        if not self.authenticated:
            raise GraphQLUnavailable("GitHub's GraphQL API needs a token or a GitHub App; none is set")
        key = self._cache_key(query, variables)
        hit = self._cached(key)
        if hit is not None:
            cached, fetched_at = hit
            self.budget.count_cached("graphql")
            found = [e for e in cached.get("errors") or [] if e.get("type") == "NOT_FOUND"]
            return cached.get("data") or {}, found, fetched_at
        with self.budget.lock:
            bucket = self.budget.buckets["graphql"]
            if bucket.counted >= bucket.limit:
                raise GraphQLUnavailable(f"the job's GitHub GraphQL budget ({bucket.limit} points) is spent")
        try:
            _, body = self._requester.requestJsonAndCheck("POST", self.url, input={"query": query, "variables": variables})
        except GitHubStop as exc:
            raise GraphQLUnavailable(f"GraphQL stopped: {exc}") from exc
        except GithubException as exc:
            raise GraphQLUnavailable(f"GraphQL at {self.url} answered {exc.status}") from exc
        except requests.Timeout as exc:
            raise GraphQLTimeout(f"GraphQL at {self.url} timed out") from exc
        except Exception as exc:  # connection errors surface as many requests/urllib3 types
            raise GraphQLUnavailable(f"GraphQL at {self.url} unreachable: {type(exc).__name__}") from exc
        fetched_at = datetime.now(UTC)
        if not isinstance(body, dict):
            raise GraphQLUnavailable(f"GraphQL at {self.url} answered something that is not GraphQL")
        data = body.get("data") or {}
        cost = (data.get("rateLimit") or {}).get("cost")
        self.budget.spend_points(int(cost) if isinstance(cost, int) else 1)
        errors = body.get("errors") or []
        not_found = [e for e in errors if isinstance(e, dict) and e.get("type") == "NOT_FOUND"]
        other = [e for e in errors if e not in not_found]
        if other:
            messages = "; ".join(str(e.get("message", e))[:200] if isinstance(e, dict) else str(e)[:200] for e in other)
            limited = any(isinstance(e, dict) and e.get("type") == "RATE_LIMITED" for e in other)
            what = "GraphQL rate limit reached" if limited else "GraphQL query failed"
            raise GraphQLUnavailable(f"{what}: {messages[: 200 * ERRORS_SHOWN]}")
        if self._cache is not None and self._cache_seconds > 0:
            expires = f"{_EXPIRES}{time.time() + self._cache_seconds:.0f}"
            body_bytes = json.dumps({"data": data, "errors": not_found}).encode()
            self._cache.put(key, CachedResponse(expires, body_bytes, {_FETCHED: fetched_at.isoformat()}))
        return data, not_found, fetched_at
