"""Deterministic metrics of the offline evaluation: planner fields, leads, compliance, detection, cost and latency.

Every metric is a pure function of plain values, so a report can be recomputed from stored run
outputs without rerunning the pipeline. Ratios over an empty set follow one convention (see
`prf`): predicting nothing when nothing was expected is perfect, predicting nothing when something
was expected scores 0. Message metrics live in `evals.metrics_text`, the openevals-based trajectory
check and LLM judges in `evals.metrics_trajectory` and `evals.metrics_judges`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from statistics import fmean
from typing import Any, get_args

from evals.datasets import PlannerExpectation
from foundation.schemas import TargetAudience
from foundation.schemas.prospect import Verdict

PLANNER_LIST_FIELDS = (
    "languages",
    "domains",
    "keywords",
    "exclude_domains",
    "exclude_keywords",
    "target_regions",
    "target_cities",
    "exclude_regions",
    "exclude_cities",
    "exclude_companies",
    "include_companies",
)
PLANNER_SCALAR_FIELDS = ("stars_range", "activity_days", "activity_scope", "role", "max_prospects")
# Subjects joined by "+" need all their parts, in any order: compared with their parts sorted.
_COMPOUND_FIELDS = frozenset({"domains", "exclude_domains"})
PLANNER_FIELDS = PLANNER_LIST_FIELDS + PLANNER_SCALAR_FIELDS
VERDICTS: tuple[str, ...] = get_args(Verdict)

# USD per 1M tokens (input, output): OpenAI list prices, 2025. A model not listed has no estimate.
PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
    "o4-mini": (1.10, 4.40),
}
_DATED_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def prf(true_positives: int, predicted: int, expected: int) -> tuple[float, float, float]:
    """Precision = TP/predicted, recall = TP/expected, F1 their harmonic mean.

    With nothing predicted, precision is 1.0 if nothing was expected and 0.0 otherwise; with
    nothing expected, recall is 1.0. So an empty answer to an empty question is perfect, and an
    empty answer never looks precise when there was something to find.
    """
    precision = true_positives / predicted if predicted else float(not expected)
    recall = true_positives / expected if expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


# ---- planner -----------------------------------------------------------------------------------


def _field_counts(expected: Any, actual: Any, is_list: bool, compound: bool = False) -> dict[str, int]:
    """TP/FP/FN of one field: lists as case-insensitive sets (`compound`: "+"-joined parts in any
    order), scalars as one exact value.

    A wrong scalar is one false positive and one false negative; a missing one (no audience) only
    a false negative.
    """
    if is_list:
        key = _compound_key if compound else str.casefold
        want = {key(str(v)) for v in expected}
        got = {key(str(v)) for v in actual or ()}
        return {"tp": len(want & got), "fp": len(got - want), "fn": len(want - got)}
    if actual is None:
        return {"tp": 0, "fp": 0, "fn": 1}
    right = int(actual == expected)
    return {"tp": right, "fp": 1 - right, "fn": 1 - right}


def _compound_key(subject: str) -> str:
    return "+".join(sorted(part.strip().casefold() for part in subject.split("+")))


def planner_field_scores(
    expected: PlannerExpectation, actual_audience: TargetAudience | None, actual_max: int | None, refused: bool
) -> dict[str, Any]:
    """Per expected field: precision, recall, counts and `correct`; plus `refusal_correct`, `exact_match`.

    Only fields the expectation sets are scored (a field left out is "don't care"). List fields are
    compared as case-insensitive sets; `stars_range`, `activity_days`, `role` and `max_prospects`
    (against `actual_max`) score 1 when equal and 0 otherwise. `exact_match` holds when every scored
    field is right and the planner refused exactly when `expected.refuse` says it should.
    """
    fields: dict[str, dict[str, Any]] = {}
    for name in PLANNER_FIELDS:
        want = getattr(expected, name)
        if want is None:
            continue
        if name == "max_prospects":
            got = actual_max
        else:
            got = getattr(actual_audience, name) if actual_audience is not None else None
        counts = _field_counts(want, got, name in PLANNER_LIST_FIELDS, name in _COMPOUND_FIELDS)
        precision, recall, _ = prf(counts["tp"], counts["tp"] + counts["fp"], counts["tp"] + counts["fn"])
        correct = counts["fp"] == 0 and counts["fn"] == 0
        fields[name] = {"precision": precision, "recall": recall, "correct": correct, **counts}
    refusal_correct = refused == expected.refuse
    return {
        "fields": fields,
        "refusal_correct": refusal_correct,
        "exact_match": refusal_correct and all(f["correct"] for f in fields.values()),
    }


def _micro(counts: Iterable[Mapping[str, int]]) -> dict[str, Any]:
    """Micro-averaged P/R/F1: TP/FP/FN are summed first, then the ratios taken once."""
    total = Counter[str]()
    for item in counts:
        total.update({key: item[key] for key in ("tp", "fp", "fn")})
    tp, fp, fn = total["tp"], total["fp"], total["fn"]
    precision, recall, f1 = prf(tp, tp + fp, tp + fn)
    rounded = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}
    return {**rounded, "tp": tp, "fp": fp, "fn": fn}


def aggregate_planner(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Over `planner_field_scores` rows: micro P/R/F1 per field and overall, exact-match and refusal rates.

    A field's micro scores pool the examples that scored it (`n` says how many); `overall` pools
    every scored field of every example. The rates are None for an empty suite.
    """
    per_field = {
        name: {**_micro(scored), "n": len(scored)}
        for name in PLANNER_FIELDS
        if (scored := [row["fields"][name] for row in rows if name in row["fields"]])
    }
    n = len(rows)
    return {
        "n": n,
        "fields": per_field,
        "overall": _micro(field for row in rows for field in row["fields"].values()),
        "exact_match_rate": round(sum(row["exact_match"] for row in rows) / n, 4) if n else None,
        "refusal_accuracy": round(sum(row["refusal_correct"] for row in rows) / n, 4) if n else None,
    }


