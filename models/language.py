"""Which language is a comment written in? Enough to keep the Vietnamese classifier off
text it was never trained on ("Thanks for the update. Stay safe…" scored as spam).

``identify(text)`` returns a :class:`LanguageGuess` with ``language`` one of

* ``vi``: Vietnamese, including code-switching ("Bài này hay quá, thanks ad", "deadline dự
  án này là khi nào") and text typed without marks ("bai viet hay qua");
* ``en``: English;
* ``zh`` / ``ja`` / ``ko`` / ``th`` / ``ru`` (Cyrillic) / ``ar`` / ``hi``: other scripts.

Latin-script text that is neither Vietnamese nor recognisably English (keyboard mashing
"Bdjdjsdnjdej", which ViSpamReviews labels spam; the odd French comment) is left ``vi``: the
Vietnamese model has seen such junk, and a guess that is wrong there costs a spam score.

How: every word votes. A word with Vietnamese marks that has the shape of a Vietnamese
syllable (``models.normalize.is_vietnamese_syllable``), an unmarked word that has that shape
and is not an English word, and a teencode form ("ko", "dc") vote Vietnamese; a word from
``models/data/english_words.txt`` that cannot be a Vietnamese syllable ("thanks", "for",
"update") votes English; other Latin words that cannot be Vietnamese syllables ("Trump",
"iPhone", words missing from the list) vote half for "foreign"; words that are both
("a", "to", "me", "in", "the") do not vote, nor do capitalised unmarked syllables after the
first word (Vietnamese names in English text: "in Da Nang"). The comment is foreign when
the foreign votes reach ``MIN_FOREIGN`` and at least ``FOREIGN_SHARE`` of all votes: a few
English words in a Vietnamese comment leave it Vietnamese: uncertain text stays Vietnamese
(it is what the site publishes and the model is trained on). URLs, e-mail
addresses and numbers are not words here.

Why hand-written rather than a library: the question is narrow (Vietnamese or not), the
knowledge it needs — Vietnamese syllable shapes, teencode, common English words — is
already in ``models``; general identifiers either need a model download (fastText
``lid.176``, 126 MB / 917 kB compressed, not on PyPI) or weigh tens to hundreds of MB
(``lingua-language-detector``), and short unaccented Vietnamese is exactly where they are
weakest (it reads as Latin-script noise). This one costs a few microseconds per comment.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from models.normalize import has_vietnamese_marks, is_vietnamese_syllable, strip_marks
from models.teencode import load_teencode

__all__ = ["LanguageGuess", "identify", "FOREIGN_SHARE", "MIN_FOREIGN", "VIETNAMESE"]

VIETNAMESE = "vi"
FOREIGN_SHARE = 0.75  # share of the votes that must be foreign
MIN_FOREIGN = 2.0  # and at least this many foreign votes (two English words: "Very good")

_SKIP = re.compile(r"(?i)\b(?:https?://|www\.)\S+|\S+@\S+\.\w+|\b[\w.-]+\.(?:com|vn|net|org)\b\S*")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")

# Unicode script of a letter, by the start of its name, for non-Latin scripts.
_SCRIPTS = (("CJK", "zh"), ("HIRAGANA", "ja"), ("KATAKANA", "ja"), ("HANGUL", "ko"),
            ("THAI", "th"), ("CYRILLIC", "ru"), ("ARABIC", "ar"), ("DEVANAGARI", "hi"))


@dataclass(frozen=True)
class LanguageGuess:
    language: str  # "vi" | "en" | "zh" | "ja" | "ko" | "th" | "ru" | "ar" | "hi"
    vietnamese: float  # votes for Vietnamese
    foreign: float  # votes for the foreign language
    english: int  # different English words from the list

    @property
    def is_vietnamese(self) -> bool:
        return self.language == VIETNAMESE

    def to_dict(self) -> dict:
        return {"language": self.language, "vietnamese_votes": self.vietnamese,
                "foreign_votes": self.foreign, "english_words": self.english}


@lru_cache(maxsize=1)
def _english() -> frozenset[str]:
    text = resources.files("models").joinpath("data/english_words.txt").read_text("utf-8")
    return frozenset(w.strip().lower() for w in text.splitlines()
                     if w.strip() and not w.startswith("#"))


def _vote(word: str) -> tuple[str, float]:
    """("vi" | "en" | "foreign" | script code | "", weight) for one word."""
    lw = word.lower().replace("’", "'")
    if not lw.isascii():
        if has_vietnamese_marks(lw):
            return ("vi", 1.0) if is_vietnamese_syllable(lw) else ("foreign", 0.5)
        ch = next((c for c in lw if c.isalpha() and not c.isascii()), "")
        name = unicodedata.name(ch, "") if ch else ""
        for prefix, code in _SCRIPTS:
            if name.startswith(prefix):
                # One Han character is one word; a run of them is counted as its length.
                return code, float(len(lw)) if code in ("zh", "ja", "th") else 1.0
        if strip_marks(lw).isascii():  # Latin with other marks: "très", "über", "niño"
            return "foreign", 0.5
        return "", 0.0
    english = lw in _english() or (lw.endswith("'s") and lw[:-2] in _english())
    vn_shape = is_vietnamese_syllable(lw)
    if english:
        return ("", 0.0) if vn_shape else ("en", 1.0)
    if vn_shape or lw in load_teencode():
        return "vi", 1.0
    if "'" in lw:  # don't, it's, I'm: no Vietnamese word has an apostrophe
        return "en", 1.0
    return "foreign", 0.5


_CACHE: dict[str, tuple[str, float]] = {}
FAST_MARKED = 0.4
# The Vietnamese letters that carry a mark: 12 vowels × 6 tones and đ, less plain a e i o u y.
_VN_MARKED = {unicodedata.normalize("NFC", v + t) for v in "aăâeêioôơuưy"
              for t in ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")} | {"đ"}
_VN_MARKED_RE = re.compile("[" + "".join(sorted(
    {c for c in _VN_MARKED if not c.isascii()} | {c.upper() for c in _VN_MARKED
                                                  if not c.isascii()})) + "]")
# Greek, Cyrillic, Hebrew, Arabic, Indic, Thai, Hangul jamo, kana, CJK, Hangul syllables.
_OTHER_SCRIPT_RE = re.compile("[\u0370-\u052f\u0590-\u06ff\u0900-\u0e7f\u1100-\u11ff"
                              "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_LINK_HINTS = ("@", "://", "www.", ".com", ".vn", ".net", ".org")


def identify(text: str) -> LanguageGuess:
    """The language of ``text`` (normalized or not); see the module's docstring."""
    # Fast path, nine comments in ten: many Vietnamese marked letters (at least FAST_MARKED
    # per word) and no letter of another script; on the 59,384 comments of the public data
    # sets it never answers otherwise than counting the votes would. ``vietnamese`` then
    # counts the marked letters.
    words = text.count(" ") + 1
    if len(text) - len(text.encode("ascii", "ignore")) >= FAST_MARKED * words:
        marked = len(_VN_MARKED_RE.findall(text))
        if marked >= FAST_MARKED * words and not _OTHER_SCRIPT_RE.search(text):
            return LanguageGuess(VIETNAMESE, float(marked), 0.0, 0)
    return _count_votes(text)


