"""Teencode / abbreviation expansion for features ("ko" → "không", "dc" → "được").

The table lives in ``models/data/teencode.tsv`` (data, not code). Expansion is
whole-word and case-insensitive on the normalized text; a capitalised short
form gives a capitalised expansion. Use it for classifier features and word
lists, never to rewrite what is shown to readers.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from models.normalize import normalize

__all__ = ["expand_teencode", "load_teencode"]


@lru_cache(maxsize=1)
def load_teencode() -> dict[str, str]:
    """The abbreviation table {short form (lower case): expansion}."""
    table: dict[str, str] = {}
    text = resources.files("models").joinpath("data/teencode.tsv").read_text("utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        short, _, long = line.partition("\t")
        short, long = normalize(short).lower(), normalize(long)
        if short and long and short != long:
            table.setdefault(short, long)
    return table


_WORD = re.compile(r"(?<![\w@./])[^\W\d_]+\d?(?![\w@]|\.\w)", re.UNICODE)


def expand_teencode(text: str) -> str:
    """``text`` normalized, with abbreviations expanded (URLs/e-mails untouched)."""
    table = load_teencode()
    t = normalize(text)

    def repl(m: re.Match[str]) -> str:
        w = m.group(0)
        exp = table.get(w.lower())
        if exp is None:
            return w
        if w[0].isupper() and len(w) > 1 and w.isupper() and len(exp.split()) == 1:
            return exp.upper()
        if w[0].isupper():
            return exp[0].upper() + exp[1:]
        return exp

    return _WORD.sub(repl, t)
