"""The one metadata-filter language every store answers alike, parsed once into typed conditions.

Pinecone's filter syntax is the reference (`$eq`, `$in`, `$nin`; keys ANDed), cut to what every
backend can answer exactly: the embedded store evaluates conditions in memory, pgvector turns them
into SQL over a jsonb column, and Pinecone receives the canonical form. Keys are restricted to
`[A-Za-z0-9_-]` so they can be put into a JSON path without quoting games.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from tools.vectors.base import PERSON_KEY, MetadataValue

Scalar = str | int | float | bool
Operator = Literal["$eq", "$in", "$nin"]
_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class FilterError(ValueError):
    """A filter outside the shared subset (unknown operator, nested value, odd key)."""


@dataclass(frozen=True)
class Condition:
    key: str
    op: Operator
    values: tuple[Scalar, ...]

    def admits(self, metadata: Mapping[str, MetadataValue]) -> bool:
        """Whether a record's metadata passes (a list value passes `$eq`/`$in` when any item does)."""
        present = metadata.get(self.key)
        items = present if isinstance(present, list) else ([] if present is None else [present])
        hit = any(_same(item, wanted) for item in items for wanted in self.values)
        return not hit if self.op == "$nin" else hit


def _same(a: object, b: object) -> bool:
    """Equality as JSON sees it: 1 == 1.0, but True is not 1 and "1" is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


def parse_filter(metadata_filter: Mapping[str, object] | None) -> list[Condition]:
    """`{"kind": "profile", "person": {"$nin": ["alice"]}}` -> conditions (empty: no filter)."""
    conditions: list[Condition] = []
    for key, spec in (metadata_filter or {}).items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise FilterError(f"filter key {key!r} is not [A-Za-z0-9_-]{{1,64}}")
        if isinstance(spec, Mapping):
            if len(spec) != 1:
                raise FilterError(f"filter on {key!r} must have exactly one operator")
            ((op, operand),) = spec.items()
            if op == "$eq":
                conditions.append(Condition(key, "$eq", (_scalar(key, operand),)))
            elif op in ("$in", "$nin"):
                if not isinstance(operand, list | tuple) or not operand:
                    raise FilterError(f"{op} on {key!r} needs a non-empty list")
                conditions.append(Condition(key, op, tuple(_scalar(key, item) for item in operand)))
            else:
                raise FilterError(f"operator {op!r} is not one of $eq, $in, $nin")
        else:
            conditions.append(Condition(key, "$eq", (_scalar(key, spec),)))
    return conditions


def _scalar(key: str, value: object) -> Scalar:
    if isinstance(value, str | int | float | bool):
        return value
    raise FilterError(f"filter value for {key!r} must be a string, number or boolean")


def canonical(conditions: list[Condition]) -> dict[str, object]:
    """Pinecone's explicit form: `{"kind": {"$eq": "profile"}, "person": {"$nin": [...]}}`."""
    return {c.key: {c.op: c.values[0]} if c.op == "$eq" else {c.op: list(c.values)} for c in conditions}


def admits(conditions: list[Condition], metadata: Mapping[str, MetadataValue]) -> bool:
    return all(condition.admits(metadata) for condition in conditions)


def person_filter(login: str) -> dict[str, object]:
    """Every vector derived from one GitHub account (erasure, export)."""
    return {PERSON_KEY: login.lower()}


def without_people(
    logins: list[str] | tuple[str, ...] | set[str] | frozenset[str], base: Mapping[str, object] | None = None
) -> dict[str, object]:
    """`base` plus the exclusion of suppressed people: use it on every query whose results may be
    contacted, so a suppressed or erased login never comes back as a lookalike or a candidate."""
    merged = dict(base or {})
    if logins:
        if PERSON_KEY in merged:
            raise FilterError("the filter already constrains 'person'")
        merged[PERSON_KEY] = {"$nin": sorted({login.lower() for login in logins})}
    return merged
