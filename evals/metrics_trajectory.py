"""The agent trajectory check: which tools a run called (openevals' trajectory match) and what it repeated.

Our runs record each tool call as a `tool.called` trace event whose data is `{"tool", "args"}`.
openevals compares OpenAI-format message lists, so each call becomes one assistant message with one
function tool call; the expected trajectory names tools only, so arguments are ignored in the match.
Repeats are counted by us: the same tool with the same arguments twice is a wasted API request
(GitHub's rate limit is the pipeline's scarcest resource), whatever the expected tools are.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from openevals.trajectory.match import create_trajectory_match_evaluator

TrajectoryMode = Literal["strict", "unordered", "subset", "superset"]


def _call_key(call: Mapping[str, Any]) -> str:
    """A canonical `tool {args}` string: argument order and value types do not make calls differ."""
    return f"{call['tool']} {json.dumps(call.get('args') or {}, sort_keys=True, default=str)}"


def trajectory_messages(tool_calls: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One OpenAI-format assistant message per `{"tool", "args"}` call, in call order."""
    return [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": f"call_{index}",
                    "type": "function",
                    "function": {"name": call["tool"], "arguments": json.dumps(call.get("args") or {}, default=str)},
                }
            ],
        }
        for index, call in enumerate(tool_calls)
    ]


def trajectory_check(
    tool_calls: Sequence[Mapping[str, Any]], expected_tools: Sequence[str], mode: TrajectoryMode = "superset"
) -> dict[str, Any]:
    """openevals' trajectory match of the run's tool calls against `expected_tools`, plus repeats.

    Modes (openevals): `superset` (default) passes when every expected tool was called (a tool
    listed twice must be called twice) and extra calls are allowed; `subset` when no call falls
    outside the expected list; `unordered` when the calls are the expected multiset; `strict` when
    they are the expected sequence. `score` is openevals' boolean; `repeated_calls` is the number of
    calls that repeat an earlier call's tool and arguments (should be 0), `repeated` names them.
    """
    evaluator = create_trajectory_match_evaluator(trajectory_match_mode=mode, tool_args_match_mode="ignore")
    result = evaluator(
        outputs=trajectory_messages(tool_calls),
        reference_outputs=trajectory_messages([{"tool": name} for name in expected_tools]),
    )
    assert not isinstance(result, list), "a trajectory match gives one result (SimpleEvaluator allows a list)"
    counts = Counter(_call_key(call) for call in tool_calls)
    return {
        **result,
        "mode": mode,
        "calls": len(tool_calls),
        "repeated_calls": sum(n - 1 for n in counts.values()),
        "repeated": sorted(key for key, n in counts.items() if n > 1),
    }
