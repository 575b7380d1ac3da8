"""Phase: put the text in one normal form (NFC, collapsed whitespace) for every later check."""

from __future__ import annotations

import re
import unicodedata

from workers.pipeline.context import CommentContext, PhaseResult

_SPACES = re.compile(r"[ \t\u00a0]+")


def basic_normalize(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def run(ctx: CommentContext, text: str) -> PhaseResult:
    normalized = basic_normalize(text)
    flags = ["changed_by_normalization"] if normalized != text else []
    return PhaseResult(name="normalize", text=normalized, flags=flags)