def _count_votes(text: str) -> LanguageGuess:
    if any(h in text for h in _LINK_HINTS):  # the pattern only where it can match: speed
        text = _SKIP.sub(" ", text)
    vi = foreign = 0.0
    english: set[str] = set()
    scripts: dict[str, float] = {}
    cache = _CACHE
    for n, word in enumerate(_WORD.findall(text)):
        vote = cache.get(word)
        if vote is None:
            vote = _vote(word)
            if len(cache) < 200_000:
                cache[word] = vote
        kind, weight = vote
        if kind == "vi":
            if n and word[0].isupper() and word.isascii():
                continue  # a name inside the text ("in Da Nang", "Ho Chi Minh City"): no vote
            vi += weight
        elif kind == "en":
            english.add(word.lower())
            foreign += weight
        elif kind == "foreign":
            foreign += weight
        elif kind:
            scripts[kind] = scripts.get(kind, 0.0) + weight
            foreign += weight
    language = VIETNAMESE
    if foreign >= MIN_FOREIGN and foreign >= FOREIGN_SHARE * (foreign + vi):
        if scripts and max(scripts.values()) >= 0.5 * foreign:
            language = max(scripts, key=scripts.__getitem__)
        elif len(english) >= 2 and len(english) >= 0.4 * foreign:
            # Two different English words at least: "ok ok ok ok" is no English.
            language = "en"
    return LanguageGuess(language, round(vi, 2), round(foreign, 2), len(english))
