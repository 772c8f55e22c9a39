"""Write evals/datasets/researcher_agent_sessions.jsonl: the sessions the researcher_agent suite replays offline.

    .venv/bin/python evals/datasets/record_researcher_sessions.py            # the reference policy
    .venv/bin/python evals/datasets/record_researcher_sessions.py --from RUN # a real model's run

Why a committed recording: the suite must run with no network and no key (`make eval`), yet
exercise the real client code; so each example's model exchanges are recorded once at the HTTP level
and replayed (`evals/recording.py`). Without `--from`, every example of researcher_agent.yaml is
played by the scripted reference policy (tests/support/research_policy.py, with the example's
`reference` searches and words) over the scripted OpenAI-compatible server, through the suite's own
`evaluate`, so the requests are exactly those the suite sends. With `--from RUN`, the sessions of an
LLM-path run (`cmo eval run --suite researcher_agent --model NAME --out RUN`) are committed instead.

Re-record after changing the researcher prompt, its tools' schemas, the loop or the dataset: the
suite fails an example whose requests the recording lacks. Only what a replay needs is kept (no
request bodies, no headers but the content type), so the file stays small and holds no key.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script from a checkout: the packages and tests/support

from evals import suite_researcher_agent as suite  # noqa: E402
from evals.datasets import ResearcherAgentExample, load_dataset  # noqa: E402
from evals.recording import RECORDING, LLMSession, read_recording  # noqa: E402
from evals.suites import SuiteContext  # noqa: E402
from tests.support.openai_server import ScriptedOpenAIServer  # noqa: E402
from tests.support.research_policy import ResearchPolicy  # noqa: E402

OUT = Path(__file__).resolve().parent / suite.SESSIONS
REFERENCE_MODEL = "reference-policy"


def compact(exchange: dict[str, Any]) -> dict[str, Any]:
    """What a replay reads of one exchange, plus the model it was recorded with."""
    content_type = {k: v for k, v in exchange["response_headers"].items() if k.lower() == "content-type"}
    return {
        "scope": exchange["scope"],
        "key": exchange["key"],
        "model": exchange["request"]["model"],
        "status": exchange["status"],
        "response_headers": content_type,
        "response": exchange["response"],
        "latency_s": exchange["latency_s"],
        "usage": exchange["usage"],
    }


def reference(example: ResearcherAgentExample, work: Path) -> list[dict[str, Any]]:
    """The example's session as the reference policy plays it, through the suite's own `evaluate`."""
    run_dir = work / example.id
    policy = ResearchPolicy(**example.reference.model_dump())
    with ScriptedOpenAIServer(policy, model=REFERENCE_MODEL) as server:
        session = LLMSession(run_dir, REFERENCE_MODEL, server.base_url, "scripted")
        ctx = SuiteContext(run_dir=run_dir, today=example.anchor, prompt_version="v1", prompts_dir=None, session=session)
        try:
            result = suite.evaluate(example, ctx)
        finally:
            session.close()
    print(f"{example.id}: passed={result.passed} {result.scores} {result.failures}", file=sys.stderr)
    return read_recording(run_dir / RECORDING)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="run", type=Path, help="an LLM-path eval run directory to commit the sessions of")
    args = parser.parse_args()
    examples: list[ResearcherAgentExample] = load_dataset("researcher_agent").examples
    if args.run is not None:
        exchanges = [e for e in read_recording(args.run / RECORDING) if e["scope"].startswith(f"{suite.SUITE}/")]
    else:
        with tempfile.TemporaryDirectory() as work:
            exchanges = [e for example in examples for e in reference(example, Path(work))]
    order = {f"{suite.SUITE}/{example.id}": n for n, example in enumerate(examples)}
    exchanges.sort(key=lambda e: order.get(e["scope"], len(order)))  # stable: recorded order within a scope
    OUT.write_text("".join(json.dumps(compact(e), ensure_ascii=False) + "\n" for e in exchanges), encoding="utf-8")
    print(f"wrote {len(exchanges)} exchanges to {OUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
