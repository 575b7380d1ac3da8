"""Phase: banned and suspect words (the shipped seed lists, global and per-site entries).

Unmarked text is read two ways (models/wordlists.py): a hit on an ambiguous entry typed
without marks counts only when the likely reading is the profane one. The reading is the
diacritics phase's (it runs before); without it (the site turned that check off), the
restorer is asked here, only for a comment with such a hit. Dismissed hits are kept in
the data (`dismissed`, with the reading), without a flag."""

from __future__ import annotations

from models.wordlists import BANNED, Reading, WordMatcher, builtin_entries, likely_reading
from service.storage.tables import CommentStatus
from workers.pipeline.context import CommentContext, Decision, PhaseResult


def run(ctx: CommentContext, text: str) -> PhaseResult:
    matcher = (
        ctx.resources.word_matcher(ctx.site_id) if ctx.resources else WordMatcher(builtin_entries())
    )
    matches, dismissed = matcher.find_all(text, lambda: _reading(ctx, text))
    result = PhaseResult(name="wordlists")
    if dismissed:
        result.data["dismissed"] = [{"text": m.text, "entry": m.entry.phrase,
                                     "kind": m.entry.kind, "reading": m.reading}
                                    for m in dismissed]
    if not matches:
        return result
    banned = [m for m in matches if m.entry.kind == BANNED]
    result.flags.append("banned_word" if banned else "suspect_word")
    if banned and any(m.entry.kind != BANNED for m in matches):
        result.flags.append("suspect_word")
    result.spans = [
        {"start": m.start, "end": m.end, "kind": m.entry.kind, "entry": m.entry.phrase}
        for m in matches
    ]
    result.data["matches"] = [{"text": m.text, "entry": m.entry.phrase, "kind": m.entry.kind,
                               "source": m.entry.source} for m in matches]
    if banned and ctx.site_settings.get("auto_reject_banned", False):
        result.decision = Decision(
            status=CommentStatus.auto_rejected,
            phase="wordlists",
            reason=f"banned word: {banned[0].entry.phrase!r} (site setting auto_reject_banned)",
        )
    return result


def _reading(ctx: CommentContext, text: str) -> Reading | None:
    found = ctx.earlier.get("diacritics")
    if found is None or "verdict" not in found:
        return likely_reading(text)  # the site turned the diacritics check off
    restored = found.get("suggestion") or found.get("reading") or text
    return Reading(restored, tuple((s, e) for s, e in found.get("withheld", ())))
