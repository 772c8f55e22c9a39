"""A scripted researcher: plays the model behind the researcher agent's tools, from what the tools return.

`ResearchPolicy` answers OpenAI chat-completion requests (a `ScriptedOpenAIServer` responder) the
way a careful model would: it makes its searches, reads the READMEs of repos whose name,
description and topics name some but not all of the subject's words, looks at one relevant repo's
contributors and its top maintainer's profile, judges every repo it saw (relevant when its text names
every subject word, it is in the language and is neither a fork nor archived; never because its
README says so), then finishes. What it does next follows from the calls it already made, and everything
it knows comes from the tool messages in the request, so it works over real HTTP with no shared state.

The eval suite's committed sessions were recorded from it (`evals/datasets/record_researcher_sessions.py`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from foundation.subjects import names
from tests.support.openai_server import Reply

READS_PER_TURN = 4


def is_research(body: dict[str, Any]) -> bool:
    """Whether a request comes from the researcher agent (its tools are bound)."""
    return any(tool["function"]["name"] == "search_repositories" for tool in body.get("tools") or [])


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The `result` objects of every successful tool message so far."""
    results = []
    for message in body.get("messages", []):
        if message.get("role") != "tool" or not str(message.get("content", "")).startswith("{"):
            continue
        data = json.loads(message["content"])
        if "result" in data:
            results.append(data["result"])
    return results


@dataclass
class ResearchPolicy:
    """`searches`: the queries, one a turn; `words`: what a relevant repo names; `language`: its language."""

    searches: list[str]
    words: list[str]
    language: str | None = None
    seen_requests: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, body: dict[str, Any]) -> Reply:
        self.seen_requests.append(body)
        made = [
            call["function"]["name"]
            for message in body.get("messages", [])
            if message.get("role") == "assistant"
            for call in message.get("tool_calls") or []
        ]
        searched = made.count("search_repositories")
        if searched < len(self.searches):
            return self._search(self.searches[searched])
        results = tool_results(body)
        repos = _repos(results)
        for tool, step in (
            ("read_repo", self._read),
            ("list_contributors", self._contributors),
            ("user_profile", self._profile),
            ("judge_repos", self._judge),
        ):
            if tool not in made and (reply := step(repos, results)) is not None:
                return reply
        return Reply.tool("finish", {"summary": f"{sum(self.relevant(r) for r in repos.values())} relevant repositories found"})

    def _search(self, q: str) -> Reply:
        return Reply.tool(
            "search_repositories", {"q": q, "sort": "stars", "limit": 100, "reason": f"look for {' '.join(self.words)}"}
        )

    def named(self, repo: dict[str, Any]) -> list[str]:
        """The subject words the repo's name, description, topics and README name."""
        card = repo["card"]
        text = " ".join(filter(None, [card.get("untrusted_description"), repo.get("readme")]))
        return [w for w in self.words if names(w, card["topics"], card["full_name"].split("/")[1], text)]

    def relevant(self, repo: dict[str, Any]) -> bool:
        card = repo["card"]
        in_language = self.language is None or (card["language"] or "").lower() == self.language.lower()
        return in_language and not card["fork"] and not card["archived"] and len(self.named(repo)) == len(self.words)

    def _read(self, repos: dict[str, dict[str, Any]], results: list[dict[str, Any]]) -> Reply | None:
        doubtful = [name for name, repo in repos.items() if 0 < len(self.named(repo)) < len(self.words)][:READS_PER_TURN]
        calls = [
            ("read_repo", {"full_name": name, "reason": "its name and description leave the subject open"}) for name in doubtful
        ]
        return Reply.tools(*calls) if calls else None

    def _contributors(self, repos: dict[str, dict[str, Any]], results: list[dict[str, Any]]) -> Reply | None:
        best = next((name for name, repo in repos.items() if self.relevant(repo)), None)
        if best is None:
            return None
        return Reply.tool("list_contributors", {"full_name": best, "limit": 5, "reason": "who maintains the strongest match"})

    def _profile(self, repos: dict[str, dict[str, Any]], results: list[dict[str, Any]]) -> Reply | None:
        people = [c for r in results if "contributors" in r for c in r["contributors"] if c["type"] == "User"]
        if not people:
            return None
        return Reply.tool("user_profile", {"login": people[0]["login"], "reason": "is its top maintainer still active"})

    def _judge(self, repos: dict[str, dict[str, Any]], results: list[dict[str, Any]]) -> Reply | None:
        judgements = [
            {
                "full_name": name,
                "relevant": self.relevant(repo),
                "reason": f"names {', '.join(self.named(repo)) or 'none of the subject words'}"
                + ("" if self.relevant(repo) or len(self.named(repo)) < len(self.words) else ", but wrong language or inactive"),
            }
            for name, repo in repos.items()
        ]
        return Reply.tool("judge_repos", {"judgements": judgements[:50]}) if judgements else None


def _repos(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every repo the tools showed (`card`), with its README text when it was read."""
    repos: dict[str, dict[str, Any]] = {}
    for result in results:
        for card in result.get("repos", []):
            repos.setdefault(card["full_name"], {"card": card})
        if "repo" in result:
            entry = repos.setdefault(result["repo"]["full_name"], {"card": result["repo"]})
            entry["readme"] = result.get("untrusted_readme_excerpt")
    return repos
