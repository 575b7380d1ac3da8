"""Phase: put the text in the one normal form every later check and feature sees
(NFC, one tone-mark placement, no invisible or look-alike characters, collapsed spaces)."""

from __future__ import annotations

from models.normalize import normalize
from workers.pipeline.context import CommentContext, PhaseResult


def run(ctx: CommentContext, text: str) -> PhaseResult:
    normalized = normalize(text)
    flags = ["changed_by_normalization"] if normalized != text else []
    return PhaseResult(name="normalize", text=normalized, flags=flags)