# ---- leads ---------------------------------------------------------------------------------------


def person_key(groups: Iterable[set[str]]) -> Callable[[str], str]:
    """Login -> person: case-insensitive, and every login of a group maps to the group's smallest login."""
    person = {login.casefold(): min(g, key=str.casefold).casefold() for g in groups for login in g}
    return lambda login: person.get(login.casefold(), login.casefold())


def lead_set_scores(predicted_logins: Iterable[str], truth: set[str], groups: Iterable[set[str]]) -> dict[str, Any]:
    """Precision/recall/F1 over people, not logins (`person_key`), with counts and the missed/spurious people."""
    key = person_key(groups)
    predicted, expected = {key(x) for x in predicted_logins}, {key(x) for x in truth}
    hits = predicted & expected
    precision, recall, f1 = prf(len(hits), len(predicted), len(expected))
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "true_positives": len(hits),
        "false_positives": len(predicted - expected),
        "false_negatives": len(expected - predicted),
        "predicted": len(predicted),
        "truth": len(expected),
        "missed": sorted(expected - predicted),
        "spurious": sorted(predicted - expected),
    }


def lead_scores(predicted_ranked: list[str], truth: set[str], groups: list[set[str]], k: int) -> dict[str, Any]:
    """`lead_set_scores` plus `precision_at_k`: the share of true people among the first k people listed.

    The ranking is read person by person (a second login of a listed person is skipped), and the
    denominator is min(k, people listed): it measures the top of the list a user actually sees,
    while recall already penalises a short list.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    key = person_key(groups)
    top = list(dict.fromkeys(key(login) for login in predicted_ranked))[:k]
    expected = {key(login) for login in truth}
    at_k, _, _ = prf(len(set(top) & expected), len(top), len(expected))
    return {**lead_set_scores(predicted_ranked, truth, groups), "precision_at_k": round(at_k, 4), "k": k}


def requests_per_qualified_lead(api_requests: int, true_positives: int) -> float | None:
    """GitHub API requests spent per true lead found; None when no true lead was found (not infinity)."""
    return round(api_requests / true_positives, 2) if true_positives else None


# ---- compliance ---------------------------------------------------------------------------------


def compliance_scores(rows: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Verdict accuracy and the two errors that matter, from (expected, actual) verdict pairs.

    `false_approvals`: expected rejected/needs_review but approved - a message that would go out
    and must not; the number that must be 0. `false_rejections`: expected approved but rejected or
    sent to review - lost reach and reviewer time. `confusion[expected][actual]` counts every pair;
    `accuracy` is None for no rows.
    """
    pairs = list(rows)
    unknown = {v for pair in pairs for v in pair} - set(VERDICTS)
    if unknown:
        raise ValueError(f"unknown verdict(s) {sorted(unknown)}; expected one of {VERDICTS}")
    confusion = {want: dict.fromkeys(VERDICTS, 0) for want in VERDICTS}
    for want, got in pairs:
        confusion[want][got] += 1
    return {
        "n": len(pairs),
        "accuracy": round(sum(want == got for want, got in pairs) / len(pairs), 4) if pairs else None,
        "false_approvals": sum(want != "approved" and got == "approved" for want, got in pairs),
        "false_rejections": sum(want == "approved" and got != "approved" for want, got in pairs),
        "confusion": confusion,
    }


