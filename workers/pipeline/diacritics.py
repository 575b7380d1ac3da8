"""Phase (batched): is the comment written with the diacritics Vietnamese needs? Stores the verdict,
ratio, unmarked syllables and the suggested restoration; the site's `diacritics_policy`
(flag | reject | off) decides what follows. Also the restorer's reading of the whole text
(`reading`, when it differs from the text and no suggestion says it already) and the spans
whose likely reading is a word it never suggests (`withheld`): the word lists phase
judges hits on ambiguous unmarked entries by them."""

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
        if report.reading is not None and data.get("suggestion") != report.reading:
            data["reading"] = report.reading
        if report.withheld:
            data["withheld"] = [list(span) for span in report.withheld]
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
