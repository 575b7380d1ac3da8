"""Diacritics restoration: ``restore(text) -> str``.

Only word tokens that are Vietnamese syllables known to the model are changed;
marks the writer typed are kept (only missing ones are filled in), letter case,
spacing, punctuation, URLs, e-mails, numbers, emoji and unknown words are kept
as written. Common English words next to other English/unknown words are kept
as written too.
"""

from __future__ import annotations

import os
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from models.diacritics.model import MAXC, MID, PAD, Model, apply_case, compatible, prepare_word
from models.normalize import is_vietnamese_syllable, strip_marks
from models.tokenize import Token, tokenize

__all__ = [
    "restore", "restore_many", "restore_words", "restore_words_many", "get_model", "ARTIFACT",
    "WordDecision", "english_words",
]

ARTIFACT = "vn_diacritics.npz"
# a syllable typed with marks that is itself a known form is kept unless the
# model gives it less than this probability in context ("Tùng" stays "Tùng")
KEEP_TYPED = 0.02
_lock = threading.Lock()
_model: Model | None = None


def _artifact_path() -> str:
    env = os.environ.get("VIMOD_DIACRITICS_MODEL")
    if env:
        return env
    return str(resources.files("models.diacritics").joinpath(ARTIFACT))


def get_model() -> Model:
    """The process-wide model, loaded once (lazily, thread-safe)."""
    global _model
    m = _model
    if m is None:
        with _lock:
            if _model is None:
                _model = Model.load(_artifact_path())
            m = _model
    return m


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    text = resources.files("models").joinpath("data/english_words.txt").read_text("utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


def _word_info(model: Model, word: str) -> tuple[str, str, str, int, bool, bool]:
    """(prepared word, lower case, key, key id, English-or-foreign, strong), cached."""
    cache = model.word_cache
    info = cache.get(word)
    if info is None:
        w = prepare_word(word)
        lw = w.lower()
        key = strip_marks(lw)
        kid = model.key_id.get(key, 1)
        asc = lw.isascii()
        is_eng = asc and lw in english_words()
        # unknown ASCII words, and non-syllables the corpus writes unmarked ("facebook")
        vn_shape = is_vietnamese_syllable(lw)
        foreign = asc and (kid < 2 or (not vn_shape and model.cands[kid][0] == lw))
        ef = is_eng or foreign
        info = (w, lw, key, kid, ef, ef and not vn_shape)
        if len(cache) < 500_000:
            cache[word] = info
    return info


def english_mask(ef: list[bool], strong: list[bool],
                 brk: list[bool] | None = None) -> list[bool]:
    """Which words to keep as English (``ef``: English-list or foreign word).

    Every such word when they make most of the text; otherwise only those in a
    run of such words (not crossing punctuation: ``brk[i]`` = punctuation before
    word i) that holds at least one word that cannot be a Vietnamese syllable
    ("the" in "see the link", not in "co the" nor in "Virginia, My").
    """
    n = len(ef)
    k = sum(ef)
    if k == 0:
        return ef
    if k >= 0.6 * n:
        return ef
    out = [False] * n
    i = 0
    while i < n:
        if not ef[i]:
            i += 1
            continue
        j = i + 1
        while j < n and ef[j] and not (brk and brk[j]):
            j += 1
        if any(strong[i:j]):
            for m in range(i, j):
                out[m] = True
        i = j
    return out


@dataclass(slots=True)
class WordDecision:
    token: Token
    typed: str  # as written (NFC, tone placement normalized)
    output: str  # restored form, case kept
    known: bool  # a syllable key known to the model
    english: bool  # kept as an English / foreign word
    confidence: float  # P(output | context)
    p_typed: float  # P(form as typed | context); 1.0 when nothing to decide
    # The likely reading is a word the restorer never suggests (never_suggested(): the
    # banned list's marked entries): it was left as typed. Word lists read this as "the
    # writer most likely meant the profane word" (models/wordlists.py).
    withheld: bool = False


def restore_words(text: str, model: Model | None = None) -> tuple[str, list[WordDecision]]:
    """NFC text and one decision per word token."""
    return restore_words_many([text], model)[0]


def restore_words_many(texts: list[str], model: Model | None = None
                       ) -> list[tuple[str, list[WordDecision]]]:
    """``restore_words`` for many texts at once (one numpy pass: faster)."""
    model = model or get_model()
    cands_all = model.cands
    seq: list[str] = []
    docs = []
    amb_pos: list[int] = []
    amb_words: list[tuple] = []
    amb_cap: list[bool] = []
    form_index = model.form_index
    for text in texts:
        t = unicodedata.normalize("NFC", text)
        words: list[tuple[Token, str, str, int]] = []
        wpos: list[int] = []
        efs: list[bool] = []
        strongs: list[bool] = []
        capmid: list[bool] = []
        brk: list[bool] = []
        prev_kind = prev_text = ""
        for tok in tokenize(t):
            if tok.kind == "word":
                w, lw, key, kid, ef, strong = _word_info(model, tok.text)
                wpos.append(len(seq))
                seq.append(key)
                words.append((tok, w, lw, kid))
                efs.append(ef)
                strongs.append(strong)
                if w[0].isupper():
                    capmid.append(not w.isupper() and (prev_kind == "word" or prev_text in MID))
                else:
                    capmid.append(False)
                brk.append(bool(prev_kind) and prev_kind != "word")
            elif seq and seq[-1] != "":
                seq.append("")
            prev_kind, prev_text = tok.kind, tok.text
        seq.extend(("", ""))  # texts never see each other's context
        keep = english_mask(efs, strongs, brk)
        rows = []
        for i, (_t, _w, _lw, kid) in enumerate(words):
            if kid >= 2 and not keep[i] and len(cands_all[kid]) > 1:
                rows.append(len(amb_pos))
                amb_pos.append(wpos[i])
                amb_cap.append(capmid[i])
                amb_words.append(words[i] + (len(amb_pos) - 1,))
            else:
                rows.append(-1)
        docs.append((t, words, keep, rows))
    probs = None
    best: list[int] = []
    p_best: list[float] = []
    p_typed_l: list[float] = []
    if amb_pos:
        padded = model.key_ids(seq)
        probs = model.distributions(padded, len(seq), np.array(amb_pos, dtype=np.int64))
        if any(amb_cap):  # capitalised inside a sentence: favour forms used as names
            cr = np.flatnonzero(amb_cap)
            x = probs[cr] * model.cap_ratio[padded[PAD + np.array(amb_pos)[cr]]]
            probs[cr] = x / np.maximum(x.sum(1, keepdims=True), 1e-300)
        ba = probs.argmax(1)
        ar = np.arange(len(ba))
        best = ba.tolist()
        p_best = probs[ar, ba].tolist()
        typed_idx = np.array([form_index.get(lw, MAXC) for _t, _w, lw, _k, _r in amb_words])
        p_typed_l = np.where(typed_idx < MAXC, probs[ar, np.minimum(typed_idx, MAXC - 1)],
                             0.0).tolist()
    results = []
    for t, words, keep, rows in docs:
        out: list[WordDecision] = []
        for i, (tok, w, lw, kid) in enumerate(words):
            if kid < 2 or keep[i]:
                out.append(WordDecision(tok, w, w, kid >= 2, keep[i], 1.0, 1.0))
                continue
            cands = cands_all[kid]
            r = rows[i]
            if r < 0:  # a single known form
                cand = cands[0]
                if len(cand) != len(lw) or not compatible(lw, cand):
                    cand = lw
                p_typed = 1.0 if cand == lw else 0.0
                out.append(WordDecision(tok, w, apply_case(w, cand), True, False, 1.0, p_typed))
                continue
            b = best[r]
            pb = p_best[r]
            if not lw.isascii() and b != form_index.get(lw, -1) and p_typed_l[r] >= KEEP_TYPED:
                b = form_index[lw]  # a marked, plausible form as typed: keep it
                pb = p_typed_l[r]
            elif not lw.isascii() and not compatible(lw, cands[b]):
                row = probs[r]
                b = -1
                for j in np.argsort(-row[:len(cands)]).tolist():
                    if compatible(lw, cands[j]):
                        b = j
                        pb = float(row[j])
                        break
            if b < 0:
                out.append(WordDecision(tok, w, w, True, False, 1.0, 1.0))
                continue
            out.append(WordDecision(tok, w, apply_case(w, cands[b]), True, False,
                                    pb, p_typed_l[r]))
        _never_introduce(t, out)
        results.append((t, out))
    return results


@lru_cache(maxsize=1)
def never_suggested() -> frozenset[tuple[str, ...]]:
    """Lower-case word sequences the restorer must not produce by adding marks: the banned
    word list's entries with Vietnamese marks, and models/diacritics/never_suggest.txt."""
    lines = resources.files("models.diacritics").joinpath("never_suggest.txt").read_text(
        "utf-8").splitlines()
    banned = resources.files("models").joinpath("data/wordlists/banned.txt").read_text(
        "utf-8").splitlines()
    lines += [b for b in banned if strip_marks(b) != b]
    out = set()
    for line in lines:
        line = unicodedata.normalize("NFC", line.split("#", 1)[0]).strip().lower()
        if line and strip_marks(line) != line:
            out.add(tuple(line.split()))
    return frozenset(out)


def _never_introduce(t: str, out: list[WordDecision]) -> None:
    """Undo added marks that would make a word or phrase of ``never_suggested()``: "mong
    tinh" (mong tỉnh, "hope the province") must not come back as the sexual term the news
    corpus taught the model. Only marks the writer did not type are undone."""
    phrases = never_suggested()
    longest = max(map(len, phrases), default=0)
    changed = True
    while changed:  # undoing one word can complete another phrase ("như lồn" → "như lon")
        changed = False
        for i in range(len(out)):
            for size in range(1, longest + 1):
                j = i + size
                if j > len(out) or (size > 1 and t[out[j - 2].token.end:out[j - 1].token.start]
                                    not in (" ", "\t")):
                    break
                span = out[i:j]
                if (tuple(d.output.lower() for d in span) in phrases
                        and any(d.output != d.typed for d in span)):
                    for k in range(i, j):
                        d = out[k]
                        if d.output != d.typed:
                            out[k] = WordDecision(d.token, d.typed, d.typed, d.known,
                                                  d.english, d.p_typed, d.p_typed, True)
                    changed = True


def render(t: str, decisions: list[WordDecision]) -> str:
    parts = []
    last = 0
    for d in decisions:
        if d.output != d.token.text:
            parts.append(t[last:d.token.start])
            parts.append(d.output)
            last = d.token.end
    parts.append(t[last:])
    return "".join(parts)


def restore(text: str) -> str:
    """The text with missing Vietnamese marks filled in (see module docstring)."""
    t, decisions = restore_words(text)
    return render(t, decisions)


def restore_many(texts: list[str]) -> list[str]:
    """``restore`` for a batch of texts (same results, less overhead per text)."""
    return [render(t, d) for t, d in restore_words_many(texts)]
