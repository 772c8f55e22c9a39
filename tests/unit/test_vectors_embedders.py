"""The offline embedder: shipped weights, unit vectors, deterministic, topical closeness."""

from __future__ import annotations

import math

import openai
import pytest

from foundation.settings import Settings
from tests.support.openai_server import ScriptedOpenAIServer
from tools.vectors import offline
from tools.vectors.endpoint import EndpointEmbedder
from tools.vectors.factory import embedder_note, open_embedder
from tools.vectors.offline import OfflineEmbedder


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_the_offline_model_loads_from_the_wheel_without_the_network(
    block_internet: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(offline, "_model", None)  # load afresh, under the network block
    assert len(OfflineEmbedder().embed(["offline"])[0]) == 256


def test_offline_vectors_are_unit_length_deterministic_and_256_wide() -> None:
    embedder = OfflineEmbedder()
    first = embedder.embed(["maintainer of a Rust async runtime", "a React component library"])
    again = OfflineEmbedder().embed(["maintainer of a Rust async runtime", "a React component library"])
    assert embedder.dimensions == 256 and embedder.offline
    assert [len(row) for row in first] == [256, 256]
    assert all(math.isclose(math.sqrt(_cos(row, row)), 1.0, abs_tol=1e-5) for row in first)
    assert first == again
    assert embedder.embed([]) == []


def test_similar_texts_are_closer_than_unrelated_ones() -> None:
    query, near, far = OfflineEmbedder().embed(
        [
            "vector database for similarity search",
            "approximate nearest neighbour search index for embeddings",
            "sourdough bread baking recipes",
        ]
    )
    assert _cos(query, near) > _cos(query, far) + 0.1


def test_a_blank_text_is_refused_rather_than_embedded_as_nan() -> None:
    with pytest.raises(ValueError, match="blank"):
        OfflineEmbedder().embed(["fine", "   "])


def test_without_an_api_key_the_offline_model_is_used_and_the_note_says_why() -> None:
    settings = Settings(_env_file=None, openai_api_key=None)
    assert isinstance(open_embedder(settings), OfflineEmbedder)
    assert "offline model" in embedder_note(settings) and "no OPENAI_API_KEY" in embedder_note(settings)
    forced = Settings(_env_file=None, openai_api_key="sk-test", cmo_embeddings="offline")
    assert isinstance(open_embedder(forced), OfflineEmbedder)
    assert "CMO_EMBEDDINGS=offline" in embedder_note(forced)


def _endpoint_settings(server: ScriptedOpenAIServer, **overrides: object) -> Settings:
    options: dict[str, object] = {"openai_api_key": "sk-test", "openai_base_url": server.base_url, "cmo_llm_max_retries": 0}
    return Settings(_env_file=None, **(options | overrides))  # type: ignore[arg-type]


def test_the_endpoint_embedder_speaks_the_documented_shape_and_normalises() -> None:
    with ScriptedOpenAIServer([], embedding_dimensions=16) as server:
        settings = _endpoint_settings(server, cmo_embedding_dimensions=16)
        embedder = open_embedder(settings)
        assert isinstance(embedder, EndpointEmbedder) and not embedder.offline
        rows = embedder.embed(["rust async runtime", "python machine learning", "rust async runtime"])
        assert embedder.name == "openai:text-embedding-3-small:16" and embedder.dimensions == 16
        assert rows[0] == rows[2] and rows[0] != rows[1]  # back in input order despite the reversed answer
        assert all(math.isclose(math.sqrt(_cos(row, row)), 1.0, abs_tol=1e-5) for row in rows)
        (request,) = server.embedding_requests
        assert request == {
            "model": "text-embedding-3-small",
            "input": ["rust async runtime", "python machine learning", "rust async runtime"],
            "encoding_format": "float",
            "dimensions": 16,
        }
        assert embedder_note(settings) == f"Embeddings: text-embedding-3-small at {server.base_url}"


def test_an_unknown_model_is_asked_its_width_once() -> None:
    with ScriptedOpenAIServer([], embedding_dimensions=8) as server:
        embedder = open_embedder(_endpoint_settings(server, cmo_embedding_model="local-embed"))
        assert embedder.dimensions == 8 and embedder.dimensions == 8
        assert len(embedder.embed(["one", "two"])) == 2
        assert [r["input"] for r in server.embedding_requests] == [["dimension probe"], ["one", "two"]]
        assert "dimensions" not in server.embedding_requests[1]


def test_endpoint_failures_are_retried_within_the_bound_then_raised() -> None:
    with ScriptedOpenAIServer([], embedding_failures=1) as server:
        embedder = open_embedder(_endpoint_settings(server, cmo_llm_max_retries=1, cmo_embedding_dimensions=8))
        assert len(embedder.embed(["retried once"])) == 1
    with ScriptedOpenAIServer([], embedding_failures=5) as server:
        embedder = open_embedder(_endpoint_settings(server, cmo_llm_max_retries=1, cmo_embedding_dimensions=8))
        with pytest.raises(openai.InternalServerError):
            embedder.embed(["fails"])
        assert len(server.embedding_requests) == 2
