"""Syllable tokenization.

``tokenize(text)`` splits a text into :class:`Token` objects of kind ``word``
(one Vietnamese syllable or any other run of letters, e.g. an English word),
``url``, ``email``, ``number``, ``emoji``, ``punct`` or ``other``; whitespace is
skipped. ``start``/``end`` are offsets into the text given (callers normally
pass ``normalize(text)``). URLs, e-mails and numbers (``1.000.000``, ``12,5``,
``18-11-2005``, ``0912 345 678`` is three numbers) are single tokens.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

__all__ = ["Token", "tokenize", "words"]

_URL = (
    r"(?:https?://|ftp://|www\.)[^\s<>\"'“”]*[^\s<>\"'“”.,;:!?)\]]"
    r"|(?<![\w@.])[a-zA-Z0-9][a-zA-Z0-9-]*(?:\.[a-zA-Z0-9-]+)*\."
    r"(?:com|net|org|vn|info|biz|io|co|me|tv|xyz|online|site|top|edu|gov|us|uk|ly|gl|to)"
    r"(?:\.vn)?(?![\w])(?:/(?:[^\s<>\"'“”]*[^\s<>\"'“”.,;:!?)\]])?)?"
)
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_NUMBER = r"(?<!\w)[+-]?\d+(?:[.,:/-]\d+)*(?:%|k|K|tr|đ)?(?![^\W\d_])|\d+"
_WORDRE = r"[^\W\d_]+(?:['’][^\W\d_]+)?"
_EMOJI = (
    r"(?:[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF\u2190-\u21FF"
    r"\u3030\u303D\u3297\u3299\u00A9\u00AE\u2122\u2139\u24C2\u25AA-\u25FE]"
    r"[\uFE0F\u200D\U0001F3FB-\U0001F3FF\u20E3\U0001F000-\U0001FAFF\u2600-\u27BF]*)"
    r"|[<>:;=8xX]['\-^]?[()\[\]DdPpOo3]+(?![^\W\d_])|<3|\^\^|\^_\^|=\)+|:\)+"
)
_PUNCT = r"[^\w\s]+?"
_RE = re.compile(
    rf"(?P<url>{_URL})|(?P<email>{_EMAIL})|(?P<emoji>{_EMOJI})|(?P<number>{_NUMBER})"
    rf"|(?P<word>{_WORDRE})|(?P<punct>{_PUNCT})|(?P<other>\S)",
    re.UNICODE,
)


class Token(NamedTuple):
    text: str
    kind: str  # word | url | email | number | emoji | punct | other
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Tokens of ``text`` in order (whitespace skipped)."""
    return list(_tokens(text))


@lru_cache(maxsize=1024)
def _tokens(text: str) -> tuple[Token, ...]:
    # Cached: the worker's length, contacts and word-list phases tokenize the same text.
    return tuple(Token(m.group(), m.lastgroup or "other", m.start(), m.end())
                 for m in _RE.finditer(text))


def words(text: str) -> list[str]:
    """Just the ``word`` tokens (syllables and other letter runs)."""
    return [t.text for t in tokenize(text) if t.kind == "word"]
