"""Phase (batched): is the comment written with the diacritics Vietnamese needs? Stores the verdict,
ratio, unmarked syllables and the suggested restoration; the site's `diacritics_policy`
(flag | reject | off) decides what follows."""

from __future__ import annotations

from models.diacritics import check_many
from service.storage.tables import CommentStatus
from workers.pipeline.context import CommentContext, Decision, PhaseResult

FLAG = "missing_diacritics"


def run(ctxs: list[CommentContext], texts: list[str]) -> list[PhaseResult]:
    results = [PhaseResult(name="diacritics") for _ in ctxs]
    todo = [i for i, c in enumerate(ctxs) if c.site_settings.get("diacritics_policy") != "off"]
    reports = check_many([texts[i] for i in todo])
    for i, report in zip(todo, reports, strict=True):
        data = report.to_dict()
        result = results[i]
        result.data = data
        if data["verdict"] == "missing":
            result.flags.append(FLAG)
            if ctxs[i].site_settings.get("diacritics_policy", "flag") == "reject":
                result.decision = Decision(
                    status=CommentStatus.auto_rejected,
                    phase="diacritics",
                    reason=f"written without diacritics ({data['ratio']:.0%} of syllables "
                    "unmarked); the site requires Vietnamese with diacritics",
                )
    return results


run.batch = True  # type: ignore[attr-defined]
