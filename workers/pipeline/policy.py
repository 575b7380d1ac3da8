"""The site's policy: the one place that turns the phases' findings into a status and priority."""

from __future__ import annotations

from service.storage.tables import CommentStatus
from workers.pipeline.context import CommentContext, Outcome, PhaseResult

_AUTOMATIC = {CommentStatus.auto_rejected, CommentStatus.auto_approved}
# Flags that describe the text without counting against it.
INFORMATIONAL = {"changed_by_normalization"}


def decide(ctx: CommentContext, results: list[PhaseResult], normalized: str) -> Outcome:
    flags = sorted({flag for r in results for flag in r.flags})
    analysis = {
        "flags": flags,
        "phases": {r.name: r.data for r in results if r.data},
    }
    for result in results:
        decision = result.decision
        if decision is not None and decision.status in _AUTOMATIC:
            analysis["decision"] = {"phase": decision.phase, "reason": decision.reason}
            return Outcome(
                status=decision.status,
                priority=0.0,
                normalized=normalized,
                analysis=analysis,
                decided_by=f"system:{decision.phase}",
                reason=decision.reason,
            )
    concerns = [f for f in flags if f not in INFORMATIONAL]
    if not ctx.site_settings.get("premoderation", True) and not concerns:
        analysis["decision"] = {"phase": "policy", "reason": "pre-moderation off, nothing flagged"}
        return Outcome(
            status=CommentStatus.auto_approved,
            priority=0.0,
            normalized=normalized,
            analysis=analysis,
            decided_by="system:policy",
            reason="pre-moderation off, nothing flagged",
        )
    # Flagged comments come first in the queue; age is added by the queue's ordering.
    priority = float(len(concerns))
    return Outcome(
        status=CommentStatus.pending,
        priority=priority,
        normalized=normalized,
        analysis=analysis,
        decided_by="system:policy",
        reason="awaiting a moderator",
    )


def failed_outcome(ctx: CommentContext, exc: Exception) -> Outcome:
    return Outcome(
        status=CommentStatus.pending,
        priority=1.0,
        normalized=ctx.body,
        analysis={"flags": ["analysis_failed"], "error": type(exc).__name__},
        decided_by="system:policy",
        reason="analysis failed; needs a moderator",
    )
