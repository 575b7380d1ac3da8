"""Text normalization shared by every check, word list and model feature.

``normalize(text)`` produces the canonical form used everywhere in vimod:

1. zero-width / invisible characters removed (ZWSP, ZWNJ, word joiner, BOM,
   soft hyphen, bidi controls ...); ZWJ is kept only between two non-letters
   (emoji sequences such as 👨‍👩‍👧);
2. full-width ASCII (``ｈｅｌｌｏ``) mapped to ASCII;
3. Unicode NFC (legacy decomposed / NFD input becomes precomposed);
4. look-alike letters from other scripts (Cyrillic ``а о е с р х у і``, Greek
   ``ο α ν ι κ`` ...) mapped to Latin inside words that also contain Latin
   letters (a genuinely Russian or Greek word is left alone);
5. one tone-mark placement convention, the "old style" (kiểu cũ) that also
   dominates modern Vietnamese news: ``hòa``, ``hóa``, ``khỏe``, ``thủy``,
   ``ủy`` (tone on the first vowel of an open ``oa``/``oe``/``uy``), ``quả``,
   ``gìn``, ``giá``, ``hoàn``, ``thuở``, ``người``, ``khuỷu``;
6. whitespace collapsed: a run of whitespace becomes one space, or one
   newline if it contained a line break; leading/trailing whitespace removed.

``normalize`` is idempotent: ``normalize(normalize(t)) == normalize(t)``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "normalize",
    "strip_marks",
    "fold",
    "search_key",
    "normalize_syllable",
    "has_vietnamese_marks",
    "split_tone",
    "TONE_MARKS",
    "is_vietnamese_syllable",
]

# --- invisible characters -------------------------------------------------

_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e"
    "\u200b\u200c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\u206a\u206b\u206c\u206d\u206e\u206f"
    "\u3164\ufeff\uffa0"
)
_INVISIBLE_TABLE = {ord(c): None for c in _INVISIBLE}
# full-width ASCII -> ASCII
_INVISIBLE_TABLE.update({cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)})
_INVISIBLE_TABLE[0x3000] = 0x20  # ideographic space

_ZWJ_LETTER = re.compile(r"(?<=[\w\u0300-\u036f])\u200d+|\u200d+(?=[\w\u0300-\u036f])")

# --- homoglyphs --------------------------------------------------------------

_HOMOGLYPHS = {
    # Cyrillic lower case
    "а": "a", "в": "b", "е": "e", "ё": "ë", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "ï", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ո": "n", "ս": "u",
    # Cyrillic upper case
    "А": "A", "В": "B", "Е": "E", "Ё": "Ë", "К": "K", "М": "M", "Н": "H", "О": "O",
    "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "І": "I", "Ї": "Ï", "Ј": "J",
    "Ѕ": "S", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Һ": "H", "Ӏ": "I",
    # Greek
    "α": "a", "ο": "o", "ν": "v", "ι": "i", "κ": "k", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "ε": "e", "ϲ": "c", "ϳ": "j",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Latin look-alikes outside Vietnamese
    "ı": "i", "ɑ": "a", "ɡ": "g", "ℓ": "l",
}
_HOMOGLYPH_TABLE = str.maketrans(_HOMOGLYPHS)
_HOMOGLYPH_CHARS = frozenset(_HOMOGLYPHS)
_WORD = re.compile(r"[\w\u0300-\u036f]+", re.UNICODE)


def _is_latin_letter(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z") or (
        "\u00c0" <= ch <= "\u024f" and ch.isalpha()) or ("\u1e00" <= ch <= "\u1eff")


def _fix_homoglyphs(word: str) -> str:
    if not any(c in _HOMOGLYPH_CHARS for c in word):
        return word
    if not any(_is_latin_letter(c) for c in word):
        return word
    return word.translate(_HOMOGLYPH_TABLE)


# --- tone marks --------------------------------------------------------------

# combining tone marks: grave, acute, tilde, hook above, dot below
TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"
_TONE_SET = frozenset(TONE_MARKS)
_QUALITY_VOWELS = frozenset("ăâêôơư")
_VOWELS = frozenset("aăâeêioôơuưy")
_VN_CONSONANTS = frozenset("bcdđghklmnpqrstvx")
_ONSETS = frozenset(
    ["", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng",
     "ngh", "nh", "p", "ph", "q", "qu", "r", "s", "t", "th", "tr", "v", "x"]
)
_CODAS = frozenset(["", "c", "ch", "m", "n", "ng", "nh", "p", "t"])


def split_tone(syllable: str) -> tuple[str, str]:
    """Split a (lower- or mixed-case) word into (NFC text without tone marks, tone mark).

    The tone is '' when there is none, and the word is returned unchanged with
    tone '?' when it carries more than one tone mark.
    """
    d = unicodedata.normalize("NFD", syllable)
    tones = [c for c in d if c in _TONE_SET]
    if not tones:
        return unicodedata.normalize("NFC", d), ""
    if len(tones) > 1:
        return syllable, "?"
    base = "".join(c for c in d if c not in _TONE_SET)
    return unicodedata.normalize("NFC", base), tones[0]


def _tone_index(lower_base: str) -> int:
    """Index (in the NFC toneless lower-case syllable) of the letter carrying the tone.

    -1 when the word does not have the shape of a Vietnamese syllable.
    """
    n = len(lower_base)
    i = 0
    while i < n and lower_base[i] in _VN_CONSONANTS:
        i += 1
    j = i
    while j < n and lower_base[j] in _VOWELS:
        j += 1
    onset, nucleus, coda = lower_base[:i], lower_base[i:j], lower_base[j:]
    if not nucleus or coda not in _CODAS or onset not in _ONSETS:
        return -1
    # "gi" and "qu": the i / u belongs to the onset when another vowel follows
    if (onset == "g" and nucleus[0] == "i" and len(nucleus) > 1) or (
            onset == "q" and nucleus[0] == "u" and len(nucleus) > 1):
        i += 1
        nucleus = nucleus[1:]
    if len(nucleus) > 3:
        return -1
    marked = [k for k, c in enumerate(nucleus) if c in _QUALITY_VOWELS]
    if marked:
        return i + marked[-1]
    if coda:
        return i + len(nucleus) - 1
    if len(nucleus) == 3:
        return i + 1
    # open syllable with one or two vowels: old style, tone on the first vowel
    # (hòa, khỏe, thủy, mùa, tài, cháo)
    return i


@lru_cache(maxsize=200_000)
def normalize_syllable(word: str) -> str:
    """Put the tone mark of one NFC word on the conventional vowel (old style)."""
    base, tone = split_tone(word)
    if tone in ("", "?"):
        return word
    k = _tone_index(base.lower())
    if k < 0:
        return word
    return unicodedata.normalize("NFC", base[:k + 1] + tone) + base[k + 1:]




def _needs_tone_fix(word: str) -> bool:
    # quick filter: any non-ASCII letter (a tone mark needs one)
    return any(c >= "\u00c0" for c in word)


# --- whitespace ---------------------------------------------------------------

_WS = re.compile(r"\s+")


def _ws_repl(m: re.Match[str]) -> str:
    s = m.group(0)
    return "\n" if ("\n" in s or "\r" in s or "\u2028" in s or "\u2029" in s
                    or "\x0b" in s or "\x0c" in s or "\x1c" in s or "\x1d" in s
                    or "\x1e" in s or "\x85" in s) else " "


@lru_cache(maxsize=65536)
def _fixed_word(word: str) -> str:
    # Cached: a comment's words are nearly all among a few thousand syllables.
    w = _fix_homoglyphs(word)
    if _needs_tone_fix(w):
        w = normalize_syllable(w)
    return w


def _fix_word(m: re.Match[str]) -> str:
    return _fixed_word(m.group(0))


@lru_cache(maxsize=2048)
def normalize(text: str) -> str:
    """Canonical form of a text (see module docstring). Idempotent. Cached: the worker's
    phases (word lists, diacritics, classifier) each ask for the same comment's form."""
    if not text:
        return ""
    t = text.translate(_INVISIBLE_TABLE)
    t = unicodedata.normalize("NFC", t)
    if "\u200d" in t:
        t = _ZWJ_LETTER.sub("", t)
    t = _WORD.sub(_fix_word, t)
    t = unicodedata.normalize("NFC", t)
    t = _WS.sub(_ws_repl, t).strip()
    return t


