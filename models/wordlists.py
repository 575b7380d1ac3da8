"""Word-list matching that sees through the usual disguises.

Entries are *banned* (the site may auto-reject) or *suspect* (flag for a moderator). A
text and every entry are brought to the same canonical form: `normalize()` (NFC, one tone
placement), lower case, digit/symbol look-alikes read as letters inside words ("d!t",
"l0n"), separators inside a word dropped ("đ.m", "v-l"), and runs of spaced single
letters joined ("đ i t"). Multi-syllable entries match token sequences.

Marks matter: an entry written with marks ("lồn") matches only that marked word, and one
written without ("lon") matches only words typed without marks, so "lớn" (big) is never
"lon". An entry marked `accent_insensitive` matches whatever the marks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from models.normalize import normalize, strip_marks

DATA = Path(__file__).resolve().parent / "data" / "wordlists"
BANNED, SUSPECT = "banned", "suspect"

_LEET = str.maketrans({"!": "i", "1": "i", "|": "i", "3": "e", "0": "o", "@": "a", "4": "a",
                       "$": "s", "5": "s", "7": "t", "8": "b"})
_CHUNK = re.compile(r"\S+")
_EDGE = re.compile(r"^[^\w@!$|]+|[^\w!]+$")
_INNER = re.compile(r"[.\-_*'`~^,+:;]+")


@dataclass(frozen=True)
class Entry:
    phrase: str
    kind: str = SUSPECT
    accent_insensitive: bool = False
    source: str = "site"


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    text: str
    entry: Entry


@dataclass(frozen=True)
class _Tok:
    form: str  # canonical
    start: int
    end: int


def canonical_word(word: str) -> str:
    lower = word.lower()
    w = lower.translate(_LEET) if any(c.isalpha() for c in lower) else lower
    w = _INNER.sub("", w)
    if w == lower:
        return w
    # A digit read as a letter or a dropped separator can leave punctuation at the edge
    # ("đm)_") or a syllable whose tone mark is not where normalize() puts it ("h0à" →
    # "hoà" → "hòa"): tidy both, so a text and an entry stored in this form always meet.
    return normalize(_EDGE.sub("", w))


def _tokens(text: str) -> list[_Tok]:
    out = []
    for m in _CHUNK.finditer(text):
        chunk = m.group()
        lead = _EDGE.match(chunk)
        s = m.start() + (lead.end() if lead and lead.start() == 0 and lead.end() else 0)
        trail = re.search(r"[^\w!]+$", chunk)
        e = m.end() - (len(trail.group()) if trail else 0)
        if s >= e:
            continue
        form = canonical_word(text[s:e])
        if form:
            out.append(_Tok(form, s, e))
    return out


def canonical_phrase(phrase: str) -> str:
    """An entry in the form the matcher compares, read by the same tokenizer as a comment:
    normalized, lower case, look-alikes read as letters, separators inside words and
    punctuation around them dropped, one space between words ("Đ.M" → "đm", "(đm)" → "đm").
    Two entries with the same canonical phrase match the same texts."""
    return " ".join(t.form for t in _tokens(normalize(phrase)))


def _join_spaced_letters(tokens: list[_Tok]) -> list[_Tok]:
    """"đ i t" → one token "đit" (only where at least two single letters stand in a row)."""
    out: list[_Tok] = []
    run: list[_Tok] = []

    def flush() -> None:
        if len(run) >= 2:
            out.append(_Tok("".join(t.form for t in run), run[0].start, run[-1].end))
        else:
            out.extend(run)
        run.clear()

    for tok in tokens:
        if len(tok.form) == 1 and tok.form.isalpha():
            run.append(tok)
        else:
            flush()
            out.append(tok)
    flush()
    return out


def _has_marks(form: str) -> bool:
    return strip_marks(form) != form


class WordMatcher:
    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = list(entries)
        # first token → [(tokens, entry)], keyed exactly and (for insensitive entries) stripped
        self._exact: dict[str, list[tuple[tuple[str, ...], Entry]]] = {}
        self._loose: dict[str, list[tuple[tuple[str, ...], Entry]]] = {}
        for entry in self.entries:
            words = tuple(canonical_phrase(entry.phrase).split())
            if not words:
                continue
            variants = {words, ("".join(words),)}  # "địt mẹ" also as "địtmẹ"
            for variant in variants:
                if entry.accent_insensitive:
                    key = tuple(strip_marks(w) for w in variant)
                    self._loose.setdefault(key[0], []).append((key, entry))
                else:
                    self._exact.setdefault(variant[0], []).append((variant, entry))

    def _scan(self, text: str, tokens: list[_Tok]) -> list[Match]:
        found = []
        stripped = [strip_marks(t.form) for t in tokens]
        for i, tok in enumerate(tokens):
            for words, entry in self._exact.get(tok.form, ()):
                n = len(words)
                if tuple(t.form for t in tokens[i:i + n]) == words:
                    found.append(Match(tok.start, tokens[i + n - 1].end,
                                       text[tok.start:tokens[i + n - 1].end], entry))
            for words, entry in self._loose.get(stripped[i], ()):
                n = len(words)
                if tuple(stripped[i:i + n]) == words:
                    found.append(Match(tok.start, tokens[i + n - 1].end,
                                       text[tok.start:tokens[i + n - 1].end], entry))
        return found

    def find(self, text: str) -> list[Match]:
        """Matches in `text` (offsets into `text`; pass the normalized text), longest first
        where they overlap, banned before suspect."""
        tokens = _tokens(text)
        found = self._scan(text, tokens) + self._scan(text, _join_spaced_letters(tokens))
        found.sort(key=lambda m: (m.start, -(m.end - m.start), m.entry.kind != BANNED))
        kept: list[Match] = []
        for m in found:
            if kept and m.start < kept[-1].end:
                continue
            kept.append(m)
        return kept


def _read(path: Path, kind: str) -> list[Entry]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Entry(line.strip(), kind, source="builtin") for line in lines
            if line.strip() and not line.startswith("#")]


@lru_cache(maxsize=1)
def builtin_entries() -> tuple[Entry, ...]:
    """The global seed lists shipped with vimod (see data/wordlists/README.md)."""
    return tuple(_read(DATA / "banned.txt", BANNED) + _read(DATA / "suspect.txt", SUSPECT))
