"""A local contract stub of Pinecone's REST API (version 2026-07), so the real `pinecone` SDK can be
driven over real HTTP in tests.

Shapes follow Pinecone's API reference, https://docs.pinecone.io/reference/api/2026-07/ :
- control plane: `POST /indexes` (control-plane/create_index: `name`, `schema.fields` with one
  `dense_vector` field, `deployment`; answers the IndexModel, 201), `GET /indexes/{name}`
  (control-plane/describe_index: `name`, `host`, `status {ready, state}`, `schema`, `deployment`,
  `deletion_protection`), 404/409 as `{"error": {"code", "message"}, "status"}`;
- data plane: `POST /vectors/upsert` (`vectors [{id, values, metadata}]`, `namespace` -> `upsertedCount`),
  `POST /vectors/fetch_by_metadata` (data-plane/fetch_by_metadata: `filter`, `namespace`, `limit`,
  `paginationToken` -> `vectors {id: ...}`, `pagination.next` while more remain), `POST /query` (`namespace`, `vector`, `topK`, `filter`, `includeMetadata`, `includeValues` ->
  `matches [{id, score, values, metadata}]`, `namespace`, `usage.readUnits`), `GET /vectors/fetch`
  (`ids` repeated, `namespace` -> `vectors {id: {id, values, metadata}}`), `POST /vectors/delete`
  (exactly one of `ids` (at most 1,000), `filter`, `deleteAll`, per the "Delete data" guide,
  https://docs.pinecone.io/guides/manage-data/delete-data; `namespace` -> `{}`), `POST /describe_index_stats` (->
  `namespaces {ns: {vectorCount}}`, `dimension`, `indexFullness`, `totalVectorCount`, `metric`).
Every request must carry `Api-Key` (401 otherwise). Filters follow the "filter by metadata" guide
(https://docs.pinecone.io/guides/search/filter-by-metadata): `$eq $ne $gt $gte $lt $lte $in $nin
$exists $and $or`, implicit equality, list-of-string values matched by any item. The guide does not
say what `$ne`/`$nin` do with a record lacking the key: the stub admits it (as MongoDB, whose query
language Pinecone's is based on, does).

Real Pinecone answers a bare hostname in `host`; the stub answers `http://127.0.0.1:<port>` (the
SDK keeps an explicit scheme), so both planes are this one server. Cosine scores, as the metric says.
"""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


class PineconeStub:
    def __init__(self, api_key: str = "pc-test-key") -> None:
        self.api_key = api_key
        self.indexes: dict[str, dict[str, Any]] = {}
        self.data: dict[str, dict[str, dict[str, Any]]] = {}  # namespace -> id -> {id, values, metadata}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, for the tests
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> PineconeStub:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def dimension(self) -> int:
        (index,) = self.indexes.values()  # the data plane of this stub serves its one index
        return int(index["schema"]["fields"]["_values"]["dimension"])


def _handler_for(stub: PineconeStub) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        pinecone = stub

    return Handler


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else 0.0


def _values(metadata: dict[str, Any], key: str) -> list[Any] | None:
    value = metadata.get(key)
    return None if value is None else value if isinstance(value, list) else [value]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def matches_filter(metadata: dict[str, Any], spec: dict[str, Any]) -> bool:
    """Pinecone's metadata query language over one record."""
    for key, condition in spec.items():
        if key == "$and":
            ok = all(matches_filter(metadata, part) for part in condition)
        elif key == "$or":
            ok = any(matches_filter(metadata, part) for part in condition)
        else:
            ops = condition if isinstance(condition, dict) else {"$eq": condition}
            ok = all(_field(_values(metadata, key), op, operand) for op, operand in ops.items())
        if not ok:
            return False
    return True


def _field(present: list[Any] | None, op: str, operand: Any) -> bool:
    if op == "$exists":
        return (present is not None) == bool(operand)
    if op in ("$ne", "$nin"):
        wanted = [operand] if op == "$ne" else operand
        return present is None or not any(_same(v, w) for v in present for w in wanted)
    if present is None:
        return False
    if op == "$eq":
        return any(_same(v, operand) for v in present)
    if op == "$in":
        return any(_same(v, w) for v in present for w in operand)
    compare = {"$gt": float.__gt__, "$gte": float.__ge__, "$lt": float.__lt__, "$lte": float.__le__}[op]
    return any(isinstance(v, int | float) and not isinstance(v, bool) and compare(float(v), float(operand)) for v in present)


