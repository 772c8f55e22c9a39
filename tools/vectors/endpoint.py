"""Embeddings from any OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, Azure-compatible
gateways, vLLM, Ollama...) through the `openai` SDK: `OPENAI_BASE_URL`, `CMO_EMBEDDING_MODEL`.

Bounded like every model call: the SDK's timeout and retries come from `CMO_LLM_TIMEOUT_SECONDS` and
`CMO_LLM_MAX_RETRIES`. Rows are scaled to unit length here, since not every compatible server
normalises, and put back in input order by their `index`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from tools.vectors.offline import refuse_blank, unit_rows

if TYPE_CHECKING:
    from openai import OpenAI

# OpenAI's published output sizes (https://platform.openai.com/docs/guides/embeddings); any other
# model is asked once, on first use, unless CMO_EMBEDDING_DIMENSIONS says.
KNOWN_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
_BATCH = 512  # inputs per request (OpenAI accepts 2,048; smaller batches fail and retry cheaper)


class EndpointEmbedder:
    offline = False

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None,
        timeout_seconds: float,
        max_retries: int,
        dimensions: int | None = None,
    ) -> None:
        from openai import OpenAI

        self._client: OpenAI = OpenAI(api_key=api_key, base_url=base_url, timeout=timeout_seconds, max_retries=max_retries)
        self._model, self._asked = model, dimensions
        self._dimensions = dimensions or KNOWN_DIMENSIONS.get(model)
        self._lock = threading.Lock()

    @property
    def dimensions(self) -> int:
        with self._lock:
            if self._dimensions is None:
                self._dimensions = len(self._request(["dimension probe"])[0])
            return self._dimensions

    @property
    def name(self) -> str:
        return f"openai:{self._model}:{self.dimensions}"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        refuse_blank(texts)
        rows: list[list[float]] = []
        for start in range(0, len(texts), _BATCH):
            rows += self._request(list(texts[start : start + _BATCH]))
        if rows and len(rows[0]) != self.dimensions:
            raise ValueError(f"the endpoint answered {len(rows[0])} dimensions, expected {self.dimensions}")
        return unit_rows(np.asarray(rows, dtype=np.float32), texts).tolist() if rows else []

    def _request(self, texts: list[str]) -> list[list[float]]:
        if self._asked is None:
            response = self._client.embeddings.create(model=self._model, input=texts, encoding_format="float")
        else:
            response = self._client.embeddings.create(
                model=self._model, input=texts, encoding_format="float", dimensions=self._asked
            )
        ordered = sorted(response.data, key=lambda item: item.index)
        if len(ordered) != len(texts):
            raise ValueError(f"the endpoint answered {len(ordered)} embeddings for {len(texts)} texts")
        return [list(item.embedding) for item in ordered]
