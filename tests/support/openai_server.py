"""A scripted OpenAI-compatible HTTP server, so the real `ChatOpenAI` can be tested offline.

Fake chat models skip everything between LangChain and the wire: request serialisation, SSE
parsing, tool-call deltas, usage accounting and the OpenAI client's retries. This server answers
`POST /v1/chat/completions` (JSON or SSE) and `GET /v1/models` from a fixed script, or from a
responder callable, on 127.0.0.1 with an ephemeral port, and records every request body.

    with ScriptedOpenAIServer([Reply.error(500), Reply.tool("LLMPlan", {...}), Reply.tools(("a", {}), ("b", {}))]) as srv:
        llm = srv.chat_model()  # or ChatOpenAI(base_url=srv.base_url, api_key="test", model="scripted")
        ...
        assert srv.requests[-1]["tools"][0]["function"]["name"] == "LLMPlan"

`srv.url` is the server root (`http://127.0.0.1:<port>`); `srv.base_url` adds `/v1`, which is what
`ChatOpenAI(base_url=...)` wants. Error replies carry `retry-after-ms: 1` so the client's retries
do not sleep through its exponential backoff. Like OpenAI, the server answers 400 when an assistant
message's `tool_calls` are not each answered by a `tool` message (without using up a scripted reply).
`Reply.hang()` plays an endpoint that accepts the request and never answers (until the server closes).

`POST /v1/embeddings` answers OpenAI's documented shape (https://platform.openai.com/docs/api-reference/embeddings/create:
`data [{object: "embedding", index, embedding}]`, `model`, `usage`) with deterministic, deliberately
unnormalised bag-of-words vectors of `embedding_dimensions` floats (or the request's `dimensions`),
listed in reverse order so clients must sort by `index`; the first `embedding_failures` requests get a
retryable 500. Every embeddings request body is kept in `embedding_requests`.
"""

from __future__ import annotations

import json
import math
import re
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI

_CREATED = 1_700_000_000


@dataclass(frozen=True)
class Reply:
    """One scripted answer: text `content`, a call of tool `tool_name`, several calls in one answer
    (`calls`, as OpenAI's parallel tool calls), or an error `status` (whose message is then `content`).

    `arguments` may be a string so tests can send malformed JSON the way a real model sometimes does.
    `stall` seconds pass before the answer; an infinite stall never answers (the connection closes
    with the server).
    """

    content: str = ""
    tool_name: str | None = None
    arguments: dict[str, Any] | str | None = None
    status: int = 200
    stall: float = 0.0
    calls: tuple[tuple[str, dict[str, Any] | str], ...] = ()

    @classmethod
    def text(cls, content: str) -> Reply:
        return cls(content=content)

    @classmethod
    def tool(cls, name: str, arguments: dict[str, Any] | str) -> Reply:
        return cls(tool_name=name, arguments=arguments)

    @classmethod
    def tools(cls, *calls: tuple[str, dict[str, Any] | str]) -> Reply:
        """One answer calling several tools (ids `call_<n>_<i>`)."""
        return cls(calls=calls)

    @classmethod
    def error(cls, status: int = 500, message: str = "scripted failure") -> Reply:
        return cls(content=message, status=status)

    @classmethod
    def hang(cls, seconds: float = math.inf) -> Reply:
        """No answer for `seconds` (by default never: a hung endpoint)."""
        return cls(stall=seconds)

    @property
    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments or {})

    def tool_calls(self, number: int) -> list[dict[str, Any]]:
        """The answer's calls in OpenAI's shape (empty for a text answer)."""
        if self.tool_name:
            return [_tool_call(f"call_{number}", self.tool_name, self.arguments_json)]
        return [
            _tool_call(f"call_{number}_{i}", name, args if isinstance(args, str) else json.dumps(args))
            for i, (name, args) in enumerate(self.calls, start=1)
        ]


Responder = Callable[[dict[str, Any]], Reply]


