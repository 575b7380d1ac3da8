"""Evaluation images (matplotlib is imported here only, and only when asked for)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _pr_curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    order = np.argsort(-s, kind="stable")
    y = y[order]
    tp = np.cumsum(y)
    fp = np.cumsum(1 - y)
    pos = max(int(y.sum()), 1)
    precision = tp / np.maximum(tp + fp, 1)
    recall = tp / pos
    ap = float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))
    return precision, recall, ap


def plot_pr_curves(gold: Sequence[str], P: np.ndarray, labels: Sequence[str], path: str) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 5))
    gold_arr = np.asarray(gold)
    for k, lab in enumerate(labels):
        y = (gold_arr == lab).astype(np.int64)
        if not y.any():
            continue
        p, r, ap = _pr_curve(y, P[:, k])
        ax.plot(r, p, label=f"{lab} (AP {ap:.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Precision-recall per label")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(rep: dict, path: str) -> None:
    plt = _plt()
    labels = rep["labels"]
    cm = np.asarray(rep["confusion"])
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2, 1.1 * len(labels) + 1.5))
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=30)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title(f"macro-F1 {rep['macro_f1']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
