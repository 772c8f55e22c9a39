"""The offline embedder: WordLlama's 256-dimension `l2_supercat` model, whose weights and tokenizer
ship inside the `wordllama` wheel (MIT licence), so nothing is downloaded at run time.

Why WordLlama: it is the only candidate whose weights are in the wheel itself (model2vec, also MIT,
fetches its models from the Hugging Face Hub on first use), it needs only numpy, safetensors and
tokenizers, and it embeds tens of thousands of short profiles a second on one core (bench/vectors.py).
It is a bag of token embeddings averaged: good at topical closeness ("vector database" near
"similarity search"), blind to word order, which is what profile and repository matching needs.

`WordLlama.load()` looks for the shipped tokenizer under `tokenizer/` while the wheel puts it in
`tokenizers/`, and would then download it; pointing `cache_dir` at the package directory (whose
`tokenizers/` and `weights/` are the shipped files) with downloads disabled finds both offline.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from wordllama.inference import WordLlamaInference

OFFLINE_MODEL = "wordllama-l2_supercat-256"
_DIMENSIONS = 256
_lock = threading.Lock()
_model: WordLlamaInference | None = None


def _load() -> WordLlamaInference:
    """The model, loaded once per process (16 MB of weights; ~0.2 s)."""
    global _model
    with _lock:
        if _model is None:
            spec = importlib.util.find_spec("wordllama")
            if spec is None or spec.origin is None:
                raise RuntimeError("the wordllama package is not installed (it carries the offline embedding model)")
            root = logging.getLogger()
            guard = logging.NullHandler()  # wordllama calls logging.basicConfig() at import: keep our logging ours
            root.addHandler(guard)
            try:
                from wordllama import WordLlama
            finally:
                root.removeHandler(guard)
            logging.getLogger("wordllama").setLevel(logging.WARNING)
            _model = WordLlama.load(cache_dir=Path(spec.origin).parent, disable_download=True)
    return _model


class OfflineEmbedder:
    """Unit-length 256-float vectors from the shipped WordLlama model; deterministic."""

    name = OFFLINE_MODEL
    dimensions = _DIMENSIONS
    offline = True

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        refuse_blank(texts)
        raw = np.asarray(_load().embed(list(texts), norm=False), dtype=np.float32)
        return unit_rows(raw, texts).tolist()


def unit_rows(raw: np.ndarray, texts: Sequence[str]) -> np.ndarray:
    """Rows scaled to length 1; a text whose tokens add up to nothing has no direction and is refused."""
    norms = np.linalg.norm(raw, axis=1, keepdims=True)
    empty = [i for i, norm in enumerate(norms[:, 0]) if not norm > 0]
    if empty:
        raise ValueError(f"text {empty[0]} of {len(texts)} embeds to a zero vector")
    return raw / norms


def refuse_blank(texts: Sequence[str]) -> None:
    """A blank text says nothing about anyone; embedding it would yield noise or a zero vector."""
    blank = next((i for i, text in enumerate(texts) if not text.strip()), None)
    if blank is not None:
        raise ValueError(f"cannot embed a blank text (position {blank} of {len(texts)})")
