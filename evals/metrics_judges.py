"""Advisory LLM-as-judge metrics of a draft: personalisation and tone rubrics, and pairwise preference.

These are opinions, not measurements: they vary with the judge model, so reports show them beside
the deterministic metrics (`evals.metrics_text`) and never gate on them. They work with any
LangChain chat model that supports `with_structured_output`: openevals asks for a tool call named
after the answer schema (`score` for the rubrics, `pairwise_preference` for the comparison).
Pairwise order is shuffled by a seed because judges favour whichever draft they read first.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from openevals.llm import create_llm_as_judge

from agents.grounding import evidence_bundle
from evals.metrics_text import strip_footer
from foundation.schemas import Message, Prospect

Evaluator = Callable[..., Any]

_RUBRIC_FRAME = """You review a cold outreach email to an open-source developer, written by a vendor.
The draft may only use the evidence below; the legal footer has been removed and is not your concern.

<evidence>
{inputs}
</evidence>

<draft>
{outputs}
</draft>

"""

PERSONALISATION_PROMPT = (
    _RUBRIC_FRAME
    + """Rate PERSONALISATION from 0.0 to 1.0:
- 1.0: the draft is clearly written to this person: it names specific work from the evidence (a repository,
  the kind of contribution, the technology) and connects it to why the sender is writing.
- 0.5: it uses a detail from the evidence (a name, a language, a repository) but the rest could go to anyone.
- 0.0: generic; nothing in it depends on the evidence, or it only inserts the recipient's name.
Do not reward details the evidence does not contain: a claim not backed by the evidence lowers the score."""
)

TONE_PROMPT = (
    _RUBRIC_FRAME
    + """Rate TONE from 0.0 to 1.0 for a first message from a stranger to a developer:
- 1.0: plain, respectful and peer-to-peer; specific about what is asked; easy to ignore without guilt;
  no hype, flattery, pressure, false familiarity or urgency.
- 0.5: polite but salesy, vague, long-winded or over-familiar in places.
- 0.0: pushy, manipulative, deceptive or condescending (urgency, guilt, exaggerated praise, fake reply threads)."""
)

PAIRWISE_PROMPT = """Two cold outreach emails to the same open-source developer were written from the evidence below.
Which would a busy developer be more willing to read and answer? Prefer the draft that is specific to their
public work without stating anything the evidence lacks, plain and respectful in tone, and clear about what
it asks. Length alone is not a reason to prefer a draft. Answer "tie" only if neither is better.

<evidence>
{inputs}
</evidence>

<draft_1>
{draft_1}
</draft_1>

<draft_2>
{draft_2}
</draft_2>"""

PAIRWISE_SCHEMA: dict[str, Any] = {
    "title": "pairwise_preference",
    "description": "Which draft is better for the recipient.",
    "type": "object",
    "properties": {
        "reasoning": {"type": "string", "description": "Why, in two or three sentences."},
        "preferred": {"type": "string", "enum": ["1", "2", "tie"], "description": "The better draft, or tie."},
    },
    "required": ["reasoning", "preferred"],
}


def make_judges(chat_model: BaseChatModel) -> dict[str, Evaluator]:
    """openevals judges keyed `personalisation` and `tone`, each scoring 0.0-1.0 with its reasoning.

    Call one as `judge(inputs=<evidence>, outputs=<draft>)`; `judge_message` does that for a Message.
    """
    return {
        key: create_llm_as_judge(prompt=prompt, judge=chat_model, feedback_key=key, continuous=True)
        for key, prompt in (("personalisation", PERSONALISATION_PROMPT), ("tone", TONE_PROMPT))
    }


def judge_message(judges: dict[str, Evaluator], message: Message, prospect: Prospect) -> dict[str, Any]:
    """Each judge's result for a draft, judged against the evidence bundle the copywriter was given."""
    draft = {"subject": message.subject, "body": strip_footer(message.body)}
    return {key: judge(inputs=evidence_bundle(prospect), outputs=draft) for key, judge in judges.items()}


def pairwise_preference(
    chat_model: BaseChatModel, draft_a: str, draft_b: str, evidence: dict[str, Any] | str, seed: int
) -> dict[str, Any]:
    """The judge's preferred draft, "A", "B" or "tie", shown in an order fixed by `seed`.

    `random.Random(seed)` decides whether A is shown second (`swapped`), so a comparison reruns
    identically and, over many seeds, position bias cancels out instead of favouring one variant.
    """
    swapped = random.Random(seed).random() < 0.5
    first, second = (draft_b, draft_a) if swapped else (draft_a, draft_b)
    # With an output_schema the judge is a plain callable returning a dict of that schema, not a SimpleEvaluator.
    judge: Evaluator = create_llm_as_judge(prompt=PAIRWISE_PROMPT, judge=chat_model, output_schema=PAIRWISE_SCHEMA)
    context = evidence if isinstance(evidence, str) else json.dumps(evidence, ensure_ascii=False, default=str)
    answer = judge(inputs=context, draft_1=first, draft_2=second)
    shown = {"1": "B" if swapped else "A", "2": "A" if swapped else "B", "tie": "tie"}
    return {"preferred": shown[str(answer["preferred"])], "swapped": swapped, "reasoning": answer.get("reasoning")}
