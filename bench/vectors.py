"""Benchmark: offline embedding throughput, and query latency at 100,000 vectors per store.

1. The offline model (tools/vectors/offline.py) embeds N synthetic developer profiles (a bio, four
   repositories with descriptions and topics, languages: ~70 words, the shape issue 15 embeds) in
   batches, on this machine's cores; profiles per second.
2. Those profiles' vectors (256 floats, unit length), cycled with small noise up to `--vectors`, go
   into each store; then `--queries` queries (other profiles' vectors) are timed one by one, p50 and
   p99, unfiltered and with the filters the uses need: `kind=profile` (half the rows), `person $in`
   five logins (a few rows), and the suppression exclusion (`person $nin` 100 logins).
   - numpy brute force: the matrix in memory, one product and an argpartition: the floor;
   - embedded (ours): SQLite in a temp CMO_HOME plus numpy exact search (load time reported apart);
   - sqlite-vec: its `vec0` KNN and its `vec_distance_cosine` scan with a JSON filter, on SQLite
     from `sqlean.py` (this interpreter's sqlite3 cannot load extensions);
   - usearch: HNSW (cosine, defaults), build time, recall@10 against the exact answer; filters by a
     per-candidate predicate are not in its Python API, so only unfiltered queries;
   - Pinecone (stub): the real SDK over HTTP to tests/support/pinecone_stub.py holding 100 vectors (so the stub's own pure-Python scoring is small):
     the client path (SDK, JSON, HTTP on loopback), not Pinecone's own latency.
Candidates that are not installed are reported as such. Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from tools.vectors.base import VectorRecord
from tools.vectors.embedded import EmbeddedVectorStore
from tools.vectors.filters import without_people
from tools.vectors.offline import OfflineEmbedder

WORDS = {
    "topics": [
        "machine-learning",
        "deep-learning",
        "pytorch",
        "tensorflow",
        "rust",
        "async",
        "tokio",
        "webassembly",
        "kubernetes",
        "operator",
        "react",
        "components",
        "design-system",
        "database",
        "postgres",
        "sqlite",
        "vector-search",
        "embeddings",
        "compiler",
        "llvm",
        "graphql",
        "api",
        "http",
        "server",
        "cli",
        "terminal",
        "security",
        "cryptography",
        "game-engine",
        "unity",
        "android",
        "ios",
        "flutter",
        "data-pipeline",
        "etl",
        "spark",
        "kafka",
        "observability",
        "tracing",
        "metrics",
        "local-first",
        "crdt",
        "sync",
    ],
    "nouns": [
        "library",
        "framework",
        "runtime",
        "toolkit",
        "engine",
        "driver",
        "client",
        "server",
        "plugin",
        "extension",
        "parser",
        "compiler",
        "scheduler",
        "index",
        "cache",
        "store",
        "sdk",
    ],
    "languages": [
        "Python",
        "Rust",
        "Go",
        "TypeScript",
        "JavaScript",
        "C",
        "C++",
        "Java",
        "Kotlin",
        "Swift",
        "Ruby",
        "Elixir",
        "Zig",
    ],
}


def profile_text(rng: random.Random) -> str:
    topics = WORDS["topics"]
    bio = f"{rng.choice(['Maintainer', 'Contributor', 'Author', 'Engineer'])} working on {rng.choice(topics)} and {rng.choice(topics)}."
    repos = []
    for _ in range(4):
        picked = rng.sample(topics, 3)
        repos.append(
            f"{picked[0]}-{rng.choice(WORDS['nouns'])}: a {rng.choice(WORDS['nouns'])} for {picked[1]} with {picked[2]}; topics {', '.join(picked)}"
        )
    return f"{bio} Repositories: {' | '.join(repos)}. Languages: {', '.join(rng.sample(WORDS['languages'], 3))}."


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered) * 1000:8.2f} ms   p99 {p99 * 1000:8.2f} ms"


def timed(queries: np.ndarray, run: Callable[[np.ndarray], object]) -> list[float]:
    run(queries[0])  # warm (loads, caches)
    samples = []
    for query in queries:
        started = time.perf_counter()
        run(query)
        samples.append(time.perf_counter() - started)
    return samples


def report(label: str, samples: list[float]) -> None:
    print(f"  {label:<44} {percentiles(samples)}")


def bench_embedding(texts: list[str]) -> np.ndarray:
    embedder = OfflineEmbedder()
    embedder.embed(texts[:10])  # load the model
    started = time.perf_counter()
    rows = embedder.embed(texts)
    elapsed = time.perf_counter() - started
    print(
        f"offline embedding: {len(texts):,} profiles ({statistics.mean(len(t.split()) for t in texts):.0f} words each) in {elapsed:.2f} s = {len(texts) / elapsed:,.0f} profiles/s"
    )
    return np.asarray(rows, dtype=np.float32)


def corpus(base: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    rows = base[np.arange(size) % len(base)] + rng.normal(0, 0.02, (size, base.shape[1])).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def metadata(i: int) -> dict[str, object]:
    return {"kind": "profile", "person": f"dev{i}"} if i % 2 else {"kind": "repository", "topics": [f"t{i % 50}"]}


def bench_numpy(matrix: np.ndarray, queries: np.ndarray) -> None:
    def run(q: np.ndarray) -> object:
        scores = matrix @ q
        best = np.argpartition(-scores, 10)[:10]
        return best[np.argsort(-scores[best])]

    report("numpy brute force, unfiltered", timed(queries, run))


def bench_embedded(matrix: np.ndarray, queries: np.ndarray, home: Path) -> None:
    store = EmbeddedVectorStore(home / "vectors.sqlite3", space="bench-256", dimensions=matrix.shape[1])
    records = [VectorRecord(id=f"v{i}", values=row.tolist(), metadata=metadata(i)) for i, row in enumerate(matrix)]
    started = time.perf_counter()
    for start in range(0, len(records), 10_000):
        store.upsert("bench", records[start : start + 10_000])
    print(
        f"  embedded: upsert {len(records):,} in {time.perf_counter() - started:.1f} s, file {os.path.getsize(home / 'vectors.sqlite3') / 1e6:.0f} MB"
    )
    started = time.perf_counter()
    store.query("bench", queries[0].tolist(), 10)
    print(f"  embedded: first query (loads the namespace) {time.perf_counter() - started:.2f} s")
    suppressed = [f"dev{i}" for i in range(1, 200, 2)]
    for label, metadata_filter in (
        ("embedded, unfiltered", None),
        ("embedded, kind=profile (50%)", {"kind": "profile"}),
        ("embedded, person $in 5 logins", {"person": {"$in": ["dev1", "dev3", "dev5", "dev7", "dev9"]}}),
        ("embedded, person $nin 100 logins", without_people(suppressed)),
    ):
        report(label, timed(queries, lambda q, f=metadata_filter: store.query("bench", q.tolist(), 10, f)))
    extra = [VectorRecord(id=f"new{i}", values=row.tolist(), metadata=metadata(i)) for i, row in enumerate(queries[:50])]

    def upsert_then_query(q: np.ndarray) -> object:
        store.upsert("bench", extra[:1])
        return store.query("bench", q.tolist(), 10)

    report("embedded, upsert 1 then query (in memory)", timed(queries[:50], upsert_then_query))


def bench_sqlite_vec(matrix: np.ndarray, queries: np.ndarray) -> None:
    try:
        import sqlean
        import sqlite_vec
    except ImportError as exc:
        print(f"  sqlite-vec: not installed ({exc.name})")
        return
    conn = sqlean.connect(":memory:")
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    dims = matrix.shape[1]
    conn.execute(f"CREATE VIRTUAL TABLE knn USING vec0(embedding float[{dims}] distance_metric=cosine)")
    conn.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, embedding BLOB, metadata TEXT)")
    started = time.perf_counter()
    conn.executemany("INSERT INTO knn (rowid, embedding) VALUES (?, ?)", ((i, row.tobytes()) for i, row in enumerate(matrix)))
    conn.executemany(
        "INSERT INTO rows VALUES (?, ?, ?)", ((i, row.tobytes(), json.dumps(metadata(i))) for i, row in enumerate(matrix))
    )
    print(
        f"  sqlite-vec {conn.execute('SELECT vec_version()').fetchone()[0]}: insert {len(matrix):,} in {time.perf_counter() - started:.1f} s"
    )
    knn = "SELECT rowid, distance FROM knn WHERE embedding MATCH ? AND k = 10"
    report("sqlite-vec vec0 KNN, unfiltered", timed(queries, lambda q: conn.execute(knn, (q.tobytes(),)).fetchall()))
    scan = (
        "SELECT id, vec_distance_cosine(embedding, ?) AS d FROM rows WHERE EXISTS (SELECT 1 FROM json_each(metadata, '$.kind')"
        " WHERE value = 'profile') ORDER BY d LIMIT 10"
    )
    report("sqlite-vec scan, kind=profile (50%)", timed(queries, lambda q: conn.execute(scan, (q.tobytes(),)).fetchall()))


def bench_usearch(matrix: np.ndarray, queries: np.ndarray) -> None:
    try:
        from usearch.index import Index
    except ImportError:
        print("  usearch: not installed")
        return
    index = Index(ndim=matrix.shape[1], metric="cos", dtype="f32")
    started = time.perf_counter()
    index.add(np.arange(len(matrix)), matrix)
    print(f"  usearch: HNSW build of {len(matrix):,} in {time.perf_counter() - started:.1f} s")
    report("usearch HNSW, unfiltered", timed(queries, lambda q: index.search(q, 10)))
    hits = 0
    for q in queries:
        exact = set(np.argpartition(-(matrix @ q), 10)[:10].tolist())
        hits += len(exact & set(index.search(q, 10).keys.tolist()))
    print(f"  usearch: recall@10 against exact search {hits / (10 * len(queries)):.3f}")


def bench_pinecone_stub(matrix: np.ndarray, queries: np.ndarray) -> None:
    from foundation.settings import Settings
    from tests.support.pinecone_stub import PineconeStub
    from tools.vectors.pinecone_store import PineconeVectorStore

    with PineconeStub() as stub:
        settings = Settings(_env_file=None, pinecone_api_key=stub.api_key, cmo_pinecone_api_url=stub.url)
        store = PineconeVectorStore.from_settings(settings, dimensions=matrix.shape[1])
        small = matrix[:100]
        store.upsert(
            "bench", [VectorRecord(id=f"v{i}", values=row.tolist(), metadata=metadata(i)) for i, row in enumerate(small)]
        )
        report(
            "pinecone SDK -> stub (100 vectors), kind=profile",
            timed(queries[:50], lambda q: store.query("bench", q.tolist(), 10, {"kind": "profile"})),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", type=int, default=20_000, help="profiles embedded for the throughput")
    parser.add_argument("--vectors", type=int, default=100_000, help="vectors in each store")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per case")
    parser.add_argument(
        "--stores", default="numpy,embedded,sqlite-vec,usearch,pinecone", help="which to measure (usearch's build is minutes)"
    )
    args = parser.parse_args()
    stores = set(args.stores.split(","))
    rng = random.Random(15)
    texts = [profile_text(rng) for _ in range(args.profiles)]
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, numpy {np.__version__}")
    base = bench_embedding(texts)
    noise = np.random.default_rng(15)
    matrix = corpus(base, args.vectors, noise)
    queries = corpus(base[::-1], args.queries, noise)
    print(f"query latency, top 10 of {args.vectors:,} vectors of {matrix.shape[1]} floats, {args.queries} queries:")
    if "numpy" in stores:
        bench_numpy(matrix, queries)
    if "embedded" in stores:
        with tempfile.TemporaryDirectory() as home:
            bench_embedded(matrix, queries, Path(home))
    if "sqlite-vec" in stores:
        bench_sqlite_vec(matrix, queries)
    if "usearch" in stores:
        bench_usearch(matrix, queries)
    if "pinecone" in stores:
        bench_pinecone_stub(matrix, queries)


if __name__ == "__main__":
    main()
