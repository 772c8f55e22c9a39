"""One body of behaviour every vector store must show: the embedded store, and Pinecone driven by
its real SDK over HTTP against tests/support/pinecone_stub.py (pgvector could not be installed on
this machine: its SQL is tested in test_vectors_pgvector.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from foundation.settings import Settings
from tests.support.pinecone_stub import PineconeStub
from tools.vectors.base import VectorRecord, VectorStore
from tools.vectors.embedded import EmbeddedVectorStore
from tools.vectors.factory import forget_person_vectors, open_vector_store, person_vectors
from tools.vectors.filters import FilterError, person_filter, without_people
from tools.vectors.pinecone_store import PineconeVectorStore

DIMS = 4


@pytest.fixture(params=["embedded", "pinecone"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    if request.param == "embedded":
        yield EmbeddedVectorStore(tmp_path / "vectors.sqlite3", space="test-4", dimensions=DIMS)
        return
    with PineconeStub() as stub:
        yield PineconeVectorStore.from_settings(_pinecone_settings(stub), dimensions=DIMS)


def _pinecone_settings(stub: PineconeStub, **overrides: object) -> Settings:
    options: dict[str, object] = {
        "pinecone_api_key": stub.api_key,
        "cmo_pinecone_api_url": stub.url,
        "cmo_vector_store": "pinecone",
        "cmo_home": Path("/nonexistent-cmo-home"),
    }
    return Settings(_env_file=None, **(options | overrides))  # type: ignore[arg-type]


def _records() -> list[VectorRecord]:
    return [
        VectorRecord(id="repo:a/x", values=[1, 0, 0, 0], metadata={"kind": "repository", "topics": ["ml", "python"]}),
        VectorRecord(id="repo:b/y", values=[0.9, 0.1, 0, 0], metadata={"kind": "repository", "topics": ["web"]}),
        VectorRecord(id="profile:alice", values=[0.8, 0.2, 0, 0], metadata={"kind": "profile", "person": "alice", "stars": 5}),
        VectorRecord(id="profile:bob", values=[0, 1, 0, 0], metadata={"kind": "profile", "person": "bob", "active": True}),
        VectorRecord(id="profile:carol", values=[0, 0, 1, 0], metadata={"kind": "profile", "person": "carol", "stars": 1}),
    ]


def test_query_ranks_by_cosine_and_returns_metadata(store: VectorStore) -> None:
    store.upsert("t1", _records())
    matches = store.query("t1", [1, 0, 0, 0], top_k=3)
    assert [m.id for m in matches] == ["repo:a/x", "repo:b/y", "profile:alice"]
    assert matches[0].score == pytest.approx(1.0, abs=1e-5) and matches[0].score > matches[1].score > matches[2].score
    assert matches[0].metadata == {"kind": "repository", "topics": ["ml", "python"]}
    assert store.count("t1") == 5
    store.upsert("t1", [VectorRecord(id="long", values=[0, 5, 5, 0], metadata={"kind": "repository"})])
    bob, long = store.query("t1", [0, 1, 0, 0], top_k=2)
    assert (bob.id, long.id) == ("profile:bob", "long"), "cosine, not the dot product: length does not win"
    assert long.score == pytest.approx(0.7071, abs=1e-4)


def test_filters_equality_in_nin_lists_and_booleans(store: VectorStore) -> None:
    store.upsert("t1", _records())

    def ids(metadata_filter: dict[str, object]) -> set[str]:
        return {m.id for m in store.query("t1", [1, 1, 1, 1], top_k=10, metadata_filter=metadata_filter)}

    assert ids({"kind": "profile"}) == {"profile:alice", "profile:bob", "profile:carol"}
    assert ids({"kind": {"$eq": "repository"}}) == {"repo:a/x", "repo:b/y"}
    assert ids({"person": {"$in": ["alice", "carol"]}}) == {"profile:alice", "profile:carol"}
    assert ids({"topics": "ml"}) == {"repo:a/x"}  # a list value matches when one item does
    assert ids({"topics": {"$in": ["web", "go"]}}) == {"repo:b/y"}
    assert ids({"stars": 5}) == {"profile:alice"} and ids({"stars": 5.0}) == {"profile:alice"}
    assert ids({"active": True}) == {"profile:bob"}
    assert ids({"kind": "profile", "stars": {"$in": [1, 5]}}) == {"profile:alice", "profile:carol"}
    # suppression: $nin drops the named people and keeps records that name nobody
    assert ids(without_people(["Alice", "bob"])) == {"repo:a/x", "repo:b/y", "profile:carol"}
    assert ids({"kind": "nothing"}) == set()
    with pytest.raises(FilterError):
        store.query("t1", [1, 0, 0, 0], top_k=1, metadata_filter={"kind": {"$gt": 1}})


def test_upsert_replaces_and_fetch_returns_what_was_stored(store: VectorStore) -> None:
    store.upsert("t1", _records())
    store.upsert("t1", [VectorRecord(id="profile:bob", values=[0, 0, 0, 1], metadata={"kind": "profile", "person": "bob"})])
    fetched = {r.id: r for r in store.fetch("t1", ["profile:bob", "repo:a/x", "missing"])}
    assert set(fetched) == {"profile:bob", "repo:a/x"}
    assert fetched["profile:bob"].values == pytest.approx([0, 0, 0, 1]) and fetched["profile:bob"].metadata == {
        "kind": "profile",
        "person": "bob",
    }
    assert store.count("t1") == 5
    assert store.query("t1", [0, 0, 0, 1], top_k=1)[0].id == "profile:bob"


def test_delete_by_ids_and_by_filter(store: VectorStore) -> None:
    store.upsert("t1", _records())
    store.delete("t1", ids=["repo:a/x"])
    assert store.count("t1") == 4
    store.delete("t1", metadata_filter=person_filter("ALICE"))
    assert {r.id for r in store.fetch("t1", ["profile:alice", "profile:bob"])} == {"profile:bob"}
    store.delete("t1", metadata_filter={"kind": "profile"})
    assert [m.id for m in store.query("t1", [1, 0, 0, 0], top_k=10)] == ["repo:b/y"]


def test_namespaces_are_isolated(store: VectorStore) -> None:
    store.upsert("t1", _records())
    store.upsert("t2", [VectorRecord(id="profile:alice", values=[0, 0, 0, 1], metadata={"kind": "profile", "person": "alice"})])
    assert store.count("t2") == 1 and store.count("t1") == 5 and store.count("empty") == 0
    assert [m.id for m in store.query("t2", [1, 0, 0, 0], top_k=10)] == ["profile:alice"]
    store.delete("t2", metadata_filter=person_filter("alice"))
    assert store.count("t2") == 0 and store.count("t1") == 5
    assert store.query("empty", [1, 0, 0, 0], top_k=3) == []


def test_embedded_forget_person_reaches_every_space_and_leaves_no_bytes(tmp_path: Path) -> None:
    path = tmp_path / "vectors.sqlite3"
    small = EmbeddedVectorStore(path, space="m-4", dimensions=4)
    wide = EmbeddedVectorStore(path, space="m-8", dimensions=8)
    small.upsert("t1", _records())
    wide.upsert("t1", [VectorRecord(id="profile:alice", values=[1] * 8, metadata={"kind": "profile", "person": "alice"})])
    wide.upsert("t9", [VectorRecord(id="profile:alice", values=[1] * 8, metadata={"kind": "profile", "person": "alice"})])
    assert small.query("t1", [1, 0, 0, 0], top_k=5)  # loads t1 into memory: the erasure must invalidate it
    assert EmbeddedVectorStore(path, space="", dimensions=0).forget_person("Alice", ["t1"]) == 2
    assert "profile:alice" not in {m.id for m in small.query("t1", [1, 0, 0, 0], top_k=10)}
    assert wide.count("t1") == 0 and wide.count("t9") == 1
    assert b"alice" in path.read_bytes()  # t9 still holds alice: the scan below would be vacuous otherwise
    EmbeddedVectorStore(path, space="", dimensions=0).forget_person("alice", ["t9"])
    assert b"alice" not in path.read_bytes()


def test_pinecone_creates_a_serverless_cosine_index_once_and_speaks_the_documented_paths() -> None:
    with PineconeStub() as stub:
        store = PineconeVectorStore.from_settings(_pinecone_settings(stub, cmo_pinecone_region="eu-west-1"), dimensions=DIMS)
        index = stub.indexes["cmo-agent"]
        assert index["schema"]["fields"]["_values"] == {"type": "dense_vector", "dimension": DIMS, "metric": "cosine"}
        assert index["deployment"] == {"deployment_type": "managed", "cloud": "aws", "region": "eu-west-1"}
        store.upsert("t1", _records())
        store.query("t1", [1, 0, 0, 0], top_k=2, metadata_filter={"kind": "profile"})
        store.fetch("t1", ["profile:alice"])
        store.delete("t1", ids=["repo:a/x"], metadata_filter=person_filter("bob"))
        assert store.count("t1") == 3
        PineconeVectorStore.from_settings(_pinecone_settings(stub), dimensions=DIMS)  # exists: not created again
        paths = {path for _, path in stub.requests}
        assert paths == {
            "/indexes",
            "/indexes/cmo-agent",
            "/vectors/upsert",
            "/query",
            "/vectors/fetch",
            "/vectors/delete",
            "/describe_index_stats",
        }
        assert [method for method, path in stub.requests if path == "/indexes"] == ["POST"]


def test_pinecone_refuses_an_index_of_another_width_and_erasure_never_creates_one() -> None:
    with PineconeStub() as stub:
        PineconeVectorStore.from_settings(_pinecone_settings(stub), dimensions=DIMS)
        with pytest.raises(ValueError, match="CMO_PINECONE_INDEX"):
            PineconeVectorStore.from_settings(_pinecone_settings(stub), dimensions=DIMS * 2)
        with pytest.raises(LookupError):
            PineconeVectorStore.from_settings(_pinecone_settings(stub, cmo_pinecone_index="other"), dimensions=None)
        assert list(stub.indexes) == ["cmo-agent"]


def test_pinecone_host_override_skips_the_control_plane() -> None:
    with PineconeStub() as stub:
        PineconeVectorStore.from_settings(_pinecone_settings(stub), dimensions=DIMS)
        stub.requests.clear()
        store = PineconeVectorStore.from_settings(_pinecone_settings(stub, cmo_pinecone_host=stub.url), dimensions=DIMS)
        store.upsert("t1", _records()[:1])
        assert [path for _, path in stub.requests] == ["/vectors/upsert"]


class _Tiny:
    """A 4-dimension embedder for factory tests (the stores only read its name and width)."""

    name, dimensions, offline = "tiny-4", DIMS, True

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        raise AssertionError("not called")


def test_the_factory_opens_the_configured_store_and_erasure_reaches_the_embedded_file_and_pinecone(tmp_path: Path) -> None:
    with PineconeStub() as stub:
        embedded = open_vector_store(Settings(_env_file=None, cmo_home=tmp_path), _Tiny())
        assert isinstance(embedded, EmbeddedVectorStore)
        settings = _pinecone_settings(stub, cmo_home=tmp_path)
        pinecone = open_vector_store(settings, _Tiny())
        assert isinstance(pinecone, PineconeVectorStore)
        for store in (embedded, pinecone):
            store.upsert("t1", _records())
            store.upsert("t2", _records())
        assert forget_person_vectors(settings, "ALICE", ["t1"]) == 1  # Pinecone does not say how many
        for store in (embedded, pinecone):
            assert {r.id for r in store.fetch("t1", ["profile:alice", "profile:bob"])} == {"profile:bob"}
            assert store.count("t2") == 5
    with pytest.raises(ValueError, match="DATABASE_URL"):
        open_vector_store(Settings(_env_file=None, cmo_home=tmp_path, cmo_vector_store="pgvector"), _Tiny())


def test_erasure_without_any_vectors_touches_nothing(tmp_path: Path) -> None:
    with PineconeStub() as stub:
        assert forget_person_vectors(_pinecone_settings(stub, cmo_home=tmp_path), "alice", ["t1"]) == 0
        assert stub.indexes == {} and not (tmp_path / "vectors.sqlite3").exists()


def test_the_embedded_store_follows_its_own_writes_in_memory_and_reloads_after_anothers(tmp_path: Path) -> None:
    path = tmp_path / "vectors.sqlite3"
    mine, theirs = (EmbeddedVectorStore(path, space="test-4", dimensions=DIMS) for _ in range(2))
    mine.upsert("t1", _records())
    assert mine.query("t1", [0, 0, 0, 1], top_k=1)[0].id != "new"  # loaded now
    mine.upsert("t1", [VectorRecord(id="new", values=[0, 0, 0, 1], metadata={"kind": "profile", "person": "dan"})])
    mine.upsert("t1", [VectorRecord(id="repo:a/x", values=[0, 0, 0, 0.5], metadata={"kind": "repository"})])
    mine.delete("t1", ids=["profile:bob"])
    assert [m.id for m in mine.query("t1", [0, 0, 0, 1], top_k=2)] == ["new", "repo:a/x"]  # a tie, by id
    assert [m.id for m in mine.query("t1", [0, 0, 0, 1], top_k=10, metadata_filter={"person": "dan"})] == ["new"]
    assert "profile:bob" not in {m.id for m in mine.query("t1", [0, 1, 0, 0], top_k=10)}
    theirs.upsert("t1", [VectorRecord(id="theirs", values=[0, 1, 0, 0], metadata={"kind": "profile"})])
    assert mine.query("t1", [0, 1, 0, 0], top_k=1)[0].id == "theirs", "another writer's change is seen"
    assert {m.id for m in mine.query("t1", [1, 1, 1, 1], top_k=10)} == {m.id for m in theirs.query("t1", [1, 1, 1, 1], top_k=10)}


def test_a_persons_vectors_are_listed_from_every_store_for_an_access_request(tmp_path: Path) -> None:
    with PineconeStub() as stub:
        settings = _pinecone_settings(stub, cmo_home=tmp_path)
        embedded = open_vector_store(Settings(_env_file=None, cmo_home=tmp_path), _Tiny())
        pinecone = open_vector_store(settings, _Tiny())
        embedded.upsert("t1", _records())
        many = [VectorRecord(id=f"repo:alice/{n}", values=[1, 0, 0, n + 1], metadata={"person": "alice"}) for n in range(150)]
        pinecone.upsert("t1", many + _records())  # 151 vectors of alice: two pages of fetch-by-metadata
        pinecone.upsert("t2", _records())
        held = person_vectors(settings, "Alice", ["t1"])
        assert [(h.store, h.where, h.id) for h in held if h.store == "embedded"] == [("embedded", "tiny-4", "profile:alice")]
        from_pinecone = [h for h in held if h.store == "pinecone"]
        assert len(from_pinecone) == 151 and {h.where for h in from_pinecone} == {"t1"}
        assert all(h.dimensions == DIMS and h.metadata["person"] == "alice" for h in held)
        assert ("POST", "/vectors/fetch_by_metadata") in stub.requests
        assert person_vectors(settings, "nobody", ["t1"]) == []
