"""Numbers read from URLs and forms. Only ASCII digits count ("²".isdigit() is true, but
int("²") fails), and only values an INTEGER column holds (PostgreSQL refuses a larger
bound parameter with an error, which would be a 500 instead of "not found")."""

from __future__ import annotations

import re

from werkzeug.routing import IntegerConverter

_DIGITS = re.compile(r"[0-9]{1,10}")
MAX_ID = 2**31 - 1


def parse_id(raw: object) -> int | None:
    """A positive database id, or None for anything else."""
    if not isinstance(raw, str) or not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def parse_int(raw: object, low: int, high: int) -> int | None:
    """An integer in [low, high] written in ASCII digits, or None."""
    if not isinstance(raw, str) or not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def parse_page(raw: object, maximum: int = 10**6) -> int:
    """A page number; anything unusable is the first page."""
    return parse_int(raw, 1, maximum) or 1


class IdConverter(IntegerConverter):
    """The URL converter for ids: a number beyond the column's range is "not found" (404)
    instead of a query PostgreSQL refuses."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002, ANN001, ANN002, ANN003
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