def approx_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer (about four characters a token, at least one)."""
    return max(1, len(text) // 4)


class ScriptedOpenAIServer:
    """Serves `script` replies in order (or asks `script(body)` when it is a callable).

    A script that runs out, a responder that raises and a malformed conversation are answered with a
    non-retryable error (`x-should-retry: false`), so the test fails at once with a readable message.
    """

    def __init__(
        self,
        script: list[Reply] | Responder,
        model: str = "scripted",
        *,
        embedding_dimensions: int = 8,
        embedding_failures: int = 0,
    ) -> None:
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.embedding_requests: list[dict[str, Any]] = []
        self.embedding_dimensions, self.embedding_failures = embedding_dimensions, embedding_failures
        self._script = script if callable(script) else list(script)
        self._lock = threading.Lock()
        self.closing = threading.Event()  # set on exit: stalled handlers stop waiting
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        # A short poll interval: `shutdown()` waits up to one interval, and tests open many servers.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="scripted-openai", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def chat_model(self, **kwargs: Any) -> ChatOpenAI:
        """A `ChatOpenAI` pointed here; keyword arguments override the defaults (e.g. `max_retries`)."""
        from langchain_openai import ChatOpenAI

        options: dict[str, Any] = {"base_url": self.base_url, "api_key": "test", "model": self.model, "timeout": 10}
        return ChatOpenAI(**(options | kwargs))

    def __enter__(self) -> ScriptedOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def next_reply(self, body: dict[str, Any]) -> tuple[int, Reply]:
        """Record `body` and pick its reply, numbered from 1 (ids such as `call_<n>` use the number).

        Raises `_ServerProblem` when no scripted reply applies.
        """
        with self._lock:
            self.requests.append(body)
            if (problem := _protocol_error(body)) is not None:
                raise _ServerProblem(400, problem)
            if callable(self._script):
                try:
                    return len(self.requests), self._script(body)
                except Exception as exc:  # a broken responder must fail the test, not hang the client
                    raise _ServerProblem(500, f"responder raised {exc!r}") from exc
            if not self._script:
                raise _ServerProblem(400, f"script exhausted after {len(self.requests) - 1} requests")
            return len(self.requests), self._script.pop(0)

    def embeddings(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Record `body`; a scripted failure, or the embeddings of its `input` (a string or a list)."""
        with self._lock:
            self.embedding_requests.append(body)
            if len(self.embedding_requests) <= self.embedding_failures:
                return 500, {"error": {"message": "scripted embeddings failure", "type": "server_error"}}
        texts = [body["input"]] if isinstance(body["input"], str) else list(body["input"])
        width = int(body.get("dimensions") or self.embedding_dimensions)
        data = [{"object": "embedding", "index": i, "embedding": _bag_of_words(text, width)} for i, text in enumerate(texts)]
        tokens = sum(approx_tokens(text) for text in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return 200, {"object": "list", "data": data[::-1], "model": body.get("model", self.model), "usage": usage}


def _bag_of_words(text: str, width: int) -> list[float]:
    """Each word adds 3 to one coordinate picked by its CRC: texts sharing words point alike."""
    vector = [0.0] * width
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vector[zlib.crc32(word.encode()) % width] += 3.0
    return vector


class _ServerProblem(Exception):
    """A request the script cannot answer; sent as a non-retryable error so the test fails at once."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _handler_for(server: ScriptedOpenAIServer) -> type[BaseHTTPRequestHandler]:
    """A handler class bound to `server` (the stdlib builds one handler instance per request)."""

    class Handler(_ScriptedHandler):
        scripted = server

    return Handler


class _ScriptedHandler(BaseHTTPRequestHandler):
    scripted: ScriptedOpenAIServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: test output should not carry an access log."""

    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            self._send_error(404, f"no route GET {self.path}", retry=False)
            return
        model = {"id": self.scripted.model, "object": "model", "created": _CREATED, "owned_by": "cmo-tests"}
        self._send_json(200, {"object": "list", "data": [model]})

    def do_POST(self) -> None:
        if self.path.rstrip("/") == "/v1/embeddings":
            status, payload = self.scripted.embeddings(json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0")))))
            self._send_json(status, payload, {"retry-after-ms": "1"} if status != 200 else None)
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_error(404, f"no route POST {self.path}", retry=False)
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        try:
            number, reply = self.scripted.next_reply(body)
        except _ServerProblem as problem:
            self._send_error(problem.status, str(problem), retry=False)
            return
        if reply.stall and self.scripted.closing.wait(None if math.isinf(reply.stall) else reply.stall):
            return  # closed while stalling: the connection drops without an answer
        if reply.status != 200:
            self._send_error(reply.status, reply.content, retry=True)
        elif body.get("stream"):
            self._send_stream(reply, body, number)
        else:
            self._send_json(200, _completion(reply, body, self.scripted.model, number))

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, message: str, *, retry: bool) -> None:
        error = {"message": message, "type": "server_error" if status >= 500 else "invalid_request_error"}
        headers = {"retry-after-ms": "1"} if retry else {"x-should-retry": "false"}
        self._send_json(status, {"error": error | {"param": None, "code": None}}, headers)

    def _send_stream(self, reply: Reply, body: dict[str, Any], number: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for chunk in _chunks(reply, body, self.scripted.model, number):
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def _protocol_error(body: dict[str, Any]) -> str | None:
    """OpenAI's 400 for an assistant `tool_calls` message not answered by a tool message per call id."""
    messages = body.get("messages", [])
    for position, message in enumerate(messages):
        wanted = {call["id"] for call in message.get("tool_calls") or []}
        for follower in messages[position + 1 :]:
            if follower.get("role") != "tool":
                break
            wanted.discard(follower.get("tool_call_id"))
        if wanted:
            missing = ", ".join(sorted(wanted))
            return (
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                f"'tool_call_id'. The following tool_call_ids did not have response messages: {missing}"
            )
    return None


def _usage(reply: Reply, body: dict[str, Any]) -> dict[str, int]:
    prompt = approx_tokens(json.dumps(body.get("messages", [])))
    calls = reply.tool_calls(0)
    completion = approx_tokens("".join(c["function"]["arguments"] for c in calls) if calls else reply.content)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _finish_reason(reply: Reply) -> str:
    return "tool_calls" if reply.tool_calls(0) else "stop"


def _completion(reply: Reply, body: dict[str, Any], model: str, number: int) -> dict[str, Any]:
    """A non-streaming `chat.completion` object."""
    calls = reply.tool_calls(number)
    message: dict[str, Any] = {"role": "assistant", "content": None if calls else reply.content}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion",
        "created": _CREATED,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish_reason(reply), "logprobs": None}],
        "usage": _usage(reply, body),
    }


