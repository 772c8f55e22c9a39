"""GitHub's GraphQL API over a `World`: the request body in, GitHub's answer out.

Queries are parsed, validated and executed by graphql-core against GitHub's published schema
(vendored from `@octokit/graphql-schema`, see `data/README.md`), so a query the sandbox accepts is
one api.github.com accepts. Before executing, `graphql_cost` applies GitHub's pagination rules and
node limit and prices the query; the server's `charge` spends the points from its `graphql` bucket
(or refuses: RATE_LIMITED, HTTP 200 as on GitHub). Errors keep GitHub's shape: HTTP 200 with an
`errors` list; GitHub's own error kinds (NOT_FOUND, EXCESSIVE_PAGINATION, ...) as a top-level `type`.
HTTP, authentication and faults stay in `server.py`.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib.resources import files
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_client_schema,
    execute_sync,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from sandbox.graphql_cost import measure
from sandbox.graphql_paging import NotFound, iso
from sandbox.graphql_types import AccountNode, OrgNode, RepoNode, UserNode, account_node
from sandbox.world import EARLIEST, Account, World

SCHEMA_FILE = "github-graphql-schema.json.gz"
DOCS = "https://docs.github.com/graphql"
_UNDEFINED_FIELD = re.compile(r"Cannot query field '(?P<field>\w+)' on type '(?P<type>\w+)'\.")
# Who a token is on the sandbox: one fixed person outside the world (GitHub's errors name the user id).
VIEWER = Account(id=1, login="sandbox-viewer", type="User", created_at=EARLIEST)
Info = GraphQLResolveInfo


_SCHEMA_LOCK = threading.Lock()


def github_schema() -> GraphQLSchema:
    """GitHub's schema, built once, on the first GraphQL request (about 0.3 s). The lock keeps the
    first requests of a busy server (16 at once) from each building their own copy."""
    with _SCHEMA_LOCK:
        return _build_schema()


@lru_cache(maxsize=1)
def _build_schema() -> GraphQLSchema:
    raw = gzip.decompress((files("sandbox") / "data" / SCHEMA_FILE).read_bytes())
    schema = build_client_schema(json.loads(raw))
    # graphql-core 3.3 requires an implementation field to be deprecated only if its interface field
    # is; GitHub's schema breaks that rule in 9 places (PullRequest.databaseId vs Reactable, ...), so
    # validate() and execute() would refuse every query. It is GitHub's schema as GitHub serves it:
    # mark it checked.
    schema._validation_errors = []
    return schema


@dataclass(frozen=True)
class RateState:
    """The `graphql` bucket after a query was charged: what `rateLimit` reports."""

    limit: int
    remaining: int
    reset: float  # epoch seconds


@dataclass(frozen=True)
class GraphQLAnswer:
    status: int
    body: dict[str, Any]


Charge = Callable[[int], RateState | None]  # spend points, None when the bucket cannot pay


class QueryRoot:
    """The `Query` type's fields the sandbox serves."""

    def __init__(self, world: World, rate: RateState, cost: int, node_count: int) -> None:
        self.world = world
        self.viewer = UserNode(world, VIEWER)
        self._rate = {
            "cost": cost,
            "limit": rate.limit,
            "remaining": rate.remaining,
            "used": rate.limit - rate.remaining,
            "resetAt": iso(datetime.fromtimestamp(rate.reset, UTC)),
            "nodeCount": node_count,
        }

    def rateLimit(self, info: Info, **_: Any) -> dict[str, Any]:
        return self._rate

    def user(self, info: Info, login: str) -> UserNode:
        account = self.world.account(login)
        if account is None or account.type != "User":  # organizations and bots are not Users
            raise NotFound(f"Could not resolve to a User with the login of '{login}'.")
        return UserNode(self.world, account)

    def organization(self, info: Info, login: str) -> OrgNode:
        account = self.world.account(login)
        if account is None or account.type != "Organization":
            raise NotFound(f"Could not resolve to an Organization with the login of '{login}'.")
        return OrgNode(self.world, account)

    def repositoryOwner(self, info: Info, login: str) -> AccountNode | None:
        account = self.world.account(login)
        return account_node(self.world, account) if account and account.type != "Bot" else None

    def repository(self, info: Info, owner: str, name: str, **_: Any) -> RepoNode:
        repo = self.world.repo(f"{owner}/{name}")
        if repo is None:
            raise NotFound(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return RepoNode(self.world, repo)


def answer(world: World, payload: bytes, charge: Charge) -> GraphQLAnswer:
    """Run one `POST /graphql` body: `{"query": ..., "variables": {...}, "operationName": ...}`."""
    try:
        request = json.loads(payload or b"null")
    except ValueError:
        return GraphQLAnswer(400, {"message": "Problems parsing JSON", "documentation_url": DOCS})
    query = request.get("query") if isinstance(request, dict) else None
    if not isinstance(query, str):
        return _refused([GraphQLError("A query attribute must be specified and must be a string.")])
    variables = request.get("variables") or {}
    if isinstance(variables, str):  # some clients send the variables as a JSON string
        try:
            variables = json.loads(variables or "{}")
        except ValueError:
            variables = None
    if not isinstance(variables, dict):
        return _refused([GraphQLError("Variables are invalid JSON.")])
    operation_name = request.get("operationName") or None
    schema = github_schema()
    try:
        document, errors = _checked(query)
    except GraphQLError as exc:
        return _refused([exc])
    if errors:
        return _refused(errors)
    return _run(world, schema, document, variables, operation_name if isinstance(operation_name, str) else None, charge)


@lru_cache(maxsize=64)
def _checked(query: str) -> tuple[DocumentNode, list[GraphQLError]]:
    """A document parsed and validated once: clients send the same few documents again and again."""
    document = parse(query)
    return document, validate(github_schema(), document)


def _run(
    world: World, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any], name: str | None, charge: Charge
) -> GraphQLAnswer:
    operation = get_operation_ast(document, name)
    if operation is None:
        message = f"Unknown operation named '{name}'." if name else "An operation name is required."
        return _refused([GraphQLError(message)])
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
    if isinstance(coerced, list):  # refused before any point is spent
        return _refused(coerced)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    cost = measure(schema, operation, fragments, coerced.coerced)
    if cost.errors:
        return _refused(cost.errors)
    rate = charge(cost.cost)
    if rate is None:
        return GraphQLAnswer(
            200, {"errors": [{"type": "RATE_LIMITED", "message": f"API rate limit exceeded for user ID {VIEWER.id}."}]}
        )
    result = execute_sync(
        schema,
        document,
        root_value=QueryRoot(world, rate, cost.cost, cost.node_count),
        variable_values=variables,
        operation_name=name,
        type_resolver=lambda value, info, abstract_type: getattr(value, "typename", None),
    )
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [_github_error(e) for e in result.errors]
    return GraphQLAnswer(200, body)


def _refused(errors: list[GraphQLError]) -> GraphQLAnswer:
    """A query that did not run: HTTP 200, `errors` only (no `data`), as GitHub answers."""
    return GraphQLAnswer(200, {"errors": [_github_error(e) for e in errors]})


def _github_error(error: GraphQLError) -> dict[str, Any]:
    """graphql-core's error in GitHub's shape: its own kinds as `type`, its wording for unknown fields."""
    formatted: dict[str, Any] = dict(error.formatted)
    extensions = dict(formatted.pop("extensions", None) or {})
    kind = extensions.pop("type", None)
    undefined = _UNDEFINED_FIELD.match(error.message)
    if undefined:
        formatted["message"] = f"Field '{undefined['field']}' doesn't exist on type '{undefined['type']}'"
        extensions = {"code": "undefinedField", "typeName": undefined["type"], "fieldName": undefined["field"]}
    if kind:
        formatted = {"type": kind, **formatted}
    if extensions:
        formatted["extensions"] = extensions
    return formatted
