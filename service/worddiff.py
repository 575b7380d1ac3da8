"""Word-level differences between a comment and its suggested rewrite (the diacritics
restorer's suggestion), so a moderator sees at a glance which words it would change."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

# Words and the whitespace between them, so joining the pieces gives the text back exactly.
_PIECES = re.compile(r"\s+|\S+")


@dataclass(frozen=True)
class DiffPart:
    """`old` and `new` are equal for unchanged text; either may be empty."""

    old: str
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


def word_diff(original: str, suggestion: str) -> list[DiffPart]:
    """Pieces of both texts aligned word by word (NFC first: a decomposed original would
    otherwise differ from its own precomposed suggestion on every accented word)."""
    a = _PIECES.findall(unicodedata.normalize("NFC", original))
    b = _PIECES.findall(unicodedata.normalize("NFC", suggestion))
    parts: list[DiffPart] = []
    # autojunk off: comments are short, and frequent words must still align.
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        old, new = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            parts.append(DiffPart(old, old))
        elif op == "replace" and i2 - i1 == j2 - j1:
            # One-for-one rewrites (the restorer's usual case): pair each word with its
            # replacement so "khong" → "không" reads word by word, not as one block.
            parts.extend(DiffPart(x, y) for x, y in zip(a[i1:i2], b[j1:j2], strict=True))
        else:
            parts.append(DiffPart(old, new))
    return _merge_equal(parts)


def _merge_equal(parts: list[DiffPart]) -> list[DiffPart]:
    merged: list[DiffPart] = []
    for part in parts:
        if merged and not part.changed and not merged[-1].changed:
            merged[-1] = DiffPart(merged[-1].old + part.old, merged[-1].new + part.new)
        else:
            merged.append(part)
    return merged


def changed_words(parts: list[DiffPart]) -> int:
    return sum(1 for p in parts if p.changed)
