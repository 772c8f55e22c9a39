"""Inline SVG charts for the HTML report: horizontal metric bars and score histograms.

Hand-written SVG keeps `report.html` one self-contained file (no script, font or stylesheet to
fetch), readable offline and safe to attach to a pull request or a CI artifact.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from math import isfinite

GOOD, FAIR, POOR, NEUTRAL = "#2f9e6e", "#d9a13b", "#d1495b", "#5b7db1"
_ROW, _LABEL, _VALUE = 22, 210, 64


def _colour(fraction: float) -> str:
    return GOOD if fraction >= 0.9 else FAIR if fraction >= 0.7 else POOR


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif" font-size="12">'
        + "".join(body)
        + "</svg>"
    )


def _label(x: float, y: float, text: str, fill: str, size: int = 12) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" fill="{fill}" font-size="{size}">{escape(text)}</text>'


def bar_chart(values: Sequence[tuple[str, float | None]], label: str, width: int = 560) -> str:
    """One bar per (name, value in 0..1), coloured green/amber/red at 0.9 and 0.7; None is drawn as n/a."""
    track = width - _LABEL - _VALUE
    body = []
    for row, (name, value) in enumerate(values):
        y = row * _ROW
        body.append(f'<text x="{_LABEL - 8}" y="{y + 15}" text-anchor="end" fill="#333">{escape(name)}</text>')
        body.append(f'<rect x="{_LABEL}" y="{y + 4}" width="{track}" height="14" rx="3" fill="#eef1f5"/>')
        if value is None or not isfinite(value):
            body.append(f'<text x="{_LABEL + track + 6}" y="{y + 15}" fill="#888">n/a</text>')
            continue
        clipped = min(max(value, 0.0), 1.0)
        body.append(
            f'<rect x="{_LABEL}" y="{y + 4}" width="{clipped * track:.1f}" height="14" rx="3" '
            f'fill="{_colour(clipped)}"><title>{escape(name)}: {value:.4g}</title></rect>'
        )
        body.append(f'<text x="{_LABEL + track + 6}" y="{y + 15}" fill="#333">{value:.3g}</text>')
    return _svg(width, max(len(values), 1) * _ROW + 4, body, label)


def histogram(values: list[float], label: str, bins: int = 10, width: int = 300, height: int = 150) -> str:
    """Counts of `values` in `bins` equal-width bins between their min and max (one bar per value if few)."""
    finite = [v for v in values if isfinite(v)]
    distinct = sorted(set(finite))
    if len(distinct) <= bins:
        edges = [(v, v) for v in distinct]
        counts = [finite.count(v) for v in distinct]
    else:
        low, step = distinct[0], (distinct[-1] - distinct[0]) / bins
        edges = [(low + i * step, low + (i + 1) * step) for i in range(bins)]
        counts = [0] * bins
        for v in finite:
            counts[min(int((v - low) / step), bins - 1)] += 1
    top, plot_h, base = max(counts, default=1) or 1, height - 62, height - 28
    slot = (width - 20) / max(len(edges), 1)
    body = [
        f'<text x="10" y="12" fill="#333" font-weight="600">{escape(label)}</text>',
        f'<line x1="10" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#c8ced6"/>',
    ]
    for i, ((lo, hi), count) in enumerate(zip(edges, counts, strict=True)):
        bar, x, middle = count / top * plot_h, 10 + i * slot, 10 + (i + 0.5) * slot
        tick = f"{lo:.3g}" if lo == hi else f"{lo:.2g}–{hi:.2g}"
        body.append(
            f'<rect x="{x + 2:.1f}" y="{base - bar:.1f}" width="{slot - 4:.1f}" height="{bar:.1f}" rx="2" '
            f'fill="{NEUTRAL}"><title>{escape(tick)}: {count}</title></rect>'
        )
        if count:
            body.append(_label(middle, base - bar - 3, str(count), "#333"))
        if len(edges) <= 6 or i % 2 == 0:
            body.append(_label(middle, base + 14, tick, "#666", 10))
    return _svg(width, height, body, label)
