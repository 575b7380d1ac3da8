"""Word-list matching that sees through the usual disguises.

Entries are *banned* (the site may auto-reject) or *suspect* (flag for a moderator). A
text and every entry are brought to the same canonical form: `normalize()` (NFC, one tone
placement), lower case, digit/symbol look-alikes read as letters inside words ("d!t",
"l0n"), separators inside a word dropped ("đ.m", "v-l"), and runs of spaced single
letters joined ("đ i t"). Multi-syllable entries match token sequences.

Marks matter: an entry written with marks ("lồn") matches only that marked word, and one
written without ("lon") matches only words typed without marks, so "lớn" (big) is never
"lon". An entry marked `accent_insensitive` matches whatever the marks.

Two readings of unmarked text: a word typed without marks is read both as typed and as the
diacritics restorer reads it in context (`Reading`). A hit on an *ambiguous* entry (written
without marks, made of Vietnamese syllables, so its letters are also ordinary words: "lon",
"cu", "ngu", "bo me") on words typed plainly without marks counts only when the likely
reading is the profane one: "lon xon" read "lộn xộn", "lon bia" read "lon bia" (a can;
the profane reading is the listed "lồn"), "cu tang" read "cứ tăng", "Ngu van" read "Ngữ
văn", "con di cho mua rau" read "con đi chợ" do not count; "cai lon" (the restorer
withholds "cái lồn"), "dit me" (withholds "địt mẹ"), "ngu nhu bo" (read "ngu") do. Never
dismissed: entries with a word that is no Vietnamese syllable ("dm", "vcl", "ditme"),
entries written without marks that ignore marks on request, and words typed in disguise
("đ.m", "l0n", "đ i t").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from models.normalize import is_vietnamese_syllable, normalize, strip_marks

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
    # Typed as ordinary words without marks: no look-alike digits, separators or spaced
    # letters (the only hits the likely reading may dismiss).
    plain: bool = False
    # Set on a dismissed hit: the likely reading of the words that made it.
    reading: str | None = None


@dataclass(frozen=True)
class Reading:
    """The likely reading of a text typed (partly) without marks: `text` has the same
    offsets as the text matched; `withheld` are the spans whose likely reading is a word
    the restorer never suggests (the banned list's marked entries: "cai lon" → "cái
    lồn"), left as typed in `text`."""

    text: str
    withheld: tuple[tuple[int, int], ...] = ()


def likely_reading(text: str) -> Reading | None:
    """The diacritics restorer's reading of `text` (normalized); None when its offsets would
    not line up with `text`."""
    from models.diacritics.restorer import render, restore_words  # the model: loaded once

    t, decisions = restore_words(text)
    reading = render(t, decisions)
    if t != text or len(reading) != len(text):
        return None
    return Reading(reading, tuple((d.token.start, d.token.end) for d in decisions
                                  if d.withheld))


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


@lru_cache(maxsize=1)
def _profane_forms() -> dict[str, frozenset[str]]:
    """Folded phrase → the marked phrases the restorer never suggests (never_suggested())."""
    from models.diacritics.restorer import never_suggested

    out: dict[str, set[str]] = {}
    for words in never_suggested():
        phrase = canonical_phrase(" ".join(words))
        out.setdefault(strip_marks(phrase), set()).add(phrase)
    return {k: frozenset(v) for k, v in out.items()}


class WordMatcher:
    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = list(entries)
        # Folded phrase → its profane readings: the marked entries (and never-suggested
        # phrases) with those letters. "lon" → {"lồn"}; "ngu" → {} (the word as typed is).
        self._profane: dict[str, set[str]] = {k: set(v) for k, v in _profane_forms().items()}
        self._ambiguous: dict[Entry, bool] = {}
        # first token → [(tokens, entry)], keyed exactly and (for insensitive entries) stripped
        self._exact: dict[str, list[tuple[tuple[str, ...], Entry]]] = {}
        self._loose: dict[str, list[tuple[tuple[str, ...], Entry]]] = {}
        for entry in self.entries:
            phrase = canonical_phrase(entry.phrase)
            words = tuple(phrase.split())
            if not words:
                continue
            if _has_marks(phrase):
                self._profane.setdefault(strip_marks(phrase), set()).add(phrase)
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
        # (A token joined from spaced letters, "đ i t", is not plain: its text has spaces.)
        plain = [text[t.start:t.end].lower() == t.form and stripped[i] == t.form
                 for i, t in enumerate(tokens)]
        for i, tok in enumerate(tokens):
            for words, entry in self._exact.get(tok.form, ()):
                n = len(words)
                if tuple(t.form for t in tokens[i:i + n]) == words:
                    found.append(Match(tok.start, tokens[i + n - 1].end,
                                       text[tok.start:tokens[i + n - 1].end], entry,
                                       all(plain[i:i + n])))
            for words, entry in self._loose.get(stripped[i], ()):
                n = len(words)
                if tuple(stripped[i:i + n]) == words:
                    found.append(Match(tok.start, tokens[i + n - 1].end,
                                       text[tok.start:tokens[i + n - 1].end], entry,
                                       all(plain[i:i + n])))
        return found

    def ambiguous(self, entry: Entry) -> bool:
        """Whether a plain unmarked hit on `entry` depends on the reading: its letters are
        also ordinary Vietnamese words (see the module docstring for the exceptions)."""
        known = self._ambiguous.get(entry)
        if known is None:
            phrase = canonical_phrase(entry.phrase)
            known = bool(phrase) and not (entry.accent_insensitive and not _has_marks(phrase)) \
                and all(is_vietnamese_syllable(strip_marks(w)) for w in phrase.split())
            self._ambiguous[entry] = known
        return known

    def _innocent(self, m: Match, reading: Reading) -> bool:
        """The likely reading of a plain, unmarked hit on an ambiguous entry is not the
        profane one."""
        if any(s < m.end and e > m.start for s, e in reading.withheld):
            return False  # the restorer reads a banned word there and would not say it
        read = canonical_phrase(reading.text[m.start:m.end])
        typed = canonical_phrase(m.text)
        profane = self._profane.get(strip_marks(typed), set())
        read_w, typed_w = read.split(), typed.split()
        changed = [i for i, (r, t) in enumerate(zip(read_w, typed_w, strict=False)) if r != t]
        for p in profane:
            p_w = p.split()
            if changed and len(p_w) == len(read_w) and all(read_w[i] == p_w[i] for i in changed):
                # Every word the restorer gave marks to has the profane phrase's marks (the
                # others left as typed): "vai lon" read "vãi lon" is "vãi lồn".
                return False
        if read == typed:
            # Read as typed: innocent when the profane word is a marked one ("lon" a can,
            # "lồn"), not when the letters as typed are the insult ("ngu", "cu").
            return bool(profane)
        return True  # another word with marks: "lộn xộn", "cứ", "Ngữ văn"

    def find_all(self, text: str, reading: Reading | Callable[[], Reading | None] | None = None
                 ) -> tuple[list[Match], list[Match]]:
        """(hits, dismissed) in `text` (offsets into `text`; pass the normalized text).
        Hits: longest first where they overlap, banned before suspect. Dismissed: plain
        unmarked hits on ambiguous entries whose likely reading (`reading`, or a function
        that makes it, called only when needed) is innocent, each with that reading."""
        tokens = _tokens(text)
        found = self._scan(text, tokens) + self._scan(text, _join_spaced_letters(tokens))
        dismissed: list[Match] = []
        if reading is not None:
            doubtful = [m for m in found if m.plain and self.ambiguous(m.entry)]
            if doubtful:
                read = reading() if callable(reading) else reading
                if read is not None and len(read.text) == len(text):
                    out = {id(m) for m in doubtful if self._innocent(m, read)}
                    seen: set[tuple[int, int, Entry]] = set()
                    for m in doubtful:
                        if id(m) in out and (m.start, m.end, m.entry) not in seen:
                            seen.add((m.start, m.end, m.entry))
                            dismissed.append(replace(m, reading=read.text[m.start:m.end]))
                    found = [m for m in found if id(m) not in out]
        found.sort(key=lambda m: (m.start, -(m.end - m.start), m.entry.kind != BANNED))
        kept: list[Match] = []
        for m in found:
            if kept and m.start < kept[-1].end:
                continue
            kept.append(m)
        dismissed = [m for m in dismissed if not any(k.start < m.end and m.start < k.end
                                                     for k in kept)]
        return kept, dismissed

    def find(self, text: str, reading: Reading | Callable[[], Reading | None] | None = None
             ) -> list[Match]:
        """The hits in `text` (see find_all); without `reading`, every hit as typed."""
        return self.find_all(text, reading)[0]


def _read(path: Path, kind: str) -> list[Entry]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Entry(line.strip(), kind, source="builtin") for line in lines
            if line.strip() and not line.startswith("#")]


@lru_cache(maxsize=1)
def builtin_entries() -> tuple[Entry, ...]:
    """The global seed lists shipped with vimod (see data/wordlists/README.md)."""
    return tuple(_read(DATA / "banned.txt", BANNED) + _read(DATA / "suspect.txt", SUSPECT))
