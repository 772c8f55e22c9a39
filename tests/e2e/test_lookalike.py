"""Both lookalike commands and an open-ended goal, as a user runs them on the sandbox with no network
(the in-process sandbox, the shipped offline embedding model): the seeds never come back, a
suppressed person never appears, each lead's evidence names what it shares with the seeds, and the
researcher's trace says why each repo of an open-ended subject was kept or dropped."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from sandbox import LOCAL_FIRST, LOCAL_FIRST_PERSONA, generate_world, persona_of, subject_repos
from sandbox.world import World
from tools.vectors.embedded import VECTORS_FILE, EmbeddedVectorStore
from tools.vectors.factory import LOCAL_NAMESPACE
from tools.vectors.offline import OfflineEmbedder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=7, users=1500)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith(("GITHUB_", "OPENAI_", "SANDBOX_", "CMO_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CMO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def seeds_of(world: World, persona: str) -> list[str]:
    owners = {r.owner for r in world.repos.values() if not r.fork and not r.archived and r.contributors}
    return [login for login, p in world.personas.items() if p == persona and login in owners][:3]


def run(tmp: Path, *args: str) -> tuple[list[dict], list[dict], dict]:
    out = tmp / "out"
    result = CliRunner().invoke(app, ["run", *args, "--out", str(out), "--max-prospects", "20"])
    assert result.exit_code == 0, result.output
    leads = json.loads((out / "leads_full.json").read_text())
    trace = [json.loads(line) for line in (out / "trace.jsonl").read_text().splitlines()]
    return leads, trace, json.loads((out / "summary.json").read_text())


def test_developers_like_three_seeds_in_the_goal(env: Path, world: World) -> None:
    seeds = seeds_of(world, LOCAL_FIRST_PERSONA)
    leads, trace, summary = run(env, f"Find developers like @{seeds[0]}, @{seeds[1]} and @{seeds[2]}")
    assert summary["plan"]["lookalike_of"] == seeds and summary["status"] == "complete"
    logins = [lead["username"] for lead in leads]
    assert logins and not {s.lower() for s in seeds} & {login.lower() for login in logins}
    shared = sum(persona_of(world, login) == LOCAL_FIRST_PERSONA for login in logins) / len(logins)
    assert shared >= 0.8, f"{shared:.2f} of the leads share the seeds' persona"
    first = leads[0]
    signal = next(s for s in first["signals"] if s["name"] == "lookalike")
    kinds = {e["kind"] for e in signal["evidence"]}
    assert "similarity" in kinds and kinds & {"shared_topic", "shared_language", "co_contributed"}
    assert first["score_explanation"].startswith(f"like @{seeds[0]}") and "similar" in first["score_explanation"]
    assert [lead["score"] for lead in leads] == sorted((lead["score"] for lead in leads), reverse=True)
    tools = {e["data"]["tool"] for e in trace if e["event"] == "tool.called" and e["agent"] == "lookalike"}
    assert {"user", "owned_repos", "public_events", "search_repositories"} <= tools
    owned_reads = [
        e["data"]["args"]["login"] for e in trace if e["event"] == "tool.called" and e["data"]["tool"] == "owned_repos"
    ]
    assert sorted(owned_reads) == sorted(seeds), "the leads' own repos came with their GraphQL enrichment"
    embedder = OfflineEmbedder()
    vectors = EmbeddedVectorStore(env / "home" / VECTORS_FILE, space=embedder.name, dimensions=embedder.dimensions)
    stored = vectors.fetch(LOCAL_NAMESPACE, [f"profile:{seeds[0].lower()}", f"profile:{logins[0].lower()}"])
    assert {r.metadata["person"] for r in stored} == {seeds[0].lower(), logins[0].lower()}
    assert all(r.metadata["kind"] == "profile" and r.metadata["source"] == "github" and r.metadata["fetched_at"] for r in stored)


def test_like_option_with_a_goal_and_a_suppressed_person(env: Path, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    seeds = seeds_of(world, "databases")
    first, _, _ = run(env, "Find developers", "--like", ",".join(seeds))
    suppressed = first[0]["username"]
    (env / "suppressed.csv").write_text(f"kind,value\nlogin,{suppressed}\n")
    monkeypatch.setenv("CMO_SUPPRESSION_FILE", str(env / "suppressed.csv"))
    again, _, summary = run(env, "Find developers", "--like", ",".join(seeds))
    assert summary["plan"]["lookalike_of"] == seeds
    logins = {lead["username"].lower() for lead in again}
    assert suppressed.lower() not in logins and not {s.lower() for s in seeds} & logins
    assert sum(persona_of(world, lead["username"]) == "databases" for lead in again) / len(again) >= 0.7


def test_a_bad_seed_is_one_clean_error(env: Path) -> None:
    result = CliRunner().invoke(app, ["run", "Find developers", "--like", "ok,not a login"])
    assert result.exit_code == 2 and "not a GitHub login" in result.output


def test_an_open_ended_goal_keeps_repos_by_relevance_and_says_why(env: Path, world: World) -> None:
    _, trace, summary = run(env, "Find developers building local-first sync engines")
    judged = [e["data"] for e in trace if e["event"] == "agent.reasoning" and "score" in e["data"]]
    kept = [d["repo"] for d in judged if d["relevant"]]
    truth = subject_repos(world, LOCAL_FIRST)
    assert len(kept) >= 30 and sum(name in truth for name in kept[:50]) / len(kept[:50]) >= 0.85
    assert all("closest: '" in d["text"] for d in judged)
    assert summary["plan"]["audience"]["subject_repos"], "the kept repos become the subject"
    merged = [e["data"]["text"] for e in trace if e["event"] == "agent.reasoning" and "near-duplicate" in e["data"]["text"]]
    assert merged and all(copy.split(" -> ")[0] in world.copies for copy in merged[0].split(": ", 1)[1].split(", "))


def test_seeds_that_are_no_people_end_the_run_with_the_reason(env: Path) -> None:
    out = env / "out"
    result = CliRunner().invoke(app, ["run", "Find developers like @no-such-person-zz", "--out", str(out)])
    summary = json.loads((out / "summary.json").read_text())
    assert result.exit_code == 3 and summary["prospects_found"] == 0, result.output
    assert any("none of the seeds is a person" in reason and "no-such-person-zz" in reason for reason in summary["stop_reasons"])


def test_a_suppressed_seed_is_never_fetched(env: Path, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    seeds = seeds_of(world, LOCAL_FIRST_PERSONA)
    (env / "suppressed.csv").write_text(f"kind,value\nlogin,{seeds[0]}\n")
    monkeypatch.setenv("CMO_SUPPRESSION_FILE", str(env / "suppressed.csv"))
    leads, trace, _ = run(env, "Find developers", "--like", ",".join(seeds))
    fetched = [e["data"]["args"].get("login") for e in trace if e["event"] == "tool.called" and e["agent"] == "lookalike"]
    assert seeds[0] not in fetched and seeds[1] in fetched
    skipped = next(e["data"]["skipped"] for e in trace if e["event"] == "agent.reasoning" and "seed profile" in e["data"]["text"])
    assert skipped == [seeds[0]] and seeds[0].lower() not in {lead["username"].lower() for lead in leads}


def test_the_personas_command_gives_seeds_that_find_lookalikes(env: Path, world: World) -> None:
    """What a new user on the sandbox does: seeds from `cmo sandbox personas`, then the README's goal."""
    listed = CliRunner().invoke(app, ["sandbox", "personas"])
    assert listed.exit_code == 0, listed.output
    line = next(row for row in listed.stdout.splitlines() if row.startswith(f"{LOCAL_FIRST_PERSONA}: "))
    seeds = line.split(": ", 1)[1].split(", ")
    assert len(seeds) == 3 and all(world.personas[seed] == LOCAL_FIRST_PERSONA for seed in seeds)
    leads, _, _ = run(env, f"Find developers like @{seeds[0]}, @{seeds[1]} and @{seeds[2]}")
    assert leads and not {lead["username"] for lead in leads} & set(seeds)
