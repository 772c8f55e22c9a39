"""What the researcher, lookalikes and erasure need from embeddings and a vector store.

Adapters (offline model, OpenAI-compatible endpoint; embedded store, Pinecone, pgvector) implement
these protocols so one parametrised test body covers every backend. A namespace is a tenant (or the
CLI's local one); metadata values are flat scalars or string lists, the subset every store filters on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, Field

MetadataValue = str | int | float | bool | list[str]
VectorKind = Literal["repository", "profile"]
PERSON_KEY = "person"  # metadata key of the lower-cased GitHub login a vector was derived from


class VectorRecord(BaseModel):
    """One embedded thing. `metadata` always holds `kind` and, for vectors derived from a person,
    `person` (the lower-cased GitHub login) so erasure and suppression can find them by filter."""

    id: str = Field(min_length=1, max_length=512)
    values: list[float]
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)


class VectorMatch(BaseModel):
    id: str
    score: float = Field(description="cosine similarity, higher is closer")
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)


class Embedder(Protocol):
    """Texts to unit-length vectors of `dimensions` floats. `name` identifies the vector space
    (model and dimensions): vectors of two embedders are never compared, so stores keep them apart."""

    @property
    def name(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    @property
    def offline(self) -> bool: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class VectorStore(Protocol):
    """Filters (`tools/vectors/filters.py`) are equality on metadata keys (`{"kind": "profile"}`,
    `{"kind": {"$eq": "profile"}}`), `{"key": {"$in": [...]}}` and `{"key": {"$nin": [...]}}`, all
    keys ANDed: the subset Pinecone, pgvector and the embedded store all answer the same way. A list
    value matches when any of its items does; `$nin` also admits records without the key."""

    name: str

    def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> None: ...

    def query(
        self, namespace: str, vector: Sequence[float], top_k: int, metadata_filter: dict[str, object] | None = None
    ) -> list[VectorMatch]: ...

    def fetch(self, namespace: str, ids: Sequence[str]) -> list[VectorRecord]: ...

    def delete(self, namespace: str, *, ids: Sequence[str] = (), metadata_filter: dict[str, object] | None = None) -> None: ...

    def count(self, namespace: str) -> int: ...
