"""Which embedder and which vector store a process uses, from the settings, and the erasure and
suppression helpers that must reach every store.

    embedder = open_embedder(settings)           # OfflineEmbedder or EndpointEmbedder
    store = open_vector_store(settings, embedder)  # embedded, Pinecone or pgvector, for that vector space
    print(embedder_note(settings))                # one human sentence: which embeddings, and why

A namespace is a tenant id in the service, `LOCAL_NAMESPACE` for `cmo run`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from foundation.settings import Settings
from tools.vectors.base import Embedder, MetadataValue, VectorRecord, VectorStore
from tools.vectors.embedded import VECTORS_FILE, EmbeddedVectorStore
from tools.vectors.offline import OfflineEmbedder

LOCAL_NAMESPACE = "local"


def uses_endpoint(settings: Settings) -> bool:
    """Embeddings come from the OpenAI-compatible endpoint (else the shipped offline model)."""
    if settings.cmo_embeddings == "offline":
        return False
    if settings.cmo_embeddings == "endpoint":
        return True
    return settings.llm_enabled


def open_embedder(settings: Settings) -> Embedder:
    """The endpoint's embeddings when configured, else the offline model (see `embedder_note`)."""
    if not uses_endpoint(settings):
        return OfflineEmbedder()
    if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
        raise ValueError("CMO_EMBEDDINGS=endpoint needs OPENAI_API_KEY (and OPENAI_BASE_URL for a non-OpenAI server)")
    from tools.vectors.endpoint import EndpointEmbedder

    return EndpointEmbedder(
        model=settings.cmo_embedding_model,
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        timeout_seconds=settings.cmo_llm_timeout_seconds,
        max_retries=settings.cmo_llm_max_retries,
        dimensions=settings.cmo_embedding_dimensions,
    )


def embedder_note(settings: Settings) -> str:
    """One sentence for the CLI and the run summary saying which embeddings are used."""
    if uses_endpoint(settings):
        where = settings.openai_base_url or "OpenAI"
        return f"Embeddings: {settings.cmo_embedding_model} at {where}"
    why = "CMO_EMBEDDINGS=offline" if settings.cmo_embeddings == "offline" else "no OPENAI_API_KEY, so no embeddings endpoint"
    return f"Embeddings: the offline model {OfflineEmbedder.name} shipped with the wordllama package ({why})"


def open_vector_store(settings: Settings, embedder: Embedder) -> VectorStore:
    """The configured store (`CMO_VECTOR_STORE`), holding `embedder`'s vector space."""
    kind = settings.cmo_vector_store
    if kind == "pinecone":
        from tools.vectors.pinecone_store import PineconeVectorStore

        return PineconeVectorStore.from_settings(settings, dimensions=embedder.dimensions)
    if kind == "pgvector":
        from tools.vectors.pgvector_store import PgVectorStore

        return PgVectorStore.from_settings(settings, space=embedder.name, dimensions=embedder.dimensions)
    return EmbeddedVectorStore(settings.home / VECTORS_FILE, space=embedder.name, dimensions=embedder.dimensions)


def forget_person_vectors(settings: Settings, login: str, namespaces: Sequence[str]) -> int:
    """Delete the vectors derived from `login` in `namespaces` from every store that may hold them:
    the embedded file when it exists, and the configured remote store (erasure, retention). Returns
    how many were deleted where the store can tell (Pinecone does not: counted as 0)."""
    deleted = 0
    path = settings.home / VECTORS_FILE
    if path.exists():
        deleted += EmbeddedVectorStore(path, space="", dimensions=0).forget_person(login, namespaces)
    if settings.cmo_vector_store == "pinecone":
        from tools.vectors.pinecone_store import PineconeVectorStore

        try:
            PineconeVectorStore.from_settings(settings, dimensions=None).forget_person(login, namespaces)
        except LookupError:
            pass  # no index yet: nothing was ever stored there
    elif settings.cmo_vector_store == "pgvector":
        from tools.vectors.pgvector_store import PgVectorStore

        deleted += PgVectorStore.from_settings(settings, space="", dimensions=0).forget_person(login, namespaces)
    return deleted


class HeldVector(BaseModel):
    """One vector derived from a person, as a data-subject export lists it."""

    store: str
    where: str  # the embedding space (embedded, pgvector) or the namespace (Pinecone)
    id: str
    metadata: dict[str, MetadataValue]
    dimensions: int


def person_vectors(settings: Settings, login: str, namespaces: Sequence[str]) -> list[HeldVector]:
    """The vectors derived from `login` in `namespaces`, from every store `forget_person_vectors`
    reaches (GDPR Art. 15 access)."""
    found: list[tuple[str, str, VectorRecord]] = []
    path = settings.home / VECTORS_FILE
    if path.exists():
        embedded = EmbeddedVectorStore(path, space="", dimensions=0)
        found += [("embedded", where, record) for where, record in embedded.held_about(login, namespaces)]
    if settings.cmo_vector_store == "pinecone":
        from tools.vectors.pinecone_store import PineconeVectorStore

        try:
            pinecone = PineconeVectorStore.from_settings(settings, dimensions=None)
        except LookupError:  # no index yet: nothing was ever stored there
            pinecone = None
        if pinecone is not None:
            found += [("pinecone", where, record) for where, record in pinecone.held_about(login, namespaces)]
    elif settings.cmo_vector_store == "pgvector":
        from tools.vectors.pgvector_store import PgVectorStore

        pgvector = PgVectorStore.from_settings(settings, space="", dimensions=0)
        found += [("pgvector", where, record) for where, record in pgvector.held_about(login, namespaces)]
    return [
        HeldVector(store=store, where=where, id=record.id, metadata=record.metadata, dimensions=len(record.values))
        for store, where, record in found
    ]
