"""Phase (batched): the content classifier's calibrated probabilities for clean / spam /
offensive / hate, the model version that made them, and — for comments that look risky —
the tokens that pushed the score, as spans for the moderator UI.

Shadow mode: when the registry names a shadow candidate, it scores the same texts and its
answer is stored beside the active one (``data["shadow"]``, i.e. the comment's
``analysis["phases"]["classifier"]["shadow"]``) without touching the scores, flags or
spans that the policy decides from.

Other languages: the model is trained on Vietnamese only, and on English it answers
"spam" ("Thanks for the update. Stay safe…"). A comment that ``models.language`` does not
read as Vietnamese (mixed Vietnamese-English and unaccented Vietnamese stay Vietnamese) gets
no category scores: the flag ``foreign_language`` and ``data["language"]`` (e.g. "en") say
why, and the rules (links, phones, word lists) still apply to it."""

from __future__ import annotations

import logging
from collections import defaultdict

from models.classifier import load_active
from models.classifier.registry import load_shadow
from models.language import identify
from workers.pipeline.context import CommentContext, PhaseResult

log = logging.getLogger(__name__)

# Explaining costs more than scoring: only for comments a moderator will look at closely.
EXPLAIN_ABOVE = 0.3
RISKY = ("spam", "offensive", "hate")
FOREIGN = "foreign_language"


def run(ctxs: list[CommentContext], texts: list[str]) -> list[PhaseResult]:
    results = [PhaseResult(name="classifier") for _ in ctxs]
    by_site: dict[int, list[int]] = defaultdict(list)
    for i, ctx in enumerate(ctxs):
        guess = identify(texts[i])
        if not guess.is_vietnamese:
            # Not scored: a Vietnamese model's answer on another language means nothing.
            results[i].flags.append(FOREIGN)
            results[i].data = {"language": guess.language, "scored": False,
                               "language_votes": guess.to_dict()}
            continue
        by_site[ctx.site_id].append(i)
    for site_id, idx in by_site.items():
        # The site's own promoted model if it has one, else the global active model;
        # a promotion is picked up within seconds, without restart.
        clf = load_active(site_id=site_id)
        for i, scores in zip(idx, clf.predict_proba([texts[i] for i in idx]), strict=True):
            result = results[i]
            result.scores = {k: round(float(v), 4) for k, v in scores.items()}
            result.model_version = clf.version
            label = max(scores, key=scores.get)
            result.data = {"label": label, "model_version": clf.version}
            top = max(RISKY, key=lambda c: scores.get(c, 0.0))
            if scores.get(top, 0.0) >= EXPLAIN_ABOVE:
                if label != "clean":
                    result.flags.append(label)  # "spam" | "offensive" | "hate": queue filters
                tokens = clf.explain(texts[i], top=8)
                result.data["tokens"] = tokens
                result.spans = [
                    {"start": t["start"], "end": t["end"], "kind": t["label"],
                     "weight": round(float(t["weight"]), 3)}
                    for t in tokens if t.get("label") in RISKY and t.get("weight", 0) > 0
                ]
    _score_shadow(results, texts)
    return results


def _score_shadow(results: list[PhaseResult], texts: list[str]) -> None:
    shadow = load_shadow()
    if shadow is None:
        return
    # Only where it differs from the model that decided (a promoted shadow is no candidate),
    # and not on comments left unscored as not Vietnamese.
    idx = [i for i, r in enumerate(results)
           if r.model_version is not None and r.model_version != shadow.version]
    if not idx:
        return
    try:
        scored = shadow.predict_proba([texts[i] for i in idx])
    except Exception:  # noqa: BLE001 - a broken candidate must not hold comments back
        log.exception("shadow model %s failed", shadow.version)
        return
    for i, scores in zip(idx, scored, strict=True):
        rounded = {k: round(float(v), 4) for k, v in scores.items()}
        # The same rule as the active label above, so the two are comparable.
        results[i].data["shadow"] = {"version": shadow.version, "scores": rounded,
                                     "label": max(scores, key=scores.get)}


run.batch = True  # type: ignore[attr-defined]
