"""A key for "the same comment again": equal for texts that differ only in case, marks,
spacing, punctuation, emoji or tone placement."""

from __future__ import annotations

import hashlib
import re

from models.normalize import normalize, strip_marks

_NOT_ALNUM = re.compile(r"[\W_]+")


def comparable(text: str) -> str:
    return _NOT_ALNUM.sub(" ", strip_marks(normalize(text)).lower()).strip()


def text_key(text: str) -> str:
    return hashlib.sha1(comparable(text).encode("utf-8")).hexdigest()
