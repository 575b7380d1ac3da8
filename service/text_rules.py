"""What text vimod accepts, from readers and staff alike: the intake's schemas, the reader
form, a moderator's edited text and notes, the admin's names. One set of rules, here; each
door words the refusal in its own language (the API in English, the pages translated).

- No control characters (Cc), except tab, newline and carriage return where text may span
  lines, and no lone surrogates (Cs): no database stores a surrogate, PostgreSQL no NUL, and
  ESC or U+0085 in a published comment reach readers' pages.
- No bidirectional embedding, override or isolate controls (U+202A–U+202E, U+2066–U+2069):
  they let a name or a comment reverse the text shown after it ("Trojan Source"). Marks
  (LRM, RLM, ALM) stay allowed; Vietnamese needs none of them.
- Not blank: at least one visible character. Spaces, zero-width and other format characters
  (Cf) and the blank-looking fillers (Hangul filler, Braille blank, …) alone are blank.
- One line (names, titles, ids): no tab, newline, line or paragraph separator either.
- Article ids: what the reader API can find again in a URL path (see article_id_problem).

Regular expressions, not per-character loops: a loop calling unicodedata.category() over a
2,000-character comment took ≈ 100 µs on the intake's hot path.
"""

from __future__ import annotations

import re

# Character classes, written with \\u escapes so that the same text is a Python and an
# ECMAScript (JSON Schema) regular expression: the OpenAPI document states these rules
# (json_schema_pattern) from the very classes the server uses.
_BIDI = "\\u202a-\\u202e\\u2066-\\u2069"
_CONTROL = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"
_LINE_BREAKS = "\\u0009\\u000a\\u000d\\u2028\\u2029"
_SURROGATES = "\\ud800-\\udfff"  # (not in the documented patterns: see below)
_FORBIDDEN = re.compile(f"[{_CONTROL}{_SURROGATES}{_BIDI}]")
_FORBIDDEN_IN_LINE = re.compile(f"[{_CONTROL}{_LINE_BREAKS}{_SURROGATES}{_BIDI}]")
BIDI_CONTROLS = frozenset(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])

# Every format character (Cf, Unicode 14 as in Python 3.11; tests/test_text_rules.py checks
# it against unicodedata) and the characters that draw nothing: combining grapheme joiner,
# Hangul fillers, Khmer inherent vowels, Mongolian variation selectors, Braille blank,
# variation selectors.
_INVISIBLE_BMP = (
    "\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890\\u0891\\u08e2\\u180e"
    "\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb"
    "\\u034f\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180d\\u180f\\u2800\\u3164"
    "\\ufe00-\\ufe0f\\uffa0"
)
_INVISIBLE_ASTRAL = (
    "\\U000110bd\\U000110cd\\U00013430-\\U00013438\\U0001bca0-\\U0001bca3"
    "\\U0001d173-\\U0001d17a\\U000e0001\\U000e0020-\\U000e007f\\U000e0100-\\U000e01ef"
)
_VISIBLE = re.compile(f"[^\\s{_INVISIBLE_BMP}{_INVISIBLE_ASTRAL}]")

MAX_ARTICLE_ID = 200


def forbidden_char(text: str, *, one_line: bool = False) -> str | None:
    """The first character the rules refuse in this text, or None."""
    found = (_FORBIDDEN_IN_LINE if one_line else _FORBIDDEN).search(text)
    return found.group() if found else None


def describe(ch: str) -> str:
    """How the API names a refused character (English, like every API message)."""
    kind = ("a bidirectional control character" if ch in BIDI_CONTROLS
            else "a line break" if ch in "\t\n\r\u2028\u2029"
            else "a control character")
    return f"{kind} (U+{ord(ch):04X})"


def is_blank(text: str) -> bool:
    """Nothing a reader would see: empty, spaces, or only invisible characters."""
    return _VISIBLE.search(text) is None


def canonical_article_id(value: str) -> str:
    """Surrounding spaces are not part of an id: " 123 " and "123" are one article,
    whether it arrives through the API, the reader form or the reader API's URL."""
    return value.strip()


def article_id_problem(value: str) -> str | None:
    """Why an article id (already canonical) cannot be used, or None. The id travels in the
    reader API's URL path (/articles/<id>/comments), so it must survive one: printable
    characters only, and no empty, "." or ".." path segment, which browsers and servers
    resolve away (an id "." was stored, then could never be listed)."""
    if not value:
        return "Must not be blank."
    if len(value) > MAX_ARTICLE_ID:
        return f"Longer than {MAX_ARTICLE_ID} characters."
    if not value.isprintable():
        ch = next(c for c in value if not c.isprintable())
        return f"Contains a character that cannot be shown (U+{ord(ch):04X})."
    if any(segment in ("", ".", "..") for segment in value.split("/")):
        return 'Must not have an empty, "." or ".." part between slashes.'
    return None


def json_schema_pattern(*, one_line: bool, visible: bool) -> str:
    """The rules above as one JSON Schema `pattern` (no lookaround, so that generators such
    as schemathesis can produce matching text). Written for the Basic Multilingual Plane:
    ECMAScript's patterns see an emoji as two surrogates, so the surrogate and the few
    astral invisible characters are left to the text around the pattern."""
    forbidden = f"{_CONTROL}{_LINE_BREAKS if one_line else ''}{_BIDI}"
    if not visible:
        return f"^[^{forbidden}]*$"
    return f"^[^{forbidden}]*[^{forbidden}\\s{_INVISIBLE_BMP}][^{forbidden}]*$"