# --- mark stripping -------------------------------------------------------------

def _build_strip_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in range(0x00C0, 0x1F00):
        ch = chr(cp)
        if not ch.isalpha():
            continue
        d = unicodedata.normalize("NFD", ch)
        base = "".join(c for c in d if not unicodedata.combining(c))
        if base != ch and len(base) == 1 and base.isascii():
            table[cp] = base
    table[ord("đ")] = "d"
    table[ord("Đ")] = "D"
    return table


_STRIP_TABLE = _build_strip_table()


def strip_marks(text: str) -> str:
    """Remove every Vietnamese mark (tone and letter marks, đ→d); case is kept."""
    t = text.translate(_STRIP_TABLE)
    if t.isascii():
        return t
    d = unicodedata.normalize("NFD", t)
    return unicodedata.normalize(
        "NFC", "".join(c for c in d if not unicodedata.combining(c))).translate(_STRIP_TABLE)


def fold(text: str) -> str:
    """What a search compares: lower case, every mark removed (đ→d), whatever the input's
    Unicode form (NFC or decomposed NFD) or tone placement (``hoà`` and ``hòa`` both fold to
    ``hoa``). Nothing else changes: teencode (``ko``, ``dc``) and punctuation stay."""
    return strip_marks(unicodedata.normalize("NFC", text).lower()).lower()


_SEARCH_TOKEN = re.compile(r"\w+|[^\w\s]")


def search_key(*texts: str | None) -> str:
    """The searchable form of texts, as stored in a search column and as a query is folded:
    ``fold``ed, cut into words and single punctuation marks, each followed by one space,
    the whole begun by one space (``" xang , dau "``): a query's folded form is found in it
    by plain substring, and a whole word by ``" word "``. Several texts are kept apart by a
    newline (no query spans two); a text whose form repeats an earlier one is left out."""
    parts: list[str] = []
    for text in texts:
        if not text:
            continue
        tokens = _SEARCH_TOKEN.findall(fold(text))
        part = " " + "".join(t + " " for t in tokens) if tokens else ""
        if part and part not in parts:
            parts.append(part)
    return "\n".join(parts)


_VN_MARKED = frozenset(
    c for c in (chr(cp) for cp in range(0x00C0, 0x1F00))
    if c.isalpha() and strip_marks(c) != c and strip_marks(c).lower() in "aeiouyd"
) | frozenset("đĐ")


def has_vietnamese_marks(word: str) -> bool:
    """True when the word contains a Vietnamese marked letter (á, ơ, đ, ...)."""
    return not word.isascii() and any(c in _VN_MARKED for c in word)


_VN_LOWER_LETTERS = frozenset("abcdđeghiklmnopqrstuvxyăâêôơư")


@lru_cache(maxsize=100_000)
def is_vietnamese_syllable(word: str) -> bool:
    """True when ``word`` has the shape of one Vietnamese syllable (marks optional)."""
    base, tone = split_tone(word.lower())
    if tone == "?" or not base or not all(c in _VN_LOWER_LETTERS for c in base):
        return False
    return _tone_index(base) >= 0
