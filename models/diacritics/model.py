"""The diacritics restoration model: data structure, artifact I/O and decoder.

Model ("stripped-context decision list with back-off"):

* every lower-case syllable seen in the corpus is reduced to its *key*
  (``strip_marks``); each key has a candidate list of marked forms, most
  frequent first, with their counts (unigram level);
* for an ambiguous syllable, contexts made of the *keys* of its neighbours are
  looked up, most specific first: ``(-2..+2)``, ``(-2..+1)`` / ``(-1..+2)``,
  ``(-1..+1)``, ``(-1, 0)`` / ``(0, +1)``; a hit gives the marked form seen
  most often in that context. Contexts are stored only when they change the
  answer of the less specific levels (exact back-off pruning at build time),
  which keeps the artifact small;
* candidates inconsistent with marks the writer did type are skipped (the hit
  falls through to the next level, finally to the most frequent consistent
  candidate).

Context keys are 64-bit hashes of the neighbour key ids; tables are sorted
``uint64`` arrays searched with ``numpy.searchsorted`` for a whole text at once.
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
# (name, offsets) from the least to the most specific; siblings share a rank
LEVELS: list[tuple[str, tuple[int, ...], int]] = [
    ("l2l", (-1, 0), 2),
    ("l2r", (0, 1), 2),
    ("l3", (-1, 0, 1), 3),
    ("l4l", (-2, -1, 0, 1), 4),
    ("l4r", (-1, 0, 1, 2), 4),
    ("l5", (-2, -1, 0, 1, 2), 5),
]
PAD = 2
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
    h = np.full(n, np.uint64(salt) * _M1, dtype=np.uint64)
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


@dataclass
class Table:
    keys: np.ndarray  # sorted uint64
    best: np.ndarray  # uint8 candidate index
    conf: np.ndarray  # uint8, share of best form in that context * 255

    def lookup(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if len(self.keys) == 0:
            z = np.zeros(len(h), dtype=bool)
            return z, np.zeros(len(h), np.int16), np.zeros(len(h), np.uint8)
        idx = np.searchsorted(self.keys, h)
        idx[idx >= len(self.keys)] = 0
        hit = self.keys[idx] == h
        return hit, self.best[idx].astype(np.int16), self.conf[idx]


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
    if pattern.isupper() and len(pattern) > 1:
        return word.upper()
    return "".join(w.upper() if p.isupper() else w for p, w in zip(pattern, word, strict=False))


class Model:
    """Loaded restoration model (immutable, thread-safe for reading)."""

    def __init__(self, keys: list[str], cands: list[list[str]], counts: list[list[int]],
                 tables: dict[str, Table], meta: dict):
        self.keys = keys
        self.key_id = {k: i for i, k in enumerate(keys)}
        self.cands = cands
        self.counts = counts
        self.tables = tables
        self.meta = meta

    # -- artifact -----------------------------------------------------------
    def save(self, path: str) -> None:
        lines = []
        for k, cs, ns in zip(self.keys[2:], self.cands[2:], self.counts[2:], strict=True):
            lines.append(k + "\t" + " ".join(f"{c}:{n}" for c, n in zip(cs, ns, strict=True)))
        vocab = gzip.compress("\n".join(lines).encode("utf-8"), 9)
        arrays = {"vocab": np.frombuffer(vocab, dtype=np.uint8),
                  "meta": np.frombuffer(json.dumps(self.meta).encode(), dtype=np.uint8)}
        for name, t in self.tables.items():
            arrays[f"{name}_keys"] = t.keys
            arrays[f"{name}_best"] = t.best
            arrays[f"{name}_conf"] = t.conf
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path_or_file) -> Model:
        with np.load(path_or_file) as z:
            vocab = gzip.decompress(z["vocab"].tobytes()).decode("utf-8")
            meta = json.loads(z["meta"].tobytes().decode())
            tables = {}
            for name, _offs, _r in LEVELS:
                if f"{name}_keys" in z:
                    tables[name] = Table(z[f"{name}_keys"], z[f"{name}_best"], z[f"{name}_conf"])
        keys = ["", ""]
        cands: list[list[str]] = [[], []]
        counts: list[list[int]] = [[], []]
        for line in vocab.split("\n"):
            k, _, rest = line.partition("\t")
            cs, ns = [], []
            for item in rest.split(" "):
                c, _, n = item.rpartition(":")
                cs.append(c)
                ns.append(int(n))
            keys.append(k)
            cands.append(cs)
            counts.append(ns)
        return cls(keys, cands, counts, tables, meta)

    # -- decoding -------------------------------------------------------------
    def key_ids(self, syllables: list[str]) -> np.ndarray:
        """Padded key-id array for lower-case stripped syllables ('' = boundary)."""
        get = self.key_id.get
        ids = [BOUNDARY if s == "" else get(s, UNK) for s in syllables]
        return np.array([BOUNDARY] * PAD + ids + [BOUNDARY] * PAD, dtype=np.int64)

    def predict(self, padded: np.ndarray, n: int) -> list[np.ndarray]:
        """Per level (LEVELS order): (hit, best, conf) arrays for positions 0..n-1."""
        out = []
        for salt, (name, offs, _rank) in enumerate(LEVELS):
            t = self.tables.get(name)
            if t is None:
                out.append(None)
                continue
            out.append(t.lookup(context_hash(padded, offs, n, salt + 1)))
        return out

    def decide(self, levels: list, pos_typed: list[tuple[int, int, str]]) -> dict[int, tuple[int, float]]:
        """Choose a candidate index for each (position, key id, typed lower-case form).

        Returns {position: (candidate index or -1, confidence 0..1)}.
        """
        res: dict[int, tuple[int, float]] = {}
        # ranks from most to least specific
        order = [[5], [3, 4], [2], [0, 1]]
        for pos, kid, typed in pos_typed:
            cands = self.cands[kid]
            free = typed.isascii()
            chosen = -1
            conf = 0.0
            for group in order:
                best_here = None
                for li in group:
                    lv = levels[li]
                    if lv is None or not lv[0][pos]:
                        continue
                    b = int(lv[1][pos])
                    if b >= len(cands):
                        continue
                    if not free and not compatible(typed, cands[b]):
                        continue
                    c = lv[2][pos] / 255.0
                    if best_here is None or c > best_here[1]:
                        best_here = (b, c)
                if best_here is not None:
                    chosen, conf = best_here
                    break
            if chosen < 0:
                ns = self.counts[kid]
                tot = sum(ns) or 1
                for i, c in enumerate(cands):
                    if free or compatible(typed, c):
                        chosen, conf = i, ns[i] / tot
                        break
            res[pos] = (chosen, conf)
        return res


def syllable_key(word: str) -> str:
    return strip_marks(word).lower()


def prepare_word(word: str) -> str:
    """NFC + tone placement convention for one word token."""
    return normalize_syllable(unicodedata.normalize("NFC", word))


def load_bytes(data: bytes) -> Model:
    return Model.load(io.BytesIO(data))
