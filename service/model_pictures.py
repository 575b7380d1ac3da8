"""Geometry for the model comparison's pictures: a confusion matrix and precision-recall
curves, as numbers that templates/admin/models/_pictures.html draws as inline SVG.

Only numbers and the labels leave here (the template escapes the labels); colours come
from CSS classes in vimod.css, by series index, since the CSP forbids style attributes.
"""

from __future__ import annotations

from typing import Any

__all__ = ["confusion_picture", "pr_picture", "SERIES"]

SERIES = 6          # vimod.css has .series-0 … .series-5
CELL = 52
LEFT, TOP = 78, 40  # room for the row labels, and for the column labels above the grid


def confusion_picture(report: dict[str, Any]) -> dict[str, Any]:
    """Cells shaded by the share of their row (gold label), each with its count."""
    labels = report["labels"]
    matrix = report["confusion"]
    k = len(labels)
    cells = []
    for i, row in enumerate(matrix):
        total = sum(row)
        for j, count in enumerate(row):
            share = count / total if total else 0.0
            cells.append({"x": LEFT + j * CELL, "y": TOP + i * CELL, "count": count,
                          "share": round(share, 3), "opacity": round(0.08 + 0.92 * share, 3),
                          "dark": share > 0.55, "gold": labels[i], "pred": labels[j],
                          "diagonal": i == j})
    return {"width": LEFT + k * CELL + 10, "height": TOP + k * CELL + 24, "cell": CELL,
            "left": LEFT, "top": TOP,
            "rows": [{"label": lab, "y": TOP + i * CELL + CELL / 2 + 4}
                     for i, lab in enumerate(labels)],
            "cols": [{"label": lab, "x": LEFT + j * CELL + CELL / 2}
                     for j, lab in enumerate(labels)],
            "cells": cells, "axis_y": TOP + k * CELL + 18, "axis_x": LEFT + k * CELL / 2}


W, H = 300, 220
PAD_L, PAD_R, PAD_T, PAD_B = 40, 10, 10, 34


def pr_picture(curves: dict[str, Any], labels: list[str]) -> dict[str, Any]:
    """One line per label with a curve (recall on x, precision on y, both 0..1)."""
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def x(r: float) -> float:
        return round(PAD_L + r * pw, 1)

    def y(p: float) -> float:
        return round(PAD_T + (1 - p) * ph, 1)

    lines = []
    for idx, label in enumerate(labels):
        curve = curves.get(label)
        if not curve or not curve.get("points"):
            continue
        pts = [(0.0, curve["points"][0][1]), *((r, p) for r, p in curve["points"])]
        lines.append({"label": label, "ap": curve.get("ap"), "series": idx % SERIES,
                      "points": " ".join(f"{x(r)},{y(p)}" for r, p in pts)})
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    return {"width": W, "height": H + 18 * max(len(lines), 1),
            "plot": {"x": PAD_L, "y": PAD_T, "w": pw, "h": ph},
            "xticks": [{"v": t, "x": x(t)} for t in ticks],
            "yticks": [{"v": t, "y": y(t)} for t in ticks],
            "axis_y": H - 6, "axis_x": PAD_L + pw / 2,
            "lines": lines,
            "legend": [{"y": H + 14 + 18 * i, **line} for i, line in enumerate(lines)]}