class _Handler(BaseHTTPRequestHandler):
    pinecone: PineconeStub

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced."""

    def _reply(self, status: int, payload: dict[str, Any] | None) -> None:
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, message: str) -> None:
        self._reply(status, {"error": {"code": code, "message": message}, "status": status})

    def _authorised(self) -> bool:
        with self.pinecone.lock:
            self.pinecone.requests.append((self.command, urlsplit(self.path).path))
        if self.headers.get("Api-Key") != self.pinecone.api_key:
            self._error(401, "UNAUTHENTICATED", "Invalid API Key")
            return False
        return True

    def _body(self) -> dict[str, Any]:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        return json.loads(raw) if raw else {}

    def do_GET(self) -> None:
        if not self._authorised():
            return
        url = urlsplit(self.path)
        stub = self.pinecone
        if url.path.startswith("/indexes/"):
            index = stub.indexes.get(url.path.removeprefix("/indexes/"))
            if index is None:
                self._error(404, "NOT_FOUND", f"Resource {url.path} not found")
            else:
                self._reply(200, index)
        elif url.path == "/vectors/fetch":
            query = parse_qs(url.query)
            namespace = query.get("namespace", [""])[0]
            with stub.lock:
                stored = stub.data.get(namespace, {})
                found = {i: stored[i] for i in query.get("ids", []) if i in stored}
            self._reply(200, {"vectors": found, "namespace": namespace, "usage": {"readUnits": 1}})
        else:
            self._error(404, "NOT_FOUND", f"no route GET {url.path}")

    def do_POST(self) -> None:
        if not self._authorised():
            return
        path, body, stub = urlsplit(self.path).path, self._body(), self.pinecone
        if path == "/indexes":
            self._create_index(body)
            return
        namespace = body.get("namespace", "")
        with stub.lock:
            space = stub.data.setdefault(namespace, {})
            if path == "/vectors/upsert":
                for vector in body["vectors"]:
                    if len(vector["values"]) != stub.dimension():
                        self._error(
                            400,
                            "INVALID_ARGUMENT",
                            f"Vector dimension {len(vector['values'])} does not match the dimension of the index {stub.dimension()}",
                        )
                        return
                    space[vector["id"]] = {
                        "id": vector["id"],
                        "values": vector["values"],
                        "metadata": vector.get("metadata") or {},
                    }
                self._reply(200, {"upsertedCount": len(body["vectors"])})
            elif path == "/query":
                self._reply(200, self._query(space, body, namespace))
            elif path == "/vectors/delete":
                if sum(bool(body.get(selector)) for selector in ("ids", "filter", "deleteAll")) != 1:
                    self._error(400, "INVALID_ARGUMENT", "exactly one of ids, filter and deleteAll must be given")
                    return
                if body.get("deleteAll"):
                    space.clear()
                for vector_id in body.get("ids") or []:
                    space.pop(vector_id, None)
                if body.get("filter"):
                    for vector_id in [i for i, v in space.items() if matches_filter(v["metadata"], body["filter"])]:
                        del space[vector_id]
                self._reply(200, {})
            elif path == "/vectors/fetch_by_metadata":
                self._reply(200, self._fetch_by_metadata(space, body, namespace))
            elif path == "/describe_index_stats":
                counts = {ns: {"vectorCount": len(vectors)} for ns, vectors in stub.data.items() if vectors}
                self._reply(
                    200,
                    {
                        "namespaces": counts,
                        "dimension": stub.dimension(),
                        "indexFullness": 0.0,
                        "totalVectorCount": sum(c["vectorCount"] for c in counts.values()),
                        "metric": "cosine",
                        "vectorType": "dense",
                    },
                )
            else:
                self._error(404, "NOT_FOUND", f"no route POST {path}")

    def _query(self, space: dict[str, dict[str, Any]], body: dict[str, Any], namespace: str) -> dict[str, Any]:
        candidates = [v for v in space.values() if not body.get("filter") or matches_filter(v["metadata"], body["filter"])]
        scored = sorted(
            ((_cosine(body["vector"], v["values"]), v) for v in candidates), key=lambda pair: (-pair[0], pair[1]["id"])
        )
        matches = []
        for score, vector in scored[: body["topK"]]:
            match: dict[str, Any] = {"id": vector["id"], "score": score}
            if body.get("includeMetadata"):
                match["metadata"] = vector["metadata"]
            if body.get("includeValues"):
                match["values"] = vector["values"]
            matches.append(match)
        return {"matches": matches, "namespace": namespace, "usage": {"readUnits": 5}}

    def _fetch_by_metadata(self, space: dict[str, dict[str, Any]], body: dict[str, Any], namespace: str) -> dict[str, Any]:
        """One page (`limit`, default 100) of the matching vectors by id; `pagination.next` is the
        offset of the next page, absent on the last."""
        matching = sorted(i for i, v in space.items() if matches_filter(v["metadata"], body["filter"]))
        start, limit = int(body.get("paginationToken") or 0), int(body.get("limit") or 100)
        page = {i: space[i] for i in matching[start : start + limit]}
        answer: dict[str, Any] = {"vectors": page, "namespace": namespace, "usage": {"readUnits": 1}}
        if start + limit < len(matching):
            answer["pagination"] = {"next": str(start + limit)}
        return answer

    def _create_index(self, body: dict[str, Any]) -> None:
        stub = self.pinecone
        name = body["name"]
        fields = body.get("schema", {}).get("fields", {})
        if not any(field.get("type") == "dense_vector" for field in fields.values()):
            self._error(400, "INVALID_ARGUMENT", "schema must declare a dense_vector field")
            return
        with stub.lock:
            if name in stub.indexes:
                self._error(409, "ALREADY_EXISTS", f"Resource {name} already exists")
                return
            deployment = body.get("deployment") or {"deployment_type": "managed", "cloud": "aws", "region": "us-east-1"}
            stub.indexes[name] = {
                "name": name,
                "host": stub.url,
                "status": {"ready": True, "state": "Ready"},
                "schema": {"fields": fields},
                "deployment": deployment,
                "deletion_protection": body.get("deletion_protection", "disabled"),
                "read_capacity": {"mode": "OnDemand", "status": {"state": "Ready"}},
            }
        self._reply(201, stub.indexes[name])
