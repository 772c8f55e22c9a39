"""Pinecone through its current SDK (`pinecone`, REST transport): a serverless index per embedding
model (`CMO_PINECONE_INDEX`, cosine, created on first use), one namespace per tenant, metadata filters
in Pinecone's own language (`tools/vectors/filters.py` emits its canonical form).

The vectors API (`Index.upsert/query/fetch/delete`) serves indexes created with `dimension`/`metric`
only, which SDK 10 keeps as deprecated sugar for a one-field schema; that is the index this adapter
needs, so it passes them and silences that one warning. Timeouts come from
`CMO_VECTOR_TIMEOUT_SECONDS`; the SDK retries 408/429/5xx three times with jittered backoff.
Pinecone's docs now call this the legacy vectors API (new projects are steered to the Documents API,
which SDK 10 serves as `index.documents`); it stays supported, and it is what this SDK's typed vector
calls speak. Deletes send ids and a filter in separate requests (a request takes exactly one).
`CMO_PINECONE_API_URL` and `CMO_PINECONE_HOST` point the two planes elsewhere (tests use a local stub:
tests/support/pinecone_stub.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tools.vectors.base import MetadataValue, VectorMatch, VectorRecord
from tools.vectors.filters import canonical, parse_filter, person_filter

if TYPE_CHECKING:
    from pinecone import Index, Pinecone

    from foundation.settings import Settings

_UPSERT_BATCH = 100  # Pinecone's recommended batch (2 MB a request)
_ID_BATCH = 100  # ids per fetch (a GET query string) and per delete


class PineconeVectorStore:
    name = "pinecone"

    def __init__(self, index: Index) -> None:
        self._index = index

    @classmethod
    def from_settings(cls, settings: Settings, *, dimensions: int | None) -> PineconeVectorStore:
        """Opens the configured index; creates it when `dimensions` is given and it does not exist.
        `dimensions=None` (erasure) never creates one, and raises `LookupError` when there is none."""
        from pinecone import Pinecone

        if settings.pinecone_api_key is None:
            raise ValueError("CMO_VECTOR_STORE=pinecone needs PINECONE_API_KEY")
        client = Pinecone(
            api_key=settings.pinecone_api_key.get_secret_value(),
            host=settings.cmo_pinecone_api_url,
            timeout=settings.cmo_vector_timeout_seconds,
            source_tag="cmo_agent",
        )
        if settings.cmo_pinecone_host:
            return cls(client.index(host=settings.cmo_pinecone_host))
        name = settings.cmo_pinecone_index
        if not client.indexes.exists(name):
            if dimensions is None:
                raise LookupError(f"the Pinecone index {name!r} does not exist")
            _create(client, name, dimensions, settings.cmo_pinecone_cloud, settings.cmo_pinecone_region)
        elif dimensions is not None:
            _check_dimensions(client, name, dimensions)
        return cls(client.index(name=name))

    def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> None:
        vectors = [{"id": r.id, "values": r.values, "metadata": r.metadata} for r in records]
        for start in range(0, len(vectors), _UPSERT_BATCH):
            self._index.upsert(vectors=vectors[start : start + _UPSERT_BATCH], namespace=namespace, show_progress=False)

    def query(
        self, namespace: str, vector: Sequence[float], top_k: int, metadata_filter: dict[str, object] | None = None
    ) -> list[VectorMatch]:
        conditions = parse_filter(metadata_filter)
        response = self._index.query(
            vector=list(vector),
            top_k=top_k,
            namespace=namespace,
            filter=canonical(conditions) if conditions else None,
            include_metadata=True,
        )
        return [VectorMatch(id=m.id, score=m.score, metadata=_metadata(m.metadata)) for m in response.matches]

    def fetch(self, namespace: str, ids: Sequence[str]) -> list[VectorRecord]:
        found: list[VectorRecord] = []
        for start in range(0, len(ids), _ID_BATCH):
            response = self._index.fetch(ids=list(ids[start : start + _ID_BATCH]), namespace=namespace)
            found += [
                VectorRecord(id=v.id, values=list(v.values), metadata=_metadata(v.metadata)) for v in response.vectors.values()
            ]
        return found

    def delete(self, namespace: str, *, ids: Sequence[str] = (), metadata_filter: dict[str, object] | None = None) -> None:
        for start in range(0, len(ids), _ID_BATCH):
            self._index.delete(ids=list(ids[start : start + _ID_BATCH]), namespace=namespace)
        conditions = parse_filter(metadata_filter)
        if conditions:
            self._index.delete(filter=canonical(conditions), namespace=namespace)

    def count(self, namespace: str) -> int:
        summary = self._index.describe_index_stats().namespaces.get(namespace)
        return int(summary.vector_count) if summary is not None else 0

    def held_about(self, login: str, namespaces: Sequence[str]) -> list[tuple[str, VectorRecord]]:
        """Every vector derived from `login` in `namespaces` (fetch by metadata, every page)."""
        found: list[tuple[str, VectorRecord]] = []
        for namespace in namespaces:
            token: str | None = None
            while True:
                page = self._index.fetch_by_metadata(
                    filter=canonical(parse_filter(person_filter(login))), namespace=namespace, limit=100, pagination_token=token
                )
                found += [
                    (namespace, VectorRecord(id=v.id, values=list(v.values), metadata=_metadata(v.metadata)))
                    for v in page.vectors.values()
                ]
                token = page.pagination.next if page.pagination is not None else None
                if not token:
                    break
        return found

    def forget_person(self, login: str, namespaces: Sequence[str]) -> None:
        """Delete by filter (`person`) in each namespace; Pinecone does not say how many went."""
        for namespace in namespaces:
            self.delete(namespace, metadata_filter=person_filter(login))


def _create(client: Pinecone, name: str, dimensions: int, cloud: str, region: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # dimension/metric: see the module docstring
        client.indexes.create(
            name=name,
            dimension=dimensions,
            metric="cosine",
            deployment={"deployment_type": "managed", "cloud": cloud, "region": region},
            timeout=120,
        )


def _check_dimensions(client: Pinecone, name: str, dimensions: int) -> None:
    fields = client.indexes.describe(name).schema.fields
    widths = {width for field in fields.values() if isinstance(width := getattr(field, "dimension", None), int)}
    if widths and dimensions not in widths:
        raise ValueError(
            f"the Pinecone index {name!r} holds {sorted(widths)}-dimension vectors, the embedder makes {dimensions}: "
            "set CMO_PINECONE_INDEX to an index for this embedding model"
        )


def _metadata(raw: Any) -> dict[str, MetadataValue]:
    """Pinecone returns numbers as floats (it stores 64-bit floats): whole ones go back to int."""
    metadata: dict[str, MetadataValue] = {}
    for key, value in dict(raw or {}).items():
        if isinstance(value, float) and value.is_integer():
            metadata[key] = int(value)
        else:
            metadata[key] = value
    return metadata
