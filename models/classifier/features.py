"""Text features for the comment classifier, robust to missing diacritics and teencode.

A text is split into *source tokens* with character offsets into the text as given
(words, URLs, e-mail addresses, phone numbers, other numbers). Each word token is
normalized (``models.normalize.normalize``), lower-cased and teencode-expanded
(``models.teencode``; "ko" → "không", "dm" → "đụ má"). Features:

* ``w:`` word 1–2-grams on the expanded normal form (marks kept);
* ``s:`` word unigrams on the accent-stripped expanded form ("khong", "du ma");
* ``c:`` character 2–5-grams on the accent-stripped, *unexpanded* token, padded
  with spaces like scikit-learn's ``char_wb`` (so "đm", "dm", "đờ mờ" variants and
  mis-typed words still share features), plus ``x:`` char 3–5-grams spanning the
  space between two adjacent words ("vay tien" → "y t", "ay ti", ...);
* placeholders for URLs (``<url>``), e-mails (``<email>``), phone numbers
  (``<phone>``, also "09xx" style) and other numbers (``<num>``).

Every feature remembers which source tokens produced it, so a linear model's
contributions can be mapped back to character spans of the input (``explain``).
Weights: sub-linear TF × IDF, L2-normalized separately per block (word / char),
the char block scaled by ``char_weight``.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy import sparse

from models.normalize import has_vietnamese_marks, normalize, strip_marks
from models.teencode import load_teencode

__all__ = ["SourceToken", "source_tokens", "Featurizer"]

_ZW = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_MARKS = "\u0300-\u036f"
_URL = (
    r"(?:https?://|www\.)[^\s<>\"'“”]*[^\s<>\"'“”.,;:!?)\]]"
    r"|(?<![\w@.])[a-zA-Z0-9][a-zA-Z0-9-]*(?:\.[a-zA-Z0-9-]+)*\."
    r"(?:com|net|org|vn|info|biz|io|co|me|tv|xyz|online|site|top|club|vip|bet|link|ly|gl|cc)"
    r"(?:\.vn)?(?![\w])(?:/[^\s<>\"'“”]*[^\s<>\"'“”.,;:!?)\]])?"
)
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
# 0912 345 678, 0912.345.678, +84 912345678, 09xx, 098x.xxx.xxx, 1900 1234
_PHONE = (
    r"(?<![\w.])(?:\+?84[\s.-]?|0)\d{2,3}(?:[\s.-]?\d{3}){2}\d?(?![\w])"
    r"|(?<![\w.])(?:0|\+84)\d{1,3}[xX*]{1,3}(?:[\s.-]?[\dxX*]{3}){0,2}(?![\w])"
    r"|(?<![\w.])1[89]00[\s.-]?\d{4}(?:\d{2})?(?![\w])"
)
_NUMBER = r"\d+(?:[.,]\d+)*(?:%|k|tr|đ|m)?(?![^\W\d_])"
_WORD = rf"[^\W\d_][\w{_MARKS}{_ZW}]*|[\d][\w{_MARKS}{_ZW}]*[^\W\d_][\w{_MARKS}{_ZW}]*"
_TOKEN = re.compile(
    rf"(?P<url>{_URL})|(?P<email>{_EMAIL})|(?P<phone>{_PHONE})|(?P<number>{_NUMBER})"
    rf"|(?P<word>{_WORD})",
    re.UNICODE,
)
_MISSING = object()
# per-process cache of the cross-word char n-gram columns of two adjacent words, keyed
# by the "window" (end of the first word + space + start of the next, accent-stripped):
# far fewer distinct keys than word pairs (~128,000 in the 45,000 train comments)
_MAX_WINDOWS = 250_000
_MAX_PAIRS = 250_000   # adjacent raw tokens → all their shared columns (a repeat is one look-up)
_PLACEHOLDER = {"url": "<url>", "email": "<email>", "phone": "<phone>", "number": "<num>"}


class SourceToken(NamedTuple):
    """One token of the input text and the normalized words it stands for."""

    start: int
    end: int
    kind: str                 # word | url | email | phone | number
    words: tuple[str, ...]    # expanded, normalized, lower-case ("không",) / ("<url>",)
    stripped: str             # accent-stripped lower-case form used for char n-grams


_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF]")


def meta_features(text: str, n_tokens: int, n_words: int, n_plain: int,
                  n_upper: int) -> list[str]:
    """Whole-comment shape features: length, share of words typed without marks or in
    capitals, exclamation marks, line breaks, emoji (bucketed)."""
    text = _nfc(text)
    out = [f"m:tok{min(int(n_tokens + 1).bit_length() - 1, 8)}",
           f"m:chr{min(int(len(text) + 1).bit_length() - 1, 11)}",
           f"m:excl{min(text.count('!'), 3)}", f"m:nl{min(text.count(chr(10)), 3)}",
           f"m:emo{min(len(_EMOJI.findall(text)), 3)}"]
    if n_words:
        out.append(f"m:plain{4 * n_plain // n_words}")
        out.append(f"m:upper{4 * n_upper // n_words}")
    return out


def _nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


@lru_cache(maxsize=200_000)
def _shape(raw: str) -> tuple[int, int]:
    """(typed without Vietnamese marks, all capitals) flags of one raw word."""
    raw = _nfc(raw)
    return int(not has_vietnamese_marks(raw)), int(len(raw) > 1 and raw.isupper())


@lru_cache(maxsize=200_000)
def _word_forms(raw: str) -> tuple[tuple[str, ...], str]:
    norm = normalize(raw).lower()
    exp = load_teencode().get(norm)
    words = tuple(exp.lower().split()) if exp else (norm,)
    return words, strip_marks(norm)


def source_tokens(text: str) -> list[SourceToken]:
    """Tokens of ``text`` with offsets into ``text`` itself (not its normal form)."""
    out: list[SourceToken] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "word"
        if kind == "word":
            words, stripped = _word_forms(m.group())
            if not stripped:
                continue
        else:
            ph = _PLACEHOLDER[kind]
            words, stripped = (ph,), ""
        out.append(SourceToken(m.start(), m.end(), kind, words, stripped))
    return out


@lru_cache(maxsize=20_000)
def _char_grams(stripped: str, lo: int, hi: int) -> tuple[str, ...]:
    padded = f" {stripped} "
    n_chars = len(padded)
    grams = []
    for n in range(lo, hi + 1):
        if n > n_chars:
            break
        grams.extend("c:" + padded[i:i + n] for i in range(n_chars - n + 1))
    return tuple(grams)


@lru_cache(maxsize=20_000)
def _cross_grams(a: str, b: str, lo: int, hi: int) -> tuple[str, ...]:
    """Char n-grams spanning the space between two adjacent words (≥ 1 char each side)."""
    s = f"{a} {b}"
    k = len(a)
    grams = []
    for n in range(max(lo, 3), hi + 1):
        first, last = max(0, k + 2 - n), min(k - 1, len(s) - n)
        grams.extend("x:" + s[i:i + n] for i in range(first, last + 1))
    return tuple(grams)


def analyze(tokens: Sequence[SourceToken], char_range: tuple[int, int] = (2, 5),
            stripped_words: bool = True, cross_chars: bool = True
            ) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """(word features, char features), each with its first and last source-token index."""
    seq: list[tuple[str, int]] = [(w, i) for i, t in enumerate(tokens) for w in t.words]
    wf: list[tuple[str, int, int]] = []
    for j, (w, i) in enumerate(seq):
        wf.append(("w:" + w, i, i))
        if stripped_words and w[0] != "<":
            wf.append(("s:" + strip_marks(w), i, i))
        if j:
            pw, pi = seq[j - 1]
            wf.append((f"w:{pw} {w}", pi, i))
    lo, hi = char_range
    cf: list[tuple[str, int, int]] = []
    for i, t in enumerate(tokens):
        if not t.stripped:
            continue
        cf.extend((g, i, i) for g in _char_grams(t.stripped, lo, hi))
        if cross_chars and i and tokens[i - 1].stripped:
            cf.extend((g, i - 1, i) for g in _cross_grams(tokens[i - 1].stripped, t.stripped,
                                                           lo, hi))
    return wf, cf


class Featurizer:
    """Word + char n-gram TF-IDF with a fixed vocabulary (fit once, then transform)."""

    def __init__(self, char_range: tuple[int, int] = (2, 5), min_df: int = 2,
                 max_word_features: int = 200_000, max_char_features: int = 200_000,
                 char_weight: float = 1.0, stripped_words: bool = True,
                 cross_chars: bool = True, meta: bool = True) -> None:
        self.char_range = (int(char_range[0]), int(char_range[1]))
        self.min_df = min_df
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.char_weight = char_weight
        self.stripped_words = stripped_words
        self.cross_chars = cross_chars
        self.meta = meta
        self.vocab: dict[str, int] = {}
        self.n_word = 0
        self.idf = np.zeros(0, dtype=np.float32)

    # -- persistence ---------------------------------------------------------------
    def params(self) -> dict:
        return {"char_range": list(self.char_range), "min_df": self.min_df,
                "max_word_features": self.max_word_features,
                "max_char_features": self.max_char_features,
                "char_weight": self.char_weight, "stripped_words": self.stripped_words,
                "cross_chars": self.cross_chars, "meta": self.meta}

    @classmethod
    def from_state(cls, params: dict, features: list[str], n_word: int,
                   idf: np.ndarray) -> Featurizer:
        f = cls(**{**params, "char_range": tuple(params["char_range"])})
        f.vocab = {name: i for i, name in enumerate(features)}
        f.n_word = int(n_word)
        f.idf = np.asarray(idf, dtype=np.float32)
        return f

    @property
    def feature_names(self) -> list[str]:
        names = [""] * len(self.vocab)
        for k, i in self.vocab.items():
            names[i] = k
        return names

    # -- fitting -------------------------------------------------------------------
    def _doc_features(self, text: str) -> tuple[list[str], list[str]]:
        tokens = source_tokens(text)
        wf, cf = analyze(tokens, self.char_range, self.stripped_words, self.cross_chars)
        words = [f for f, _, _ in wf]
        if self.meta:
            words.extend(self._meta_of(text, tokens))
        return words, [f for f, _, _ in cf]

    @staticmethod
    def _meta_of(text: str, tokens: Sequence[SourceToken]) -> list[str]:
        shapes = [_shape(text[t.start:t.end]) for t in tokens if t.kind == "word"]
        return meta_features(text, len(tokens), len(shapes), sum(a for a, _ in shapes),
                             sum(b for _, b in shapes))

    def fit(self, texts: Iterable[str]) -> Featurizer:
        wdf: dict[str, int] = {}
        cdf: dict[str, int] = {}
        n_docs = 0
        for text in texts:
            n_docs += 1
            w, c = self._doc_features(text)
            for f in set(w):
                wdf[f] = wdf.get(f, 0) + 1
            for f in set(c):
                cdf[f] = cdf.get(f, 0) + 1

        def top(df: dict[str, int], k: int) -> list[tuple[str, int]]:
            items = [(f, d) for f, d in df.items() if d >= self.min_df]
            items.sort(key=lambda x: (-x[1], x[0]))
            return items[:k]

        words = top(wdf, self.max_word_features)
        chars = top(cdf, self.max_char_features)
        names = [f for f, _ in words] + [f for f, _ in chars]
        dfs = np.array([d for _, d in words] + [d for _, d in chars], dtype=np.float64)
        self.vocab = {name: i for i, name in enumerate(names)}
        self.n_word = len(words)
        self.idf = (np.log((1 + n_docs) / (1 + dfs)) + 1).astype(np.float32)
        return self

    # -- transform -----------------------------------------------------------------
    def _token_entry(self, kind: str, key: str) -> tuple | None:
        """(words, stripped, columns of the features inside this one token), or None
        for a token without letters; cached by ``key`` (the raw word, or "\0" + kind)."""
        shape = (0, 0)
        if kind == "word":
            words, stripped = _word_forms(key)
            shape = _shape(key)
            if not stripped:
                entry = None
        else:
            words, stripped = (_PLACEHOLDER[kind],), ""
        if kind != "word" or stripped:
            tok = SourceToken(0, len(key), kind, words, stripped)
            wf, cf = analyze([tok], self.char_range, self.stripped_words, False)
            vocab = self.vocab
            cols = array("i", [vocab[f] for f in [f for f, _, _ in wf] + [f for f, _, _ in cf]
                               if f in vocab])
            # a cross-word gram (≤ char_range[1] chars, ≥ 1 each side of the space) sees
            # at most the last / first ``span`` characters of each word
            span = max(self.char_range[1] - 2, 0)
            entry = (words, stripped, cols, kind == "word", shape[0], shape[1],
                     (stripped[-span:] + " ") if span else " ", stripped[:span],
                     "w:" + words[-1] + " ", words[0])
        if len(self._cache) > 200_000:
            self._cache.clear()
        self._cache[key] = entry
        return entry

    def _meta_cols(self, text: str, n_tok: int, n_word: int, n_plain: int,
                   n_upper: int) -> array:
        text = _nfc(text)
        key = (min(n_tok, 300), len(text) if len(text) < 4096 else 4096, text.count("!"),
               text.count("\n"), len(_EMOJI.findall(text)), n_word, n_plain, n_upper)
        cols = self._metas.get(key)
        if cols is None:
            vocab = self.vocab
            cols = array("i", [vocab[f] for f in
                               meta_features(text, n_tok, n_word, n_plain, n_upper)
                               if f in vocab])
            if len(self._metas) > 200_000:
                self._metas.clear()
            self._metas[key] = cols
        return cols

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF matrix (rows = texts), the same features as ``analyze`` gives."""
        if getattr(self, "_cache_vocab", None) is not self.vocab:
            self._cache: dict[str, tuple | None] = {}
            self._metas: dict[tuple, array] = {}
            self._windows: dict[str, array] = {}
            self._pairs: dict[str, array] = {}
            self._cache_vocab = self.vocab
        cache_get = self._cache.get
        windows = self._windows
        pairs = self._pairs
        pairs_get = pairs.get
        windows_get = windows.get
        vocab_get = self.vocab.get
        new_entry = self._token_entry
        missing = _MISSING
        indptr = array("q", [0])
        indices = array("i")
        extend = indices.extend
        findall = _TOKEN.findall
        meta = self.meta
        meta_cols = self._meta_cols
        cross = self.cross_chars and self.char_range[1] >= 3
        lo, hi = self.char_range
        for text in texts:
            prev = prev_key = None
            n_tok = n_word = n_plain = n_upper = 0
            for url, email, phone, _number, word in findall(text):
                key = word or ("\0url" if url else "\0email" if email else
                               "\0phone" if phone else "\0number")
                e = cache_get(key, missing)
                if e is missing:
                    e = new_entry("word" if word else key[1:], key)
                if e is None:
                    continue
                extend(e[2])
                n_tok += 1
                if e[3]:
                    n_word += 1
                    n_plain += e[4]
                    n_upper += e[5]
                if prev is not None:
                    pk = prev_key + "\1" + key
                    pc = pairs_get(pk)
                    if pc is None:
                        jb = vocab_get(prev[8] + e[9])         # word bigram across tokens
                        if cross and prev[1] and e[1]:         # cross-word char grams
                            wk = prev[6] + e[7]
                            wc = windows_get(wk)
                            if wc is None:
                                wc = array("i", [
                                    j for g in _cross_grams(prev[6][:-1], e[7], lo, hi)
                                    if (j := vocab_get(g)) is not None])
                                if len(windows) >= _MAX_WINDOWS:
                                    windows.clear()
                                windows[wk] = wc
                            pc = wc if jb is None else array("i", [jb]) + wc
                        else:
                            pc = array("i") if jb is None else array("i", [jb])
                        if len(pairs) >= _MAX_PAIRS:
                            pairs.clear()
                        pairs[pk] = pc
                    extend(pc)
                prev, prev_key = e, key
            if meta:
                extend(meta_cols(text, n_tok, n_word, n_plain, n_upper))
            indptr.append(len(indices))
        X = sparse.csr_matrix(
            (np.ones(len(indices), dtype=np.float32), np.frombuffer(indices, dtype=np.int32),
             np.frombuffer(indptr, dtype=np.int64)), shape=(len(texts), len(self.vocab)))
        X.sum_duplicates()
        if X.nnz:
            np.log(X.data, out=X.data)
            X.data += 1.0
            X.data *= self.idf[X.indices]
            self._normalize_blocks(X, (X.indices >= self.n_word).astype(np.int8))
        return X

    def _normalize_blocks(self, X: sparse.csr_matrix, block: np.ndarray) -> None:
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        sq = X.data.astype(np.float64) ** 2
        n = X.shape[0]
        wn = np.sqrt(np.bincount(rows[block == 0], sq[block == 0], minlength=n))
        cn = np.sqrt(np.bincount(rows[block == 1], sq[block == 1], minlength=n))
        wn[wn == 0] = 1.0
        cn[cn == 0] = 1.0
        scale = np.where(block == 0, 1.0 / wn[rows], self.char_weight / cn[rows])
        X.data *= scale.astype(np.float32)

    def transform_with_spans(
            self, text: str) -> tuple[list[SourceToken], list[tuple[int, float, int, int]]]:
        """Tokens and, per feature occurrence, (column, weight, first token, last token).

        The weights of one feature's occurrences add up to its value in ``transform``.
        """
        tokens = source_tokens(text)
        wf, cf = analyze(tokens, self.char_range, self.stripped_words, self.cross_chars)
        X = self.transform([text])
        value = dict(zip(X.indices.tolist(), X.data.tolist(), strict=True))
        occ: dict[int, list[tuple[int, int]]] = {}
        for f, a, b in wf:
            j = self.vocab.get(f)
            if j is not None:
                occ.setdefault(j, []).append((a, b))
        for f, a, b in cf:
            j = self.vocab.get(f)
            if j is not None:
                occ.setdefault(j, []).append((a, b))
        out = []
        for j, spans in occ.items():
            v = value.get(j, 0.0) / len(spans)
            out.extend((j, v, a, b) for a, b in spans)
        return tokens, out