def detection_scores(rows: Iterable[tuple[bool, bool]]) -> dict[str, Any]:
    """Recall and false-alarm rate of a yes/no detector, from (expected, detected) pairs.

    `recall`: share of the true cases detected; `false_alarm_rate`: share of the other cases
    detected anyway (each None when there is no such case); `misses` and `false_alarms` count them.
    """
    pairs = list(rows)
    positives = sum(want for want, _ in pairs)
    negatives = len(pairs) - positives
    misses = sum(want and not got for want, got in pairs)
    false_alarms = sum(got and not want for want, got in pairs)
    return {
        "n": len(pairs),
        "positives": positives,
        "negatives": negatives,
        "recall": round(1 - misses / positives, 4) if positives else None,
        "false_alarm_rate": round(false_alarms / negatives, 4) if negatives else None,
        "misses": misses,
        "false_alarms": false_alarms,
    }


# ---- cost and latency ---------------------------------------------------------------------------


def _tokens(record: Mapping[str, Any], langchain_key: str, openai_key: str) -> int:
    """A token count under LangChain's (`input_tokens`) or OpenAI's (`prompt_tokens`) name."""
    return int(record.get(langchain_key, record.get(openai_key)) or 0)


def llm_usage(
    records: Iterable[Mapping[str, Any]], prices: Mapping[str, tuple[float, float]] = PRICES_PER_MILLION
) -> dict[str, Any]:
    """Summed token counts and their estimated cost in USD.

    A record is one call's usage: `model` plus `input_tokens`/`output_tokens` (LangChain's
    `usage_metadata`) or `prompt_tokens`/`completion_tokens` (OpenAI's). A model is priced by its
    name in `prices` (a dated snapshot such as `gpt-4o-mini-2024-07-18` by its base name); if any
    record's model is unpriced the total cost is None and `unpriced_models` names them.
    """
    prompt = completion = 0
    cost = 0.0
    unpriced: set[str] = set()
    for record in records:
        model = str(record.get("model") or "").removeprefix("openai:")
        p, c = _tokens(record, "input_tokens", "prompt_tokens"), _tokens(record, "output_tokens", "completion_tokens")
        prompt, completion = prompt + p, completion + c
        price = prices.get(model) or prices.get(_DATED_SNAPSHOT.sub("", model))
        if price is None:
            unpriced.add(model or "<unnamed>")
        else:
            cost += (p * price[0] + c * price[1]) / 1_000_000
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "estimated_cost_usd": None if unpriced else round(cost, 6),
        "unpriced_models": sorted(unpriced),
    }


def _percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), on sorted data."""
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_stats(seconds: Iterable[float]) -> dict[str, Any]:
    """p50, p95 (linear interpolation between ranks) and mean of durations; None for no durations."""
    ordered = sorted(seconds)
    if not ordered:
        return {"n": 0, "p50": None, "p95": None, "mean": None}
    return {
        "n": len(ordered),
        "p50": round(_percentile(ordered, 0.50), 4),
        "p95": round(_percentile(ordered, 0.95), 4),
        "mean": round(fmean(ordered), 4),
    }
