"""The diacritics restoration model: data structure, artifact I/O and decoder.

Model ("stripped-context classifier with interpolated back-off"):

* every lower-case syllable seen in the corpus is reduced to its *key*
  (``strip_marks``); each key has a candidate list of marked forms, most
  frequent first, with their counts (level 1, unigram);
* for an ambiguous syllable, the corpus counts of each candidate in contexts
  made of the *keys* of its neighbours are looked up: ``(-1, 0)``, ``(0, +1)``,
  ``(-2..0)`` and ``(0..+2)`` (each smoothed towards the unigram, combined as a
  product of experts), then ``(-1..+1)``, then ``(-2..+1)`` and ``(-1..+2)``
  (product of experts). Each level is a Dirichlet-smoothed estimate
  whose prior is the level below: P_k = (c_k + BETA * P_{k-1}) / (N_k + BETA);
* the most probable candidate consistent with the marks the writer typed wins.

Context keys are 64-bit hashes of the neighbour key ids; a table stores rows
(upper 32 bits of the hash, candidate index, log-quantized count) sorted by
fingerprint and is searched with ``numpy.searchsorted`` for a whole text at
once. Low-count rows of the widest contexts are pruned at build time.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from models.normalize import normalize_syllable, strip_marks

BOUNDARY = 0
UNK = 1
# (name, offsets); interpolation chain l1 -> (l2l*l2r*l3l*l3r) -> l3 -> (l4l*l4r)
LEVELS: list[tuple[str, tuple[int, ...]]] = [
    ("l2l", (-1, 0)),
    ("l2r", (0, 1)),
    ("l3l", (-2, -1, 0)),
    ("l3r", (0, 1, 2)),
    ("l3", (-1, 0, 1)),
    ("l4l", (-2, -1, 0, 1)),
    ("l4r", (-1, 0, 1, 2)),
]
PAD = 2
MAXC = 24  # candidate forms kept per syllable key
BETA = 2.0  # Dirichlet prior weight of the back-off distribution
MID = frozenset({",", ";"})  # a capitalised word after these (or a word) is inside a sentence
_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)


def context_hash(padded: np.ndarray, offsets: tuple[int, ...], n: int, salt: int) -> np.ndarray:
    """Hash of the key ids at ``offsets`` around positions 0..n-1 of ``padded``.

    ``padded`` holds the sequence with PAD boundary ids on both sides.
    """
    h = np.full(n, np.uint64((salt * 0x9E3779B97F4A7C15) % 2**64), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for off in offsets:
            x = padded[PAD + off: PAD + off + n].astype(np.uint64)
            h = (h ^ x) * _M1
            h ^= h >> _S30
            h *= _M2
        h ^= h >> _S27
        h *= _M3
        h ^= h >> _S31
    return h


def encode_count(c: np.ndarray) -> np.ndarray:
    """Counts -> uint8 (exact up to 16, then log scale)."""
    c = np.asarray(c, dtype=np.float64)
    q = np.where(c <= 16, c, 16 + np.round(np.log2(np.maximum(c, 1) / 16) * 16))
    return np.minimum(q, 255).astype(np.uint8)


_DECODE = np.array([float(q) if q <= 16 else 16 * 2 ** ((q - 16) / 16) for q in range(256)])


@dataclass
class Table:
    """Rows (candidate index, count) grouped by context fingerprint (CSR layout).

    ``fp`` holds the distinct fingerprints (upper 32 bits of the context hash),
    sorted; the rows of ``fp[i]`` are ``start[i]:start[i + 1]``.
    """

    fp: np.ndarray  # uint32, sorted, distinct
    start: np.ndarray  # int64, len(fp) + 1
    cand: np.ndarray  # uint8
    count: np.ndarray  # float64 decoded counts

    @classmethod
    def from_rows(cls, fp: np.ndarray, cand: np.ndarray, count: np.ndarray) -> Table:
        """From rows sorted by fingerprint."""
        new = np.ones(len(fp), dtype=bool)
        new[1:] = fp[1:] != fp[:-1]
        starts = np.flatnonzero(new)
        return cls(fp[starts], np.append(starts, len(fp)).astype(np.int64), cand, count)

    def counts_for(self, h: np.ndarray, n_cand: int) -> np.ndarray:
        """Matrix [len(h), n_cand] of counts of each candidate in each context."""
        out = np.zeros((len(h), n_cand))
        if len(self.fp) == 0 or len(h) == 0:
            return out
        f = (h >> np.uint64(32)).astype(np.uint32)
        order = np.argsort(f)  # sorted needles: a faster, cache-friendlier search
        i = np.empty(len(f), dtype=np.intp)
        i[order] = np.searchsorted(self.fp, f[order])
        i[i >= len(self.fp)] = 0
        hit = np.flatnonzero(self.fp[i] == f)
        if len(hit) == 0:
            return out
        lo = self.start[i[hit]]
        width = self.start[i[hit] + 1] - lo
        m = min(int(width.max()), MAXC)
        idx = lo[:, None] + np.arange(m)[None, :]
        ok = np.arange(m)[None, :] < width[:, None]
        idx = np.where(ok, idx, 0)
        c = self.cand[idx].astype(np.intp)
        ok &= c < n_cand
        rows = np.broadcast_to(hit[:, None], idx.shape)
        out[rows[ok], c[ok]] = self.count[idx[ok]]
        return out


_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)


@lru_cache(maxsize=100_000)
def _marks(ch: str) -> frozenset[str]:
    if ch in "đĐ":
        return frozenset({"đ"})
    return frozenset(c for c in unicodedata.normalize("NFD", ch) if unicodedata.combining(c))


@lru_cache(maxsize=200_000)
def compatible(typed: str, cand: str) -> bool:
    """True when ``cand`` carries every mark the writer typed in ``typed`` (lower case)."""
    if len(typed) != len(cand):
        return False
    for a, b in zip(typed, cand, strict=True):
        if a == b:
            continue
        ma = _marks(a)
        if ma and not ma <= _marks(b):
            return False
    return True


def apply_case(pattern: str, word: str) -> str:
    """``word`` with the letter case of ``pattern`` (same length)."""
    if pattern.islower():
        return word
    if pattern.isupper():
        return word.upper()
    if pattern[1:].islower():  # Title case
        return word[0].upper() + word[1:]
    return "".join(w.upper() if p.isupper() else w for p, w in zip(pattern, word, strict=False))


class Model:
    """Loaded restoration model (immutable, thread-safe for reading)."""

    def __init__(self, keys: list[str], cands: list[list[str]], counts: list[list[int]],
                 tables: dict[str, Table], meta: dict,
                 capcounts: list[list[int]] | None = None):
        self.keys = keys
        self.key_id = {k: i for i, k in enumerate(keys)}
        self.cands = cands
        self.counts = counts
        self.tables = tables
        self.meta = meta
        uni = np.zeros((len(keys), MAXC))
        for i, ns in enumerate(counts):
            if ns:
                uni[i, :len(ns)] = ns
        tot = uni.sum(1, keepdims=True)
        self.unigram = uni / np.maximum(tot, 1)
        # P(written capitalised inside a sentence | form), smoothed: names vs words
        self.capcounts = capcounts or [[0] * len(c) for c in cands]
        cap = np.zeros((len(keys), MAXC))
        for i, ns in enumerate(self.capcounts):
            if ns:
                cap[i, :len(ns)] = ns
        self.cap_ratio = (cap + 0.5) / (uni + 1.0)
        self.n_cands = np.array([len(c) for c in cands], dtype=np.int64)
        # marked form -> its index in its key's candidate list
        self.form_index = {c: j for cs in cands for j, c in enumerate(cs)}
        self.word_cache: dict[str, tuple] = {}  # filled by the restorer

    # -- artifact -----------------------------------------------------------
    def save(self, path: str) -> None:
        lines = []
        for k, cs, ns in zip(self.keys[2:], self.cands[2:], self.counts[2:], strict=True):
            caps = self.capcounts[len(lines) + 2]
            lines.append(k + "\t" + " ".join(
                f"{c}:{n}:{m}" for c, n, m in zip(cs, ns, caps, strict=True)))
        vocab = gzip.compress("\n".join(lines).encode("utf-8"), 9, mtime=0)
        arrays = {"vocab": np.frombuffer(vocab, dtype=np.uint8),
                  "meta": np.frombuffer(json.dumps(self.meta).encode(), dtype=np.uint8)}
        for name, t in self.tables.items():
            arrays[f"{name}_fpdelta"] = np.diff(t.fp.astype(np.int64), prepend=0).astype(np.uint32)
            arrays[f"{name}_width"] = np.diff(t.start).astype(np.uint8)
            arrays[f"{name}_cand"] = t.cand
            arrays[f"{name}_count"] = encode_count(t.count)
        with open(path, "wb") as f:
            np.savez_compressed(f, **arrays)

    @classmethod
    def load(cls, path_or_file) -> Model:
        with np.load(path_or_file) as z:
            vocab = gzip.decompress(z["vocab"].tobytes()).decode("utf-8")
            meta = json.loads(z["meta"].tobytes().decode())
            tables = {}
            for name, _offs in LEVELS:
                if f"{name}_fpdelta" in z:
                    fp = np.cumsum(z[f"{name}_fpdelta"].astype(np.uint64)).astype(np.uint32)
                    start = np.zeros(len(fp) + 1, dtype=np.int64)
                    np.cumsum(z[f"{name}_width"], out=start[1:])
                    tables[name] = Table(fp, start, z[f"{name}_cand"],
                                         _DECODE[z[f"{name}_count"]])
        keys = ["", ""]
        cands: list[list[str]] = [[], []]
        counts: list[list[int]] = [[], []]
        capcounts: list[list[int]] = [[], []]
        for line in vocab.split("\n"):
            k, _, rest = line.partition("\t")
            cs, ns, ms = [], [], []
            for item in rest.split(" "):
                parts = item.split(":")
                cs.append(parts[0])
                ns.append(int(parts[1]))
                ms.append(int(parts[2]) if len(parts) > 2 else 0)
            keys.append(k)
            cands.append(cs)
            counts.append(ns)
            capcounts.append(ms)
        return cls(keys, cands, counts, tables, meta, capcounts)

    # -- decoding -------------------------------------------------------------
    def key_ids(self, syllables: list[str]) -> np.ndarray:
        """Padded key-id array for lower-case stripped syllables ('' = boundary)."""
        get = self.key_id.get
        ids = [BOUNDARY if s == "" else get(s, UNK) for s in syllables]
        return np.array([BOUNDARY] * PAD + ids + [BOUNDARY] * PAD, dtype=np.int64)

    def distributions(self, padded: np.ndarray, n: int, pos: np.ndarray) -> np.ndarray:
        """P(candidate | stripped context) for positions ``pos`` (0-based, < n).

        Rows are indexed like ``self.cands[key]`` (padded to MAXC with zeros).
        """
        kids = padded[PAD + pos]
        p1 = self.unigram[kids]
        valid = p1 > 0
        k = MAXC
        cnt = {}
        for salt, (name, offs) in enumerate(LEVELS):
            t = self.tables.get(name)
            if t is None:
                continue
            h = context_hash(padded, offs, n, salt + 1)[pos]
            cnt[name] = t.counts_for(h, k)

        def interp(name: str, prior: np.ndarray) -> np.ndarray:
            c = cnt.get(name)
            if c is None:
                return prior
            c = c * valid
            return (c + BETA * prior) / (c.sum(1, keepdims=True) + BETA)

        def product(a: np.ndarray, b: np.ndarray, prior: np.ndarray) -> np.ndarray:
            x = np.where(valid, a * b / np.maximum(prior, 1e-12), 0.0)
            return x / np.maximum(x.sum(1, keepdims=True), 1e-300)

        p2 = product(product(interp("l2l", p1), interp("l2r", p1), p1),
                     product(interp("l3l", p1), interp("l3r", p1), p1), p1)
        p3 = interp("l3", p2)
        if "l4l" in cnt or "l4r" in cnt:
            return product(interp("l4l", p3), interp("l4r", p3), p3)
        return p3


def syllable_key(word: str) -> str:
    return strip_marks(word).lower()


def prepare_word(word: str) -> str:
    """NFC + tone placement convention for one word token."""
    return normalize_syllable(unicodedata.normalize("NFC", word))


def load_bytes(data: bytes) -> Model:
    return Model.load(io.BytesIO(data))
