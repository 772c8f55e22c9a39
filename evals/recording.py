"""Record every LLM HTTP exchange of an eval run, and replay a run from its recording with no network.

Recording happens at the HTTP level (an httpx transport around the real one) rather than at the
LangChain level, so a replay exercises exactly the same client code — request serialisation, tool
call parsing, the OpenAI client's retries — and a changed prompt or schema shows up as a request the
recording does not hold instead of silently reusing a stale answer.

Requests are keyed by a canonical hash of method, path and JSON body (keys sorted), so header order,
the API key and the host do not matter. Each example gets its own transport bound to a *scope*
(`suite/example-id`): with `--jobs N` examples run concurrently, and scoping keeps the answers of two
identical requests from different examples from being swapped. Within one scope identical requests
(a retry after a 500, a model asked the same thing twice) are answered in the recorded order.

`llm_recording.jsonl` holds one exchange a line: scope, key, method, path, request body, status,
response headers and body, latency and token usage. Request headers are never stored, so the API
key never reaches the run directory.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

RECORDING = "llm_recording.jsonl"
# Headers that describe the wire encoding of the original body; the stored body is already decoded.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding", "set-cookie", "connection"})


class ReplayMiss(RuntimeError):
    """A request the recording cannot answer: the prompt, the code or the inputs changed since."""


def _payload(body: bytes) -> Any:
    """A request body as JSON when it is JSON (every OpenAI request is), else as text."""
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body.decode("utf-8", "replace")


def request_key(method: str, path: str, body: bytes) -> str:
    """SHA-256 of the canonical request: method, path and the JSON body with its keys sorted."""
    request = {"method": method.upper(), "path": path, "body": _payload(body)}
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def usage_of(body: Any) -> dict[str, int] | None:
    """Token usage of a chat completion: from the JSON object, or from the last SSE chunk carrying it."""
    if isinstance(body, dict):
        usage = body.get("usage")
    elif isinstance(body, str):
        chunks = [line[5:].strip() for line in body.splitlines() if line.startswith("data:")]
        usages = [json.loads(c).get("usage") for c in chunks if c.startswith("{")]
        usage = next((u for u in reversed(usages) if u), None)
    else:
        usage = None
    if not usage:
        return None
    prompt, completion = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
    total = int(usage.get("total_tokens", prompt + completion))
    return {"input_tokens": prompt, "output_tokens": completion, "total_tokens": total}


class Recorder:
    """Appends exchanges to `llm_recording.jsonl` (thread-safe; each line flushed as it is written)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def write(self, exchange: dict[str, Any]) -> None:
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(exchange, ensure_ascii=False) + "\n")

    def exchanges(self) -> list[dict[str, Any]]:
        """Everything recorded so far (token and latency figures are computed from it)."""
        return read_recording(self.path)


def read_recording(path: Path) -> list[dict[str, Any]]:
    """Every exchange of a recording file, in file order (an absent file is an empty recording)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _decoded(response: httpx.Response) -> Any:
    text = response.content.decode("utf-8", "replace")
    if "json" in response.headers.get("content-type", ""):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _rebuild(request: httpx.Request, status: int, headers: dict[str, str], body: Any) -> httpx.Response:
    """A fresh response with the decoded body (wire-encoding headers dropped so httpx does not decode twice)."""
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    kept = {name: value for name, value in headers.items() if name.lower() not in _WIRE_HEADERS}
    return httpx.Response(status, headers=kept, content=content, request=request)


class RecordingTransport(httpx.BaseTransport):
    """Forwards to the real transport and writes each exchange to the recorder under `scope`."""

    def __init__(self, inner: httpx.BaseTransport, recorder: Recorder, scope: str) -> None:
        self._inner = inner
        self._recorder = recorder
        self._scope = scope

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        started = time.perf_counter()
        response = self._inner.handle_request(request)
        try:
            response.read()
        finally:
            response.close()
        latency = round(time.perf_counter() - started, 4)
        decoded = _decoded(response)
        self._recorder.write(
            {
                "scope": self._scope,
                "key": request_key(request.method, request.url.path, body),
                "method": request.method,
                "path": request.url.path,
                "request": _payload(body),
                "status": response.status_code,
                "response_headers": dict(response.headers),
                "response": decoded,
                "latency_s": latency,
                "usage": usage_of(decoded),
            }
        )
        return _rebuild(request, response.status_code, dict(response.headers), decoded)

    def close(self) -> None:
        self._inner.close()


class Replay:
    """The answers of a recorded run, queued per (scope, request key) in recorded order."""

    def __init__(self, exchanges: list[dict[str, Any]]) -> None:
        self._queues: dict[tuple[str, str], deque[dict[str, Any]]] = defaultdict(deque)
        for exchange in exchanges:
            self._queues[(exchange["scope"], exchange["key"])].append(exchange)
        self._lock = threading.Lock()
        self.misses: list[str] = []

    @classmethod
    def from_run(cls, run_dir: Path) -> Replay:
        path = run_dir / RECORDING
        if not path.is_file():
            raise FileNotFoundError(f"{run_dir} has no {RECORDING}: only runs on the LLM path can be replayed")
        return cls(read_recording(path))

    def answer(self, scope: str, key: str) -> dict[str, Any]:
        with self._lock:
            queue = self._queues.get((scope, key))
            if not queue:
                self.misses.append(scope)
                raise ReplayMiss(f"{scope}: request {key[:12]} is not in the recording (prompt, code or input changed)")
            return queue.popleft()


class ReplayTransport(httpx.BaseTransport):
    """Answers from a `Replay` and never opens a connection; served exchanges go to `recorder` again,
    so a replayed run directory carries the same recording (and token and latency figures) as its source."""

    def __init__(self, replay: Replay, recorder: Recorder, scope: str) -> None:
        self._replay = replay
        self._recorder = recorder
        self._scope = scope

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = request_key(request.method, request.url.path, request.read())
        try:
            exchange = self._replay.answer(self._scope, key)
        except ReplayMiss as miss:
            # Not retryable: the client must give up at once so the example fails instead of waiting.
            error = {"error": {"message": str(miss), "type": "replay_miss", "param": None, "code": None}}
            return _rebuild(request, 400, {"content-type": "application/json", "x-should-retry": "false"}, error)
        self._recorder.write(exchange)
        return _rebuild(request, exchange["status"], exchange["response_headers"], exchange["response"])


class LLMSession:
    """Builds one chat model per example, each with its own recording (or replaying) HTTP client.

    `replay` set means no network at all: the key is a dummy and every answer comes from the recording.
    """

    def __init__(self, run_dir: Path, model: str, base_url: str | None, api_key: str, replay: Replay | None = None) -> None:
        self.model = model
        self.base_url = base_url
        self.replay = replay
        self.recorder = Recorder(run_dir / RECORDING)
        self._api_key = api_key
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()

    def settings_values(self) -> dict[str, Any]:
        """The Settings fields that switch the agents to this model."""
        return {"openai_api_key": self._api_key, "openai_base_url": self.base_url, "cmo_model": self.model}

    def chat_model(self, scope: str) -> BaseChatModel:
        from evals.settings import EvalSettings
        from graph.llm import get_chat_model

        if self.replay is not None:
            transport: httpx.BaseTransport = ReplayTransport(self.replay, self.recorder, scope)
        else:
            transport = RecordingTransport(httpx.HTTPTransport(), self.recorder, scope)
        client = httpx.Client(transport=transport)
        with self._lock:
            self._clients.append(client)
        model = get_chat_model(EvalSettings(**self.settings_values()), http_client=client)
        assert model is not None, "an LLM session always has a key"
        return model

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()
