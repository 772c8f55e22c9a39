"""What a GraphQL query costs before it runs: GitHub's pagination rules, node limit and point cost.

GitHub documents the rules in "Rate limits and query limits for the GraphQL API"
(https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api):
- every connection that returns nodes needs `first` or `last`, each within 1..100;
- a query may ask for at most 500,000 nodes: each connection adds its `first`/`last` times the
  product of the `first`/`last` of the connections above it;
- its cost is the number of requests needed to fill every connection (one per object of the parent
  connection: the product of the parents' `first`/`last`), summed, divided by 100 and rounded,
  at least 1 point.
A connection asked only for `totalCount`/`pageInfo` (`followers { totalCount }`) needs no bound, as
on GitHub, adds no nodes and costs one request per parent object. Plain lists (such as
`commitContributionsByRepository(maxRepositories:)`) are not connections: the documented rule
multiplies by connections only, so they count as one parent. Directives (`@include`, `@skip`) are
not evaluated: both branches are counted, the worst case. Works on any schema; knows no World.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    value_from_ast,
)

MAX_PAGE = 100
NODE_LIMIT = 500_000
POINTS_PER_REQUEST = 0.01


@dataclass
class QueryCost:
    """The numbers GitHub's `rateLimit` reports for a query: `cost` in points and `node_count`."""

    requests: int = 0
    node_count: int = 0
    errors: list[GraphQLError] = field(default_factory=list)

    @property
    def cost(self) -> int:
        """Requests / 100, rounded half up, at least 1 point."""
        return max(1, math.floor(self.requests * POINTS_PER_REQUEST + 0.5))


def _fields(kind: GraphQLNamedType) -> dict[str, GraphQLField]:
    return kind.fields if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType) else {}


def is_connection(kind: GraphQLNamedType) -> bool:
    """A Relay connection type: paged with `pageInfo`, items as `nodes` or `edges`."""
    fields = _fields(kind)
    return "pageInfo" in fields and ("nodes" in fields or "edges" in fields)


def measure(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None = None,
) -> QueryCost:
    """Cost and node count of a validated operation, with pagination and node-limit errors."""
    root = schema.get_root_type(operation.operation)
    result = QueryCost()
    if root is not None:
        _Walker(schema, fragments, dict(variables or {}), result).walk(operation.selection_set, root, 1, ())
    return result


class _Walker:
    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode], variables: dict[str, Any], out: QueryCost
    ) -> None:
        self.schema, self.fragments, self.variables, self.out = schema, fragments, variables, out
        self.over_limit = False

    def fields(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType]]:
        """The fields of a selection set with fragments expanded, each with the type it is selected on."""
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                yield selection, parent
                continue
            fragment: FragmentDefinitionNode | InlineFragmentNode | None = (
                self.fragments.get(selection.name.value) if isinstance(selection, FragmentSpreadNode) else None
            )
            if isinstance(selection, InlineFragmentNode):
                fragment = selection
            if fragment is None:
                continue
            condition = fragment.type_condition
            narrowed = self.schema.get_type(condition.name.value) if condition else None
            yield from self.fields(fragment.selection_set, narrowed or parent)

    def walk(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType, multiplier: int, path: tuple[str, ...]
    ) -> None:
        for node, on_type in self.fields(selection_set, parent):
            definition = _fields(on_type).get(node.name.value)
            if definition is None:  # __typename, or a field the validator has already refused
                continue
            kind = get_named_type(definition.type)
            key = (node.alias or node.name).value
            if not is_connection(kind):
                self.walk(node.selection_set, kind, multiplier, (*path, key))
                continue
            size = self.page_size(node, kind, (*path, key))
            self.out.requests += multiplier
            if size is None:  # counted only (totalCount / pageInfo), or refused
                continue
            self.out.node_count += multiplier * size
            if self.out.node_count > NODE_LIMIT and not self.over_limit:
                self.over_limit = True
                self.out.errors.append(
                    _error(
                        f"By the time this query traverses to the {node.name.value} connection, it is requesting up to "
                        f"{self.out.node_count:,} possible nodes which exceeds the maximum limit of {NODE_LIMIT:,}.",
                        "MAX_NODE_LIMIT_EXCEEDED",
                        node,
                        (*path, key),
                    )
                )
            self.walk(node.selection_set, kind, multiplier * size, (*path, key))

    def page_size(self, node: FieldNode, connection: GraphQLNamedType, path: tuple[str, ...]) -> int | None:
        """`first` or `last` (the larger if both), None when absent and allowed; refusals go to `errors`."""
        values = {}
        for given in node.arguments or ():
            if given.name.value in ("first", "last"):
                value = value_from_ast(given.value, GraphQLInt, self.variables)
                if isinstance(value, int):
                    values[given.name.value] = value
        name = node.name.value
        for argument, value in values.items():
            if not 1 <= value <= MAX_PAGE:
                message = (
                    f"Requesting {value} records on the `{name}` connection exceeds the `{argument}` limit of {MAX_PAGE} records."
                    if value > MAX_PAGE
                    else f"`{argument}` on the `{name}` connection must be between 1 and {MAX_PAGE}."
                )
                self.out.errors.append(_error(message, "EXCESSIVE_PAGINATION", node, path))
                return None
        if values:
            return max(values.values())
        if self.asks_items(node, connection):
            message = f"You must provide a `first` or `last` value to properly paginate the `{name}` connection."
            self.out.errors.append(_error(message, "MISSING_PAGINATION_BOUNDARIES", node, path))
        return None

    def asks_items(self, node: FieldNode, connection: GraphQLNamedType) -> bool:
        return any(child.name.value in ("nodes", "edges") for child, _ in self.fields(node.selection_set, connection))


def _error(message: str, kind: str, node: FieldNode, path: tuple[str, ...]) -> GraphQLError:
    return GraphQLError(message, node, path=list(path), extensions={"type": kind})
