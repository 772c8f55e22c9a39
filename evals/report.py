"""`report.md` and a self-contained `report.html` for one eval run, rendered from its `results.json`.

Reports read only `results.json`, so they can be rebuilt (or restyled) for old runs, and a committed
baseline needs nothing else. The Markdown is for pull requests and terminals; the HTML adds charts
and a per-example drill-down (inputs, outputs, evidence, failures) for finding out *why* a score moved.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from evals.charts import bar_chart, histogram
from evals.compare import direction
from evals.suites import RESULTS

REPORT_MD, REPORT_HTML = "report.md", "report.html"
HEADLINE: dict[str, tuple[str, ...]] = {
    "planner": ("exact_match", "f1", "refusal_accuracy"),
    "planner_fresh": ("exact_match", "f1", "refusal_accuracy"),
    "leads": ("precision", "recall", "f1", "precision_at_k", "requests_per_qualified_lead"),
    "researcher_agent": ("precision", "recall", "budget_units", "steps"),
    "semantic": ("relevance_precision_at_k", "relevance_recall", "lookalike_persona_share"),
    "messages": ("pass_rate", "groundedness", "mentions_recent_project", "spam_phrases"),
    "compliance": ("accuracy", "false_approvals", "false_rejections"),
    "do_not_contact": ("holdout_recall", "holdout_false_alarm_rate", "tune_recall", "tune_false_alarm_rate"),
}
_CSS = """
body{font:14px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;color:#1f2933;background:#f6f8fa;margin:0}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #d8dee4;padding-bottom:4px}
h3{font-size:14px;margin:18px 0 6px;color:#52606d}
.meta{color:#52606d;font-size:13px}.meta code{background:#eef1f5;padding:1px 4px;border-radius:3px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #d8dee4;border-radius:8px;padding:12px 16px;min-width:200px}
.card b{display:block;font-size:13px;color:#52606d;text-transform:uppercase;letter-spacing:.04em}
.card .big{font-size:24px;font-weight:600}.card small{color:#52606d}
.panel{background:#fff;border:1px solid #d8dee4;border-radius:8px;padding:12px 16px;margin:8px 0}
.charts{display:flex;flex-wrap:wrap;gap:8px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e4e7eb;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f6;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#1e7f55;font-weight:600}.fail{color:#c0392b;font-weight:600}.adv{color:#8a6d1d;font-size:11px}
details summary{cursor:pointer;color:#2c5d9e}details pre{background:#f6f8fa;border:1px solid #e4e7eb;padding:8px;
border-radius:4px;overflow:auto;max-height:420px;font-size:12px;white-space:pre-wrap}
ul.fails{margin:4px 0;padding-left:18px;color:#c0392b;font-size:12px}
"""


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _scalars(aggregates: dict[str, Any]) -> dict[str, Any]:
    """Top-level aggregates that are single values (nested detail such as per-field scores is charted apart)."""
    return {k: v for k, v in aggregates.items() if not isinstance(v, dict | list)}


def _passed(suite: dict[str, Any]) -> int:
    return sum(e["passed"] for e in suite["examples"])


def _headline(name: str, suite: dict[str, Any]) -> str:
    values = suite["aggregates"]
    return ", ".join(f"{key} {_fmt(values.get(key))}" for key in HEADLINE.get(name, ()) if key in values)


def _meta_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    config = results["config"]
    prompts_from = f" (from {config['prompts_dir']})" if config.get("prompts_dir") else ""
    started = f"run {results['created_at'][:16]}Z, {results['seconds']} s, {config['jobs']} jobs"
    rows = [
        ("git commit", results["git_commit"]),
        ("model", config["model"]),
        ("prompt version", results["prompt_version"] + prompts_from),
        ("datasets", ", ".join(f"{k} {v}" for k, v in results["datasets"].items())),
        ("date", f"{config['today']} ({started})"),
    ]
    if config.get("limit"):
        rows.append(("limit", f"first {config['limit']} examples per suite"))
    if config.get("replay_source"):
        rows.append(("replay of", config["replay_source"]))
    if results.get("replay_misses"):
        rows.append(("replay misses", ", ".join(results["replay_misses"])))
    return rows


def _about(suite: dict[str, Any]) -> str:
    latency = suite.get("latency_s") or {}
    per_example = f"; per example p50 {_fmt(latency.get('p50'))} s, p95 {_fmt(latency.get('p95'))} s" if latency else ""
    return f"dataset {suite['dataset_version']}, {suite['seconds']} s{per_example}"


def _llm_line(llm: dict[str, Any]) -> str:
    if not llm:
        return "No LLM calls (deterministic path)."
    latency = llm.get("latency_s", {})
    cost = llm.get("estimated_cost_usd")
    return (
        f"{llm['requests']} requests ({llm['errors']} errors), {llm['prompt_tokens']} prompt + "
        f"{llm['completion_tokens']} completion tokens, estimated cost "
        f"{f'${cost:.4f}' if cost is not None else 'unknown (' + ', '.join(llm.get('unpriced_models', [])) + ')'}, "
        f"latency p50 {_fmt(latency.get('p50'))} s / p95 {_fmt(latency.get('p95'))} s"
    )


def render_markdown(results: dict[str, Any], title: str) -> str:
    lines = [f"# Eval run `{title}`", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in _meta_rows(results)]
    lines += ["", "## Summary", "", "| suite | examples | passed | headline |", "|---|---:|---:|---|"]
    for name, suite in results["suites"].items():
        lines.append(f"| {name} | {len(suite['examples'])} | {_passed(suite)} | {_headline(name, suite)} |")
    lines += ["", f"LLM: {_llm_line(results.get('llm', {}))}"]
    for name, suite in results["suites"].items():
        lines += ["", f"## {name} ({_about(suite)})", ""]
        lines += ["| metric | value |", "|---|---:|"]
        for key, value in _scalars(suite["aggregates"]).items():
            lines.append(f"| {key}{' *(advisory)*' if key in suite['advisory'] else ''} | {_fmt(value)} |")
        failed = [e for e in suite["examples"] if not e["passed"]]
        lines += ["", f"### Failures ({len(failed)})", ""]
        lines += [f"- `{e['id']}`: {'; '.join(e['failures']) or 'failed'}" for e in failed] or ["None."]
    return "\n".join(lines) + "\n"


def _cards(results: dict[str, Any]) -> str:
    cards = []
    for name, suite in results["suites"].items():
        total, passed = len(suite["examples"]), _passed(suite)
        cards.append(
            f'<div class="card"><b>{escape(name)}</b><span class="big">{passed}/{total}</span> <small>passed</small>'
            f"<br><small>{escape(_headline(name, suite))}</small></div>"
        )
    return f'<div class="cards">{"".join(cards)}</div>'


def _charts(name: str, suite: dict[str, Any]) -> str:
    """Bars for the 0..1 higher-is-better aggregates (and per-field F1), histograms of numeric scores."""
    scalars = _scalars(suite["aggregates"])
    rates = [
        (k, float(v))
        for k, v in scalars.items()
        if isinstance(v, int | float) and 0 <= v <= 1 and direction(f"{name}.{k}") == "higher"
    ]
    charts = [bar_chart(rates, f"{name} metrics")] if rates else []
    fields = suite["aggregates"].get("fields")
    if isinstance(fields, dict) and fields:
        charts.append(bar_chart([(f"{field} F1", v.get("f1")) for field, v in fields.items()], f"{name} per-field F1"))
    numeric: dict[str, list[float]] = {}
    for example in suite["examples"]:
        for key, value in example["scores"].items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                numeric.setdefault(key, []).append(float(value))
    charts += [histogram(values, key) for key, values in numeric.items() if len(set(values)) > 1]
    return f'<div class="charts">{"".join(f"<div class=panel>{c}</div>" for c in charts)}</div>'


def _pre(title: str, value: Any) -> str:
    text = json.dumps(value, indent=1, ensure_ascii=False, default=str)
    return f"<h3>{escape(title)}</h3><pre>{escape(text)}</pre>"


def _example_row(example: dict[str, Any], columns: list[str]) -> str:
    status = '<span class="pass">pass</span>' if example["passed"] else '<span class="fail">fail</span>'
    cells = "".join(f'<td class="num">{escape(_fmt(example["scores"].get(c)))}</td>' for c in columns)
    fails = "".join(f"<li>{escape(f)}</li>" for f in example["failures"])
    sections = [_pre(key, example[key]) for key in ("inputs", "outputs", "scores")]
    if example.get("advisory"):
        sections.append(_pre("LLM-judge scores (advisory)", example["advisory"]))
    detail = f"<details><summary>{escape(example['id'])}</summary>{''.join(sections)}</details>"
    failures = f'<ul class="fails">{fails}</ul>' if fails else ""
    return f"<tr><td>{detail}{failures}</td><td>{status}</td>{cells}<td class=num>{example['seconds']}</td></tr>"


def _examples_table(suite: dict[str, Any]) -> str:
    columns = list(dict.fromkeys(k for e in suite["examples"] for k, v in e["scores"].items() if not isinstance(v, dict | list)))[
        :7
    ]
    head = "".join(f"<th>{escape(c)}</th>" for c in ["example", "result", *columns, "s"])
    rows = "".join(_example_row(e, columns) for e in suite["examples"])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _metrics_table(suite: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{escape(k)}{' <span class=adv>advisory</span>' if k in suite['advisory'] else ''}</td>"
        f'<td class="num">{escape(_fmt(v))}</td></tr>'
        for k, v in _scalars(suite["aggregates"]).items()
    )
    return f"<table><thead><tr><th>metric</th><th>value</th></tr></thead><tbody>{rows}</tbody></table>"


def render_html(results: dict[str, Any], title: str) -> str:
    meta = "".join(f"<div>{escape(k)}: <code>{escape(v)}</code></div>" for k, v in _meta_rows(results))
    sections = []
    for name, suite in results["suites"].items():
        sections.append(
            f"<h2>{escape(name)} <small class=meta>{escape(_about(suite))}</small></h2>"
            f"{_charts(name, suite)}<div class=panel>{_metrics_table(suite)}</div>"
            f"<h3>examples (click an id for inputs, outputs, evidence and scores)</h3>{_examples_table(suite)}"
        )
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>eval {escape(title)}</title>"
        f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{_CSS}</style></head><body><main>"
        f"<h1>Eval run {escape(title)}</h1><div class=meta>{meta}</div>{_cards(results)}"
        f"<div class=panel>LLM: {escape(_llm_line(results.get('llm', {})))}</div>"
        f"{''.join(sections)}</main></body></html>"
    )


def write_reports(run_dir: Path) -> tuple[Path, Path]:
    """Write `report.md` and `report.html` next to the run's `results.json`."""
    results = json.loads((run_dir / RESULTS).read_text(encoding="utf-8"))
    title = run_dir.resolve().name
    md, html = run_dir / REPORT_MD, run_dir / REPORT_HTML
    md.write_text(render_markdown(results, title), encoding="utf-8")
    html.write_text(render_html(results, title), encoding="utf-8")
    return md, html
