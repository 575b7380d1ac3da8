"""How automatic decisions at a threshold would have fared against the moderators: pure
functions over (score, agreed) pairs, no database and no Flask.

Two rules, the ones the site policy applies (workers/pipeline/policy.py):

* **auto-reject** a category at threshold *t*: the comments with ``p(category) ≥ t`` would be
  rejected. A sample is *positive* when the moderators' effective label (after admins'
  corrections) is that category. ``precision`` = positives among those selected,
  ``recall`` = selected positives among all positives, ``selected`` = how many comments
  the rule would have decided.
* **auto-approve** below *t*: the comments whose risk (the highest of the spam, offensive
  and hate probabilities) is ``< t`` would be published. A sample is positive when its label
  is ``clean``. ``precision`` = clean among those selected, ``coverage`` = the share of all
  samples the rule would have decided.

Thresholds are whole hundredths; scores are compared exactly as the policy compares them.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

RISK_CATEGORIES = ("spam", "offensive", "hate")
REJECT_THRESHOLDS: tuple[float, ...] = tuple(k / 100 for k in range(50, 100))   # 0.50..0.99
APPROVE_THRESHOLDS: tuple[float, ...] = tuple(k / 100 for k in range(1, 51))    # 0.01..0.50


@dataclass(frozen=True, slots=True)
class Point:
    """One threshold of one rule."""

    threshold: float
    selected: int       # comments the rule would decide at this threshold
    correct: int        # of those, the ones the moderators' label agrees with
    positives: int      # every sample of the rule's class (category, or clean)
    total: int          # every sample

    @property
    def precision(self) -> float | None:
        return self.correct / self.selected if self.selected else None

    @property
    def recall(self) -> float | None:
        return self.correct / self.positives if self.positives else None

    @property
    def coverage(self) -> float | None:
        return self.selected / self.total if self.total else None


def risk(scores: dict[str, float]) -> float:
    """The policy's risk: the highest probability of a category that is not clean."""
    return max((float(scores.get(c, 0.0)) for c in RISK_CATEGORIES), default=0.0)


def reject_curve(pairs: Iterable[tuple[float, bool]],
                 thresholds: Sequence[float] = REJECT_THRESHOLDS) -> list[Point]:
    """``pairs``: (p(category), label == category). Rule: reject when p ≥ t."""
    scores, positive = _sorted(pairs)
    total, positives = len(scores), sum(positive)
    # suffix sums: positives among scores[i:]
    tail = [0] * (total + 1)
    for i in range(total - 1, -1, -1):
        tail[i] = tail[i + 1] + positive[i]
    points = []
    for t in thresholds:
        i = bisect_left(scores, t)          # first score ≥ t
        points.append(Point(t, total - i, tail[i], positives, total))
    return points


def approve_curve(pairs: Iterable[tuple[float, bool]],
                  thresholds: Sequence[float] = APPROVE_THRESHOLDS) -> list[Point]:
    """``pairs``: (risk, label == clean). Rule: approve when risk < t."""
    scores, positive = _sorted(pairs)
    total, positives = len(scores), sum(positive)
    head = [0] * (total + 1)                # positives among scores[:i]
    for i, p in enumerate(positive):
        head[i + 1] = head[i] + p
    points = []
    for t in thresholds:
        i = bisect_left(scores, t)          # scores[:i] are < t
        points.append(Point(t, i, head[i], positives, total))
    return points


def _sorted(pairs: Iterable[tuple[float, bool]]) -> tuple[list[float], list[int]]:
    ordered = sorted((float(s), bool(p)) for s, p in pairs)
    return [s for s, _ in ordered], [int(p) for _, p in ordered]


def suggest_reject(points: Sequence[Point], target: float, min_support: int) -> Point | None:
    """The lowest threshold whose precision reaches ``target`` on at least ``min_support``
    selected comments (lowest = the most comments decided automatically); None when no
    threshold qualifies ("not enough data")."""
    return next((p for p in sorted(points, key=lambda p: p.threshold)
                 if _qualifies(p, target, min_support)), None)


def suggest_approve(points: Sequence[Point], target: float, min_support: int) -> Point | None:
    """The highest auto-approve threshold (the widest coverage) whose precision reaches
    ``target`` on at least ``min_support`` selected comments, or None."""
    return next((p for p in sorted(points, key=lambda p: p.threshold, reverse=True)
                 if _qualifies(p, target, min_support)), None)


def _qualifies(point: Point, target: float, min_support: int) -> bool:
    # selected ≥ 1 always: a rule that decides nothing supports no claim
    return (point.selected >= max(1, min_support) and point.precision is not None
            and point.precision >= target)
