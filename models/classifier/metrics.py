"""Classification metrics without extra dependencies (precision/recall/F1, confusion)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["classification_report", "evaluate_labels", "format_report"]


def classification_report(y_true: np.ndarray, y_pred: np.ndarray,
                          labels: Sequence[str]) -> dict:
    """Per-class P/R/F1, macro-F1 (over classes present in ``y_true``), accuracy, confusion.

    ``y_true``/``y_pred`` are indices into ``labels``.
    """
    K = len(labels)
    cm = np.zeros((K, K), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    per = {}
    f1s = []
    for k, lab in enumerate(labels):
        tp = cm[k, k]
        p_den = cm[:, k].sum()
        r_den = cm[k, :].sum()
        p = tp / p_den if p_den else 0.0
        r = tp / r_den if r_den else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        per[lab] = {"precision": round(float(p), 4), "recall": round(float(r), 4),
                    "f1": round(float(f), 4), "support": int(r_den)}
        if r_den:
            f1s.append(f)
    total = cm.sum()
    return {"labels": list(labels), "per_class": per,
            "macro_f1": round(float(np.mean(f1s)) if f1s else 0.0, 4),
            "accuracy": round(float(np.trace(cm) / total) if total else 0.0, 4),
            "confusion": cm.tolist(), "n": int(total)}


def evaluate_labels(gold: Sequence[str], pred: Sequence[str],
                    model_labels: Sequence[str]) -> dict:
    """Report over the model's labels plus any gold label the model does not know."""
    labels = list(model_labels) + sorted(set(gold) - set(model_labels))
    idx = {y: i for i, y in enumerate(labels)}
    return classification_report(np.array([idx[g] for g in gold], dtype=np.int64),
                                 np.array([idx[p] for p in pred], dtype=np.int64), labels)


def format_report(rep: dict) -> str:
    labels = rep["labels"]
    w = max(9, *(len(x) for x in labels))
    lines = [f"{'label':<{w}}  precision  recall     f1  support"]
    for lab in labels:
        m = rep["per_class"][lab]
        lines.append(f"{lab:<{w}}  {m['precision']:9.4f}  {m['recall']:6.4f}  "
                     f"{m['f1']:.4f}  {m['support']:7d}")
    lines.append(f"macro-F1 {rep['macro_f1']:.4f}   accuracy {rep['accuracy']:.4f}   "
                 f"n {rep['n']}")
    lines.append("")
    lines.append("confusion (rows = gold, columns = predicted)")
    cw = max(w, 7)
    lines.append(" " * cw + "".join(f"{lab[:9]:>10}" for lab in labels))
    for lab, row in zip(labels, rep["confusion"], strict=True):
        lines.append(f"{lab:<{cw}}" + "".join(f"{v:>10d}" for v in row))
    return "\n".join(lines)
