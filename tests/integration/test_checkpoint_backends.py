"""One set of checkpoint tests over every store the product can checkpoint to, as langgraph's own
suite parametrises its checkpointers: in memory, SQLite, SQLite encrypted, Postgres, Postgres
encrypted.

The savers come from `storage.checkpoints.open_saver`, the code `open_checkpointer` runs on, and need
no service schema: SQLite files of the test alone, or a Postgres schema of the test alone that holds,
when encrypted, only the keyring's `data_keys` table (no migrations). A real run interrupted and
resumed end to end is in test_checkpointers.py; every store of the service after a job, in
test_encryption_at_rest.py.
"""

from __future__ import annotations

import json
import operator
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypedDict

import psycopg
import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Send
from sqlalchemy import create_engine

from foundation.schemas import Prospect
from foundation.schemas.run import RunInfo
from foundation.settings import Settings
from privacy.crypto import DecryptionError
from storage.checkpoints import Backend, delete_threads, encrypted_serializer, open_saver, serializer
from storage.keyring import get_keyring
from storage.tables import data_keys
from storage.urls import CHECKPOINTS_FILE, postgres_conninfo, sqlalchemy_url

TENANT, OTHER_TENANT = "ten_acme", "ten_globex"
EMAIL, NAME = "ada.lovelace@example.org", "Ada Lovelace"  # personal data: never at rest in plaintext when encrypted
GOAL = f"people like {NAME} <{EMAIL}>"  # a bare string channel, as the run's goal is

# id -> (backend, encrypted)
STORES: dict[str, tuple[Backend, bool]] = {
    "memory": ("memory", False),
    "sqlite": ("sqlite", False),
    "sqlite-encrypted": ("sqlite", True),
    "postgres": ("postgres", False),
    "postgres-encrypted": ("postgres", True),
}


def stores(*, persistent: bool = False, encrypted: bool = False) -> list[pytest.ParameterSet]:
    """The store ids as parameters (the Postgres ones marked `postgres`): all of them, or only those
    that keep something at rest (not memory), or only the encrypted ones."""
    return [
        pytest.param(name, id=name, marks=[pytest.mark.postgres] if backend == "postgres" else [])
        for name, (backend, sealed) in STORES.items()
        if (backend != "memory" or not persistent) and (sealed or not encrypted)
    ]


@dataclass(frozen=True)
class Store:
    """A checkpoint store under test: its backend, whether it encrypts, and the settings naming it."""

    backend: Backend
    encrypted: bool
    settings: Settings

    @contextmanager
    def open(self, tenant_id: str = TENANT, *, encrypted: bool | None = None) -> Iterator[BaseCheckpointSaver]:
        """A saver on this store for `tenant_id`, encrypting as the store does unless told otherwise
        (a memory store's savers share nothing: each is a store of its own)."""
        sealed = self.encrypted if encrypted is None else encrypted
        serde = encrypted_serializer(get_keyring(self.settings), tenant_id) if sealed else serializer()
        with open_saver(self.backend, self.settings, serde) as saver:
            yield saver

    def at_rest(self) -> bytes:
        """Everything the store keeps, as kept: the bytes of the SQLite files (WAL included), or every
        value of the Postgres checkpoint tables (bytea as its bytes, the rest as JSON)."""
        if self.backend == "sqlite":
            return b"".join(path.read_bytes() for path in sorted(self.settings.home.glob(f"{CHECKPOINTS_FILE}*")))
        assert self.backend == "postgres" and self.settings.database_url, "a memory store keeps nothing at rest"
        chunks: list[bytes] = []
        with psycopg.connect(postgres_conninfo(self.settings.database_url)) as conn:
            for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
                for row in conn.execute(f"SELECT * FROM {table}"):
                    for value in row:
                        raw = bytes(value) if isinstance(value, bytes | memoryview) else None
                        chunks.append(raw if raw is not None else json.dumps(value, default=str, ensure_ascii=False).encode())
        return b"\n".join(chunks)


@pytest.fixture(params=stores())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A store of this test alone. Encrypted Postgres gets the one table the keyring needs, as
    `cmo db upgrade` would create it; nothing else of the service's schema."""
    backend, encrypted = STORES[request.param]
    url = request.getfixturevalue("private_postgres_url") if backend == "postgres" else None
    settings = Settings(cmo_home=tmp_path / "home", database_url=url)
    if url and encrypted:
        engine = create_engine(sqlalchemy_url(settings, driver_async=False))
        try:
            data_keys.create(engine)
        finally:
            engine.dispose()
    return Store(backend, encrypted, settings)


@pytest.fixture
def saver(store: Store) -> Iterator[BaseCheckpointSaver]:
    """The store's saver for `TENANT`, open for the whole test."""
    with store.open() as saver:
        yield saver


