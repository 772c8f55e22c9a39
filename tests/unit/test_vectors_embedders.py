"""The offline embedder: shipped weights, unit vectors, deterministic, topical closeness."""

from __future__ import annotations

import math

import pytest

from foundation.settings import Settings
from tools.vectors.factory import embedder_note, open_embedder
from tools.vectors.offline import OfflineEmbedder


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


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
