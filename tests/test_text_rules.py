"""service/text_rules.py: the characters refused, what counts as blank, article ids."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from service.text_rules import (
    BIDI_CONTROLS,
    article_id_problem,
    canonical_article_id,
    describe,
    forbidden_char,
    is_blank,
)


def test_every_format_character_counts_as_invisible() -> None:
    """The hard-coded invisible set holds every Cf code point of this Python's Unicode."""
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        if unicodedata.category(ch) == "Cf":
            assert is_blank(ch), hex(code)
        elif (unicodedata.category(ch) in ("Lu", "Ll", "Lo", "Nd", "So", "Po")
              and ch not in "\u115f\u1160\u3164\uffa0\u2800"):
            assert not is_blank(ch), hex(code)


def test_one_line_rule_adds_line_breaks() -> None:
    for ch in "\t\n\r\u2028\u2029":
        assert forbidden_char(f"a{ch}b", one_line=True) == ch
    for ch in "\t\n\r":
        assert forbidden_char(f"a{ch}b") is None
    assert forbidden_char("Nguyễn Thị Lan 👍") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("", True), ("   ", True), ("\u200b\u200c\u200d\u2060\ufeff", True), ("\u3164\u3164", True),
    ("\u2800", True), ("\u00ad", True), ("\u034f\ufe0f", True), ("\u200e\u200f", True),
    ("\u00a0\u3000", True), ("Lan", False), (".", False), ("\u200bLan", False),
    ("👍", False), ("ạ", False),
])
def test_blank(text: str, expected: bool) -> None:
    assert is_blank(text) is expected


def test_bidi_controls_are_named() -> None:
    assert len(BIDI_CONTROLS) == 9
    assert describe("\u202e") == "a bidirectional control character (U+202E)"
    assert describe("\x1b") == "a control character (U+001B)"
    assert describe("\n") == "a line break (U+000A)"


@pytest.mark.parametrize(("raw", "ok"), [
    ("tin-123", True), ("123", True), ("thời-sự/tin 1", True), ("a.b", True), ("...", True),
    ("?x=1#y", True), ("%2e%2e", True), ("tin\u00a01", False), ("tin\u00a0", True),
    ("tin\u200b1", False),
    (".", False), ("..", False), ("a/./b", False), ("a/../b", False), ("/tin", False),
    ("tin/", False), ("a//b", False), ("", False), ("t" * 201, False), ("t" * 200, True),
])
def test_article_ids(raw: str, ok: bool) -> None:
    assert (article_id_problem(canonical_article_id(raw)) is None) is ok


def test_canonical_article_id() -> None:
    assert canonical_article_id(" tin-1\t") == "tin-1"