def _chunks(reply: Reply, body: dict[str, Any], model: str, number: int) -> Iterator[dict[str, Any]]:
    """`chat.completion.chunk` objects: role, content or tool-call deltas, finish, optional usage.

    Text streams word by word and tool arguments in 8-character slices, so tests exercise the
    client's reassembly of deltas rather than a single convenient chunk.
    """

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        envelope = {"id": f"chatcmpl-{number}", "object": "chat.completion.chunk", "created": _CREATED, "model": model}
        return envelope | {"choices": choices} | extra

    def delta(content: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return chunk([{"index": 0, "delta": content, "finish_reason": finish, "logprobs": None}])

    calls = reply.tool_calls(number)
    if calls:
        yield delta({"role": "assistant", "content": None})
        for index, call in enumerate(calls):
            opening = {"index": index} | call | {"function": {"name": call["function"]["name"], "arguments": ""}}
            yield delta({"tool_calls": [opening]})
            arguments = call["function"]["arguments"]
            for start in range(0, len(arguments), 8):
                yield delta({"tool_calls": [{"index": index, "function": {"arguments": arguments[start : start + 8]}}]})
    else:
        yield delta({"role": "assistant", "content": ""})
        for word in re.findall(r"\s*\S+", reply.content):
            yield delta({"content": word})
    yield delta({}, _finish_reason(reply))
    if (body.get("stream_options") or {}).get("include_usage"):
        yield chunk([], usage=_usage(reply, body))
