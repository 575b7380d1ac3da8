"""The one rule for a JSON request body, whichever door it comes through: Flask's
`request.get_json` (the app's JSON provider), the schemas' webargs parser (a location loader
registered on APIFlask's parser) and the intake's fast path (service/api/fast_intake.py).

- UTF-8 only (RFC 8259 §8.1). A leading UTF-8 byte order mark is ignored, as the RFC
  allows: Windows tools add one. UTF-16 and UTF-32 bodies are refused: before this rule,
  Flask's parser guessed their encoding while webargs refused them, so the same body was
  accepted by one path and a bare 400 on another.
- At most MAX_DEPTH levels of arrays and objects. Python's parser recurses once a level and
  raises RecursionError near the interpreter's limit (a 2 KB `[[[[…]]]]` was a 500 on every
  JSON endpoint); vimod's requests nest three levels deep.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 32


class InvalidJSON(ValueError):
    """A body this rule refuses; str(error) says why, for the log and the error message."""


def loads(body: bytes | bytearray | str) -> Any:
    if isinstance(body, bytes | bytearray):
        if body.startswith(codecs.BOM_UTF8):
            body = body[len(codecs.BOM_UTF8):]
        # A JSON text starts with an ASCII character: a NUL among the first bytes is
        # UTF-16 or UTF-32 (RFC 4627 §3), which UTF-8 would decode without an error.
        if b"\x00" in body[:4]:
            raise InvalidJSON("the body is not UTF-8 (UTF-16 or UTF-32?)")
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidJSON("the body is not UTF-8") from exc
    else:
        text = body
    # Counting brackets is a C loop: only a body that could nest deeply is walked.
    deep = text.count("[") + text.count("{") > MAX_DEPTH
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise InvalidJSON(f"nested more than {MAX_DEPTH} levels deep") from exc
    except json.JSONDecodeError as exc:
        raise InvalidJSON(f"not JSON ({exc.msg} at character {exc.pos})") from exc
    if deep and _depth(value) > MAX_DEPTH:
        raise InvalidJSON(f"nested more than {MAX_DEPTH} levels deep")
    return value


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest (0 for a scalar), without recursing."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:  # one level past the limit is enough to know
            stack.extend((child, level + 1) for child in item)
    return deepest


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading request bodies by the rule above."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)
