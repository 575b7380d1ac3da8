"""The site's policy: the one place that turns the phases' findings into a status and priority.

Site settings it reads (all optional):
- `premoderation` (default true): every comment waits for a moderator unless auto-rejected.
- `auto_reject_banned` (default false): a banned word rejects (decided in the wordlists phase).
- `diacritics_policy` flag | reject | off (decided in the diacritics phase).
- `auto_reject`: {"spam": 0.98, "hate": 0.95, ...}: reject when the classifier's probability
  for that category reaches the threshold.
- `auto_approve_below` (default 0.3): with pre-moderation off, a comment with no concerns
  is published when its risk (highest of spam/offensive/hate) is below this.

A comment the classifier left unscored because it is not Vietnamese (flag
`foreign_language`, see classifier.py) is never auto-rejected on the classifier's word and,
being a concern, never auto-approved either: a moderator reads it. Rules (banned words,
phones, links) still decide as for any comment.

Every scored comment also gets a `certainty`: how far the classifier's output is from the
nearest decision boundary that matters to the site (see `certainty()`), so the queue can
offer "least certain first".
"""

from __future__ import annotations

from typing import Any

from service.storage.tables import CommentStatus
from workers.pipeline.context import CommentContext, Outcome, PhaseResult

_AUTOMATIC = {CommentStatus.auto_rejected, CommentStatus.auto_approved}
RISK_CATEGORIES = ("spam", "offensive", "hate")
# Flags that describe the text without counting against it.
INFORMATIONAL = {"changed_by_normalization", "very_short", "stretched_letters", "emoji_only"}
# How much each concern raises a comment in the queue (unlisted concerns weigh 1).
WEIGHTS = {
    "banned_word": 5, "burst": 3, "near_duplicate": 3, "phone": 3, "contact_handle": 3,
    "repeat": 2, "link": 2, "email": 2, "suspect_word": 2, "analysis_failed": 2,
    "foreign_language": 1,  # unscored, so a moderator reads it; no reason to rush it
}


def margin(scores: dict[str, float]) -> float:
    """The classifier's own boundary: how far its top label leads the runner-up."""
    top = sorted(scores.values(), reverse=True)
    return top[0] - (top[1] if len(top) > 1 else 0.0)


def certainty(scores: dict[str, float] | None, settings: dict[str, Any]) -> float | None:
    """Smallest distance of the scores to a boundary that can change this comment's fate:
    the top-two margin, each configured `auto_reject` threshold, and `auto_approve_below`
    (against the risk) when pre-moderation is off. None without scores. Small = unsure."""
    if not scores:
        return None
    distances = [margin(scores)]
    for category, threshold in (settings.get("auto_reject") or {}).items():
        if (p := scores.get(category)) is not None:
            distances.append(abs(p - float(threshold)))
    if not settings.get("premoderation", True):
        # Scored against the threshold even when flags hold the comment back anyway: the
        # measure is about the classifier, not about the other checks.
        risk = max(scores.get(c, 0.0) for c in RISK_CATEGORIES)
        distances.append(abs(risk - float(settings.get("auto_approve_below", 0.3))))
    return round(min(distances), 4)


def _outcome(status: str, priority: float, normalized: str, analysis: dict[str, Any],
             phase: str, reason: str, model_version: str | None,
             threshold: float | None = None) -> Outcome:
    if status != CommentStatus.pending:
        analysis["decision"] = {"phase": phase, "reason": reason}
        if threshold is not None:
            analysis["decision"]["threshold"] = threshold
    return Outcome(status=status, priority=priority, normalized=normalized, analysis=analysis,
                   decided_by=f"system:{phase}", reason=reason, model_version=model_version,
                   certainty=analysis.get("certainty"))


def decide(ctx: CommentContext, results: list[PhaseResult], normalized: str) -> Outcome:
    settings = ctx.site_settings
    flags = sorted({flag for r in results for flag in r.flags})
    scores = next((r.scores for r in results if r.scores), None)
    model_version = next((r.model_version for r in results if r.model_version), None)
    analysis: dict[str, Any] = {
        "flags": flags,
        "phases": {r.name: r.data for r in results if r.data},
        "spans": sorted(
            ({**span, "phase": r.name} for r in results for span in r.spans),
            key=lambda s: (s["start"], s["end"]),
        ),
    }
    if scores is not None:
        analysis["scores"] = scores
    risk = max((scores.get(c, 0.0) for c in RISK_CATEGORIES), default=0.0) if scores else None
    if risk is not None:
        analysis["risk"] = round(risk, 4)
    if (sure := certainty(scores, settings)) is not None:
        analysis["certainty"] = sure  # shown on the moderator's card, copied to the column

    for result in results:
        if result.decision is not None and result.decision.status in _AUTOMATIC:
            d = result.decision
            return _outcome(d.status, 0.0, normalized, analysis, d.phase, d.reason, model_version)

    for category, threshold in (settings.get("auto_reject") or {}).items():
        p = (scores or {}).get(category)
        if p is not None and p >= float(threshold):
            return _outcome(
                CommentStatus.auto_rejected, 0.0, normalized, analysis, "classifier",
                f"{category} probability {p:.3f} ≥ threshold {float(threshold)}",
                model_version, float(threshold),
            )

    concerns = [f for f in flags if f not in INFORMATIONAL]
    approve_below = float(settings.get("auto_approve_below", 0.3))
    if not settings.get("premoderation", True) and not concerns and (
        risk is None or risk < approve_below
    ):
        reason = "pre-moderation off, nothing flagged" + (
            f", risk {risk:.3f} < {approve_below}" if risk is not None else "")
        return _outcome(CommentStatus.auto_approved, 0.0, normalized, analysis, "policy",
                        reason, model_version, approve_below if risk is not None else None)

    # Riskier comments first in the queue; the queue adds age when it orders.
    priority = float(sum(WEIGHTS.get(f, 1) for f in concerns)) + 10 * (risk or 0.0)
    return _outcome(CommentStatus.pending, round(priority, 3), normalized, analysis, "policy",
                    "awaiting a moderator", model_version)


def failed_outcome(ctx: CommentContext, exc: Exception) -> Outcome:
    return Outcome(
        status=CommentStatus.pending,
        priority=1.0,
        normalized=ctx.body,
        analysis={"flags": ["analysis_failed"], "error": type(exc).__name__},
        decided_by="system:policy",
        reason="analysis failed; needs a moderator",
    )
