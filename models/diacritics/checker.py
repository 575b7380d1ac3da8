"""Diacritics check: is a comment written without the Vietnamese marks it needs?

``check(text)`` returns a :class:`DiacriticsReport`:

* ``unmarked``: the Vietnamese syllables written without marks they need (as
  typed); a syllable counts when the restorer, using the whole comment as
  context, prefers a marked form and gives the form as typed a probability
  below ``P_TYPED_MAX`` (``P_TYPED_MAX_MARKED`` when the comment has marked
  syllables: its writer types marks, so only clear omissions count). Valid
  unmarked syllables ("anh", "em", "cho") in their usual context do not count;
* ``ratio``: ``len(unmarked)`` over the Vietnamese syllables of the comment;
* ``verdict``:
  - ``not_vietnamese``: no Vietnamese syllable left after removing English /
    foreign words, or a text mostly made of English words;
  - ``too_short``: fewer than ``MIN_SYLLABLES`` Vietnamese syllables;
  - ``missing``: the comment has no marked syllable and some syllable needs a
    mark, or it has some but ``ratio >= MISSING_RATIO`` ("mostly");
  - ``ok`` otherwise.

Never counted: URLs, e-mails, numbers, emoji, punctuation, English/foreign
words, teencode abbreviations ("ko", "dc"), and capitalised words inside a
sentence (names) unless the whole comment is in capitals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from models.diacritics.restorer import WordDecision, render, restore_words_many
from models.normalize import has_vietnamese_marks, is_vietnamese_syllable, normalize
from models.teencode import load_teencode

__all__ = [
    "DiacriticsReport", "check", "MIN_SYLLABLES", "MISSING_RATIO", "P_TYPED_MAX",
    "P_TYPED_MAX_MARKED",
]

MIN_SYLLABLES = 3
MISSING_RATIO = 0.6
P_TYPED_MAX = 0.3  # in a comment with no marked syllable
P_TYPED_MAX_MARKED = 0.1  # in a comment whose writer does type marks
_SENTENCE_END = frozenset(".!?…\n")


@dataclass
class DiacriticsReport:
    verdict: str  # ok | missing | not_vietnamese | too_short
    ratio: float
    unmarked: list[str] = field(default_factory=list)
    suggestion: str | None = None
    vietnamese_syllables: int = 0
    marked_syllables: int = 0
    # The restorer's reading of the whole text (same offsets; None: nothing to restore) and
    # the spans whose likely reading it withheld as profane: what word lists consult
    # (models/wordlists.py); not part of to_dict(), the public API's answer.
    reading: str | None = None
    withheld: list[tuple[int, int]] = field(default_factory=list)

    def to_dict(self) -> dict:
        d: dict = {"verdict": self.verdict, "ratio": round(self.ratio, 4),
                   "unmarked": list(self.unmarked)}
        if self.verdict == "missing":
            d["suggestion"] = self.suggestion
        return d


def _is_name(d: WordDecision, text: str, prev_end: int | None, all_caps: bool) -> bool:
    w = d.token.text
    if all_caps or not w[0].isupper():
        return False
    if prev_end is None:
        return False  # first word of the comment
    between = text[prev_end:d.token.start]
    return not any(c in _SENTENCE_END for c in between)


def check(text: str) -> DiacriticsReport:
    """Judge whether ``text`` is Vietnamese written without diacritics."""
    return check_many([text])[0]


def check_many(texts: list[str]) -> list[DiacriticsReport]:
    """``check`` for many texts: one restoration pass over the batch (about 3× faster
    per text than one call each)."""
    restored = restore_words_many([normalize(text) for text in texts])
    reports = []
    for t, decisions in restored:
        report = _judge(t, decisions)
        reading = render(t, decisions)
        report.reading = reading if reading != t else None
        report.withheld = [(d.token.start, d.token.end) for d in decisions if d.withheld]
        reports.append(report)
    return reports


def _judge(t: str, decisions: list[WordDecision]) -> DiacriticsReport:
    teencode = load_teencode()
    n_letters = sum(len(d.token.text) for d in decisions)
    n_upper = sum(sum(map(str.isupper, d.token.text)) for d in decisions
                  if not d.token.text.islower())
    all_caps = n_letters > 0 and n_upper >= 0.8 * n_letters
    if decisions and not all_caps:  # "Title Case Every Word" style: capitals are no names
        caps = sum(d.token.text[0].isupper() for d in decisions)
        all_caps = len(decisions) >= 4 and caps >= 0.7 * len(decisions)
    any_marked = any(has_vietnamese_marks(d.token.text) for d in decisions)
    p_max = P_TYPED_MAX_MARKED if any_marked else P_TYPED_MAX
    n_vn = n_marked = n_foreign = 0
    unmarked: list[str] = []
    log_p = 0.0
    prev_end: int | None = None
    for d in decisions:
        w = d.token.text
        lw = d.typed.lower()
        name = _is_name(d, t, prev_end, all_caps)
        prev_end = d.token.end
        if has_vietnamese_marks(w):
            n_vn += 1
            n_marked += 1
            if d.output != d.typed and d.p_typed < p_max:
                unmarked.append(w)
            continue
        if d.english or not d.known or not is_vietnamese_syllable(lw):
            if not (w.isupper() or w[0].isupper()) and lw not in teencode:
                n_foreign += 1
            continue
        if name or lw in teencode:
            continue
        n_vn += 1
        if d.output != d.typed and d.p_typed < p_max:
            unmarked.append(w)
        log_p += math.log(max(d.p_typed, 1e-6))
    ratio = len(unmarked) / n_vn if n_vn else 0.0
    if n_vn == 0 or (n_marked == 0 and n_foreign >= max(2, n_vn)):
        verdict = "not_vietnamese" if n_foreign else "too_short"
        return DiacriticsReport(verdict, 0.0 if n_vn == 0 else ratio, [], None, n_vn, n_marked)
    if n_vn < MIN_SYLLABLES:
        return DiacriticsReport("too_short", ratio, unmarked, None, n_vn, n_marked)
    if n_marked == 0:
        missing = bool(unmarked) and (ratio >= 0.2 or log_p < math.log(0.01))
    else:
        missing = ratio >= MISSING_RATIO
    if not missing:
        return DiacriticsReport("ok", ratio, unmarked, None, n_vn, n_marked)
    return DiacriticsReport("missing", ratio, unmarked, render(t, decisions), n_vn, n_marked)
