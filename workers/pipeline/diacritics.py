"""Phase: is the comment written with the diacritics Vietnamese needs? Stores the verdict,
ratio, unmarked syllables and the suggested restoration; the site's `diacritics_policy`
(flag | reject | off) decides what follows."""

from __future__ import annotations

from models.diacritics import check
from service.storage.tables import CommentStatus
from workers.pipeline.context import CommentContext, Decision, PhaseResult

FLAG = "missing_diacritics"


def run(ctx: CommentContext, text: str) -> PhaseResult:
    policy = ctx.site_settings.get("diacritics_policy", "flag")
    if policy == "off":
        return PhaseResult(name="diacritics")
    report = check(text).to_dict()
    result = PhaseResult(name="diacritics", data=report)
    if report["verdict"] == "missing":
        result.flags.append(FLAG)
        if policy == "reject":
            result.decision = Decision(
                status=CommentStatus.auto_rejected,
                phase="diacritics",
                reason=f"written without diacritics ({report['ratio']:.0%} of syllables "
                "unmarked); the site requires Vietnamese with diacritics",
            )
    return result
