"""A whole lookalike run embeds each text once at a real embeddings endpoint (the scripted
OpenAI-compatible server, over HTTP): the researcher, the duplicate merge and the lookalike ranking
share the run's embedder, which paid for the same repository texts 3-5 times before."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from foundation.settings import Settings
from graph.runner import run_job
from sandbox import open_sandbox
from tests.support.openai_server import Reply, ScriptedOpenAIServer

GOAL = "Find developers like @agupta, @ahmed-sync and @aiko-sync"  # seeds of one sandbox persona (`cmo sandbox personas`)


def test_a_lookalike_run_sends_each_text_to_the_endpoint_once(tmp_path: Path, block_internet: None) -> None:
    with ScriptedOpenAIServer(lambda body: Reply.error(500), embedding_dimensions=64) as server:
        settings = Settings(
            cmo_home=tmp_path / "home",
            openai_api_key="test-key",
            openai_base_url=server.base_url,
            cmo_embeddings="endpoint",
            cmo_embedding_dimensions=64,
            cmo_llm_max_retries=0,
            cmo_sender_postal_address="TechFlow, 1 Main St, Springfield, USA",
            cmo_unsubscribe_url="https://techflow.dev/unsubscribe",
        )
        result = run_job(GOAL, settings, sandbox=open_sandbox, out_dir=tmp_path / "out")
    assert result.summary.prospects_found > 0, result.summary
    sent = Counter(
        text
        for body in server.embedding_requests
        for text in ([body["input"]] if isinstance(body["input"], str) else body["input"])
    )
    assert sent and max(sent.values()) == 1, sent.most_common(3)
