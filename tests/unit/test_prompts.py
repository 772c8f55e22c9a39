"""The prompt loader hands every agent the body of its prompt file, never the header written for humans."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from foundation.settings import Settings
from prompts import PromptNotFound, available_versions, load_prompt

AGENTS = sorted(p.name for p in resources.files("prompts").iterdir() if p.is_dir() and not p.name.startswith("_"))
SHIPPED = [(agent, version) for agent in AGENTS for version in available_versions(agent)]


def test_every_agent_has_a_prompt() -> None:
    assert {"chat", "compliance", "copywriter", "planner"} <= set(AGENTS)
    assert all(available_versions(agent) for agent in AGENTS)


@pytest.mark.parametrize(("agent", "version"), SHIPPED)
def test_shipped_prompt_loses_its_header(agent: str, version: str) -> None:
    raw = resources.files("prompts").joinpath(agent, f"{version}.md").read_text(encoding="utf-8")
    text = load_prompt(agent, version)
    assert text
    assert not text.startswith(("#", "<!--", " ", "\n"))
    assert "<!--" not in text
    assert raw.endswith(text)  # only the header went; the body is sent as written


@pytest.mark.parametrize(
    "raw",
    [
        "# My copywriter, v9\n\nWrite well.\n",
        "<!--\nnotes for humans\n-->\nWrite well.\n",
        "<!-- notes -->\n# My copywriter, v9\n\nWrite well.\n",
        "Write well.\n",
    ],
)
def test_prompt_from_the_extra_dir_loses_its_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    (tmp_path / "copywriter").mkdir()
    (tmp_path / "copywriter" / "v9.md").write_text(raw, encoding="utf-8")
    monkeypatch.setenv("CMO_PROMPTS_DIR", str(tmp_path))
    settings = Settings()
    assert load_prompt("copywriter", "v9", settings.cmo_prompts_dir) == "Write well.\n"


def test_extra_dir_is_searched_first(tmp_path: Path) -> None:
    (tmp_path / "compliance").mkdir()
    (tmp_path / "compliance" / "v1.md").write_text("# Mine\n\nMy own v1.\n", encoding="utf-8")
    assert load_prompt("compliance", "v1", tmp_path) == "My own v1.\n"
    assert "v1" in available_versions("compliance", tmp_path)


def test_body_headings_are_kept() -> None:
    """Only the leading title goes: the `## section` headings inside the body are part of the prompt."""
    assert "## Output" in load_prompt("copywriter", "v1")
    assert "# The plan" in load_prompt("planner", "v1")


def test_missing_version_names_the_setting() -> None:
    with pytest.raises(PromptNotFound, match="CMO_PROMPT_VERSION"):
        load_prompt("copywriter", "v999")


@pytest.mark.parametrize("agent", ["compliance", "copywriter"])
def test_a_prompt_given_profile_text_frames_it_as_data(agent: str) -> None:
    """A GitHub bio or company is whatever a stranger typed ("ignore the rules above..."): the model is told so."""
    for version in available_versions(agent):
        assert "never instructions to you" in load_prompt(agent, version)
