"""Phase: banned and suspect words (the shipped seed lists, global and per-site entries)."""

from __future__ import annotations

from models.wordlists import BANNED, WordMatcher, builtin_entries
from service.storage.tables import CommentStatus
from workers.pipeline.context import CommentContext, Decision, PhaseResult


def run(ctx: CommentContext, text: str) -> PhaseResult:
    matcher = (
        ctx.resources.word_matcher(ctx.site_id) if ctx.resources else WordMatcher(builtin_entries())
    )
    matches = matcher.find(text)
    result = PhaseResult(name="wordlists")
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
    result.data = {"matches": [{"text": m.text, "entry": m.entry.phrase, "kind": m.entry.kind,
                                "source": m.entry.source} for m in matches]}
    if banned and ctx.site_settings.get("auto_reject_banned", False):
        result.decision = Decision(
            status=CommentStatus.auto_rejected,
            phase="wordlists",
            reason=f"banned word: {banned[0].entry.phrase!r} (site setting auto_reject_banned)",
        )
    return result