def thread(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


def prospect(login: str) -> Prospect:
    return Prospect(id=f"gh_{login}", username=login, name=NAME, email=EMAIL)


def run_info(run_id: str) -> RunInfo:
    started = datetime(2025, 3, 4, 5, 6, tzinfo=UTC)
    return RunInfo(
        run_id=run_id,
        started_at=started,
        sandbox=True,
        llm="none",
        prompt_version="v1",
        api_base="sandbox:7:400",
        tenant_id=TENANT,
    )


def put_run(saver: BaseCheckpointSaver, thread_id: str) -> RunnableConfig:
    """A checkpoint as a run leaves it (its RunInfo, the goal, a count, prospects) and the pending
    write of a branch that finished after it; returns the checkpoint's config."""
    values: dict[str, Any] = {"run": run_info(thread_id), "goal": GOAL, "dispatched": 3, "prospects": [prospect("ada")]}
    version = saver.get_next_version(None, None)
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = values
    checkpoint["channel_versions"] = dict.fromkeys(values, version)
    saved = saver.put(thread(thread_id), checkpoint, {"source": "loop", "step": 1}, dict.fromkeys(values, version))
    saver.put_writes(saved, [("enriched", [prospect("grace")])], task_id="enricher-1")
    return saved


def test_checkpoints_and_writes_round_trip_models_and_bare_strings(saver: BaseCheckpointSaver) -> None:
    saved = put_run(saver, "cmo_round_trip")
    loaded = saver.get_tuple({"configurable": {"thread_id": "cmo_round_trip"}})  # the latest, as a resume asks
    assert loaded is not None and loaded.config == saved
    values = loaded.checkpoint["channel_values"]
    assert values == {"run": run_info("cmo_round_trip"), "goal": GOAL, "dispatched": 3, "prospects": [prospect("ada")]}
    assert type(values["run"]) is RunInfo and type(values["prospects"][0]) is Prospect, "models revive as models"
    assert type(values["goal"]) is str and type(values["dispatched"]) is int
    assert loaded.metadata["step"] == 1
    assert loaded.pending_writes == [("enricher-1", "enriched", [prospect("grace")])]


class Crash(Exception):
    """A branch dying mid-wave, as a killed process would leave it."""


class Flow(TypedDict, total=False):
    run: RunInfo
    goal: str
    logins: list[str]
    enriched: Annotated[list[Prospect], operator.add]
    found: list[str]


class EnrichTask(TypedDict):
    login: str


class Enricher:
    """The fan-out branch: counts its calls per login. The first call for `flaky` waits until its
    siblings' results are saved as pending writes of the thread's checkpoint, then crashes."""

    def __init__(self, saver: BaseCheckpointSaver, thread_id: str, *, flaky: str, siblings: int) -> None:
        self.saver, self.thread_id, self.flaky, self.siblings = saver, thread_id, flaky, siblings
        self.calls: Counter[str] = Counter()

    def __call__(self, state: EnrichTask) -> Flow:
        login = state["login"]
        self.calls[login] += 1
        if login == self.flaky and self.calls[login] == 1:
            deadline = time.monotonic() + 10
            while self._saved_siblings() < self.siblings:
                assert time.monotonic() < deadline, "the sibling branches' results were never saved"
                time.sleep(0.01)
            raise Crash(login)
        return {"enriched": [prospect(login)]}

    def _saved_siblings(self) -> int:
        latest = self.saver.get_tuple({"configurable": {"thread_id": self.thread_id}})
        writes = (latest.pending_writes or []) if latest else []
        return sum(channel == "enriched" for _, channel, _ in writes)


def small_graph(saver: BaseCheckpointSaver, enricher: Enricher) -> CompiledStateGraph:
    """plan -> one enricher branch per login (Send) -> report: the product graph's shape in miniature."""
    builder = StateGraph(Flow)
    builder.add_node("plan", lambda state: {"logins": ["ada", "bob", "grace"]})
    builder.add_node("enrich", enricher)
    builder.add_node("report", lambda state: {"found": sorted(p.username for p in state["enriched"])})
    builder.add_edge(START, "plan")
    builder.add_conditional_edges(
        "plan", lambda state: [Send("enrich", {"login": login}) for login in state["logins"]], ["enrich"]
    )
    builder.add_edge("enrich", "report")
    builder.add_edge("report", END)
    return builder.compile(checkpointer=saver)


def test_a_crashed_graph_lists_its_checkpoints_and_resumes_without_repeating_finished_branches(
    saver: BaseCheckpointSaver,
) -> None:
    enricher = Enricher(saver, "cmo_small", flaky="grace", siblings=2)
    graph = small_graph(saver, enricher)
    config: RunnableConfig = {"configurable": {"thread_id": "cmo_small"}}
    with pytest.raises(Crash):
        graph.invoke({"run": run_info("cmo_small"), "goal": GOAL}, config, durability="sync")

    history = list(saver.list(config))
    assert [c.metadata["step"] for c in history] == [1, 0, -1], "newest first: after plan, after the input, the input"
    assert [c.metadata["source"] for c in history] == ["loop", "loop", "input"]
    latest = saver.get_tuple(config)
    assert latest is not None and [c.config for c in saver.list(config, limit=1)] == [latest.config] == [history[0].config]
    assert set(graph.get_state(config).next) == {"enrich"}
    finished = sorted(value[0].username for _, channel, value in history[0].pending_writes or [] if channel == "enriched")
    assert finished == ["ada", "bob"], "the finished branches' results are kept as pending writes"

    final = graph.invoke(None, config, durability="sync")
    assert final["found"] == ["ada", "bob", "grace"] and final["goal"] == GOAL
    assert all(type(p) is Prospect for p in final["enriched"]) and final["run"] == run_info("cmo_small")
    assert enricher.calls == Counter(ada=1, bob=1, grace=2), "finished branches are not repeated"
    assert graph.get_state(config).next == ()
    assert [c.metadata["step"] for c in saver.list(config)][:2] == [3, 2]


@pytest.mark.parametrize("store", stores(persistent=True), indirect=True)
def test_values_at_rest_are_sealed_exactly_when_the_store_encrypts(store: Store, saver: BaseCheckpointSaver) -> None:
    put_run(saver, "cmo_at_rest")
    raw = store.at_rest()
    assert b"cmo_at_rest" in raw, "the scan reads what the saver wrote"
    leaked = {needle for needle in (EMAIL, NAME) if needle.encode() in raw}
    assert leaked == (set() if store.encrypted else {EMAIL, NAME}), "plain stores show the scan would see a leak"


@pytest.mark.parametrize("store", stores(encrypted=True), indirect=True)
def test_a_tenant_cannot_read_another_tenants_checkpoints(store: Store, saver: BaseCheckpointSaver) -> None:
    theirs = put_run(saver, "cmo_acme")
    with store.open(OTHER_TENANT) as other:
        own = put_run(other, "cmo_globex")  # the other tenant has a data key of its own, and uses it
        assert other.get_tuple(own) is not None
        with pytest.raises(DecryptionError, match="another tenant"):
            other.get_tuple(theirs)
    with pytest.raises(DecryptionError, match="another tenant"):
        saver.get_tuple(own)


@pytest.mark.parametrize("store", stores(encrypted=True), indirect=True)
def test_checkpoints_written_before_encryption_still_load(store: Store, saver: BaseCheckpointSaver) -> None:
    with store.open(encrypted=False) as plain:
        legacy = put_run(plain, "cmo_legacy")
    loaded = saver.get_tuple(legacy)
    assert loaded is not None and loaded.checkpoint["channel_values"]["goal"] == GOAL
    assert loaded.pending_writes == [("enricher-1", "enriched", [prospect("grace")])]


def test_delete_thread_removes_that_thread_alone(saver: BaseCheckpointSaver) -> None:
    put_run(saver, "cmo_erase_me")
    kept = put_run(saver, "cmo_keep_me")
    saver.delete_thread("cmo_erase_me")
    assert saver.get_tuple(thread("cmo_erase_me")) is None and list(saver.list(thread("cmo_erase_me"))) == []
    loaded = saver.get_tuple(kept)
    assert loaded is not None and loaded.pending_writes, "the other thread keeps its checkpoint and writes"


@pytest.mark.parametrize("store", stores(persistent=True), indirect=True)
def test_delete_threads_leaves_no_trace_of_the_deleted_runs(store: Store, saver: BaseCheckpointSaver) -> None:
    """`delete_threads` is what erasure and retention call; SQLite must not keep freed pages or WAL frames."""
    put_run(saver, "cmo_erase_me")
    put_run(saver, "cmo_keep_me")
    asked = ["cmo_erase_me", "cmo_never_ran"]
    assert delete_threads(store.settings, TENANT, asked, dry_run=True) == {"cmo_erase_me"}
    assert saver.get_tuple(thread("cmo_erase_me")) is not None, "a dry run deletes nothing"
    assert delete_threads(store.settings, TENANT, asked) == {"cmo_erase_me"}
    assert saver.get_tuple(thread("cmo_erase_me")) is None and saver.get_tuple(thread("cmo_keep_me")) is not None
    raw = store.at_rest()
    assert b"cmo_erase_me" not in raw and b"cmo_keep_me" in raw
