"""Phase: the shape of the text: very short, shouting in capitals, stretched letters,
nothing but emoji."""

from __future__ import annotations

import re

from models.tokenize import tokenize
from workers.pipeline.context import CommentContext, PhaseResult

_STRETCHED = re.compile(r"([^\W\d_])\1{4,}")


def run(ctx: CommentContext, text: str) -> PhaseResult:
    tokens = tokenize(text)
    words = [t for t in tokens if t.kind == "word"]
    letters = [c for c in text if c.isalpha()]
    result = PhaseResult(name="length", data={"characters": len(text), "words": len(words)})
    if not words and any(t.kind == "emoji" for t in tokens):
        result.flags.append("emoji_only")
    elif len(words) < 2:
        result.flags.append("very_short")
    upper = sum(c.isupper() for c in letters)
    if len(letters) >= 12 and upper / len(letters) >= 0.7:
        result.flags.append("shouting")
    for m in _STRETCHED.finditer(text):
        result.spans.append({"start": m.start(), "end": m.end(), "kind": "stretched"})
    if result.spans:
        result.flags.append("stretched_letters")
    return result
