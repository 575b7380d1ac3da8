"""Small server-rendered SVG charts: stacked bars, lines, horizontal bars.

No script and no style attributes (the CSP allows neither): geometry is given as SVG
attributes and colours as classes (`s0`…`s7`, defined in static/vimod.css). Every chart
is an image with a title and a description for screen readers; the page shows the same
figures in a table beside it. All text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 30
COLOURS = 8  # series classes s0..s7; more series reuse them


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]


TICKS = 4  # grid lines above zero


def nice_ceiling(value: float) -> float:
    """An axis maximum at or above `value` whose TICKS grid steps are each 1, 2 or 5 × 10ⁿ,
    and at least 1 (so counts get whole-number ticks: 3 → 4, 5 → 8, 12 → 20)."""
    step = max(value, 0) / TICKS
    if step <= 1:
        return float(TICKS)
    power = 10 ** math.floor(math.log10(step))
    nice = next(m * power for m in (1, 2, 5, 10) if step <= m * power)
    return float(TICKS * nice)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def _frame(chart_id: str, title: str, description: str, body: list[str],
           legend: Sequence[str] = (), height: int = HEIGHT) -> Markup:
    cid = escape(chart_id)
    svg = (f'<svg viewBox="0 0 {WIDTH} {height}" role="img" '
           f'aria-labelledby="{cid}-title {cid}-desc" preserveAspectRatio="xMinYMin meet">'
           f'<title id="{cid}-title">{escape(title)}</title>'
           f'<desc id="{cid}-desc">{escape(description)}</desc>' + "".join(body) + "</svg>")
    items = "".join(f'<li><span class="swatch s{i % COLOURS}" aria-hidden="true"></span>'
                    f"{escape(label)}</li>" for i, label in enumerate(legend))
    legend_html = f'<ul class="legend">{items}</ul>' if len(legend) > 1 else ""
    return Markup(f'<figure class="svg-chart" id="{cid}"><figcaption>{escape(title)}'
                  f"</figcaption>{svg}{legend_html}</figure>")


def _y_axis(top: float, fmt: Callable[[float], str], plot_h: float) -> list[str]:
    out = ['<g class="grid">']
    for i in range(TICKS + 1):
        value = top * i / TICKS
        y = TOP + plot_h - plot_h * i / TICKS
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                   f"{escape(fmt(value))}</text>")
    out.append("</g>")
    return out


def _x_labels(categories: Sequence[str], slot: float) -> list[str]:
    every = max(1, math.ceil(len(categories) / 14))  # at most 14 labels fit
    return [f'<text class="x" x="{LEFT + slot * (i + 0.5):.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle">{escape(c)}</text>'
            for i, c in enumerate(categories) if i % every == 0]


def stacked_bars(chart_id: str, title: str, description: str, categories: Sequence[str],
                 series: Sequence[Series], unit: str = "") -> Markup:
    """One bar per category (e.g. a day), its segments the series (e.g. moderators)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    totals = [sum((s.values[i] or 0) for s in series) for i in range(len(categories))]
    top = nice_ceiling(max(totals, default=0))
    slot = plot_w / max(1, len(categories))
    bar_w = slot * 0.7
    body = _y_axis(top, _fmt, plot_h)
    for i, category in enumerate(categories):
        y = TOP + plot_h
        x = LEFT + slot * i + (slot - bar_w) / 2
        for k, s in enumerate(series):
            value = s.values[i] or 0
            if value <= 0:
                continue
            h = plot_h * value / top
            y -= h
            body.append(f'<rect class="bar s{k % COLOURS}" x="{x:.1f}" y="{y:.1f}" '
                        f'width="{bar_w:.1f}" height="{h:.1f}"><title>'
                        f"{escape(s.label)} · {escape(category)}: {escape(_fmt(value))}"
                        f"{escape(unit)}</title></rect>")
    body += _x_labels(categories, slot)
    return _frame(chart_id, title, description, body, [s.label for s in series])


def lines(chart_id: str, title: str, description: str, categories: Sequence[str],
          series: Sequence[Series], percent: bool = False) -> Markup:
    """One line per series over the categories; a missing value (None) breaks the line.
    `percent`: values are fractions 0..1, shown as 0–100 %."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [v for s in series for v in s.values if v is not None]
    top = 1.0 if percent else nice_ceiling(max(values, default=0))
    fmt = (lambda v: f"{v * 100:.0f} %") if percent else _fmt
    slot = plot_w / max(1, len(categories))
    paths: list[str] = []
    points: list[str] = []  # drawn over the lines
    for k, s in enumerate(series):
        runs: list[list[str]] = [[]]
        for i, value in enumerate(s.values):
            if value is None:
                runs.append([])
                continue
            x, y = LEFT + slot * (i + 0.5), TOP + plot_h - plot_h * min(value, top) / top
            runs[-1].append(f"{x:.1f},{y:.1f}")
            points.append(f'<circle class="point s{k % COLOURS}" cx="{x:.1f}" cy="{y:.1f}" '
                          f'r="3"><title>{escape(s.label)} · {escape(categories[i])}: '
                          f"{escape(fmt(value))}</title></circle>")
        paths += [f'<polyline class="line s{k % COLOURS}" points="{" ".join(run)}"/>'
                  for run in runs if len(run) > 1]
    body = _y_axis(top, fmt, plot_h) + paths + points + _x_labels(categories, slot)
    return _frame(chart_id, title, description, body, [s.label for s in series])


def horizontal_bars(chart_id: str, title: str, description: str, labels: Sequence[str],
                    values: Sequence[float], percent: bool = False) -> Markup:
    """One bar per label (e.g. a site), longest scale first as given."""
    row, label_w = 24, 170
    height = TOP + row * max(1, len(labels)) + 8
    plot_w = WIDTH - label_w - RIGHT - 50
    top = 1.0 if percent else nice_ceiling(max(values, default=0))
    body: list[str] = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = TOP + row * i
        w = plot_w * min(value, top) / top if top else 0
        shown = f"{value * 100:.1f} %" if percent else _fmt(value)
        short = label if len(label) <= 26 else label[:25] + "…"
        body.append(
            f'<text class="label" x="{label_w - 8}" y="{y + 15}" text-anchor="end">'
            f"<title>{escape(label)}</title>{escape(short)}</text>"
            f'<rect class="bar s0" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}">'
            f"<title>{escape(label)}: {escape(shown)}</title></rect>"
            f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + 15}">{escape(shown)}</text>')
    return _frame(chart_id, title, description, body, height=height)
