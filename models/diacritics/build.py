"""Build the restoration model from a correctly accented corpus.

    vimod diacritics build --corpus ../shared/data/corpus/vntc_news.txt.gz \
        --out models/diacritics/vn_diacritics.npz

The corpus is one paragraph per line, blank line between articles (gzip or
plain). Articles whose index ``i`` satisfies ``is_heldout(i)`` (every 50th
article, i % 50 == 7) are never used for building: they are the held-out
evaluation set of ``benchmarks/diacritics.py``.
"""

from __future__ import annotations

import csv
import gzip
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np

from models.diacritics.model import (
    BOUNDARY,
    LEVELS,
    MAXC,
    MID,
    PAD,
    UNK,
    Model,
    Table,
    context_hash,
)
from models.normalize import has_vietnamese_marks, normalize, strip_marks

DEFAULT_MIN_COUNTS = {"l2l": 1, "l2r": 1, "l3l": 2, "l3r": 2, "l3": 2, "l4l": 3, "l4r": 3}
HELDOUT_EVERY = 50
HELDOUT_REM = 7
_TOKEN = re.compile(r"[^\W\d_]+|[^\w\s]+|\d+", re.UNICODE)


def is_heldout(article_index: int) -> bool:
    return article_index % HELDOUT_EVERY == HELDOUT_REM


def iter_articles(path: str) -> Iterator[list[str]]:
    """Articles (lists of paragraphs) of the corpus, in order."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        art: list[str] = []
        for line in f:
            line = line.strip()
            if not line:
                if art:
                    yield art
                    art = []
                continue
            art.append(line)
        if art:
            yield art


def paragraph_syllables(text: str, caps: Counter | None = None) -> list[str]:
    """Lower-case normalized tokens; every non-word token becomes '' (boundary).

    With ``caps``, counts the words written capitalised inside a sentence
    (after a word or a comma: names) under their lower-case form.
    """
    out: list[str] = []
    prev = ""
    for tok in _TOKEN.findall(normalize(text)):
        if tok[0].isalpha():
            low = tok.lower()
            if caps is not None and tok[0].isupper() and (prev[:1].isalpha() or prev in MID):
                caps[low] += 1
            out.append(low)
        elif out and out[-1] != "":
            out.append("")
        prev = tok
    return out


def _count_table(h: np.ndarray, cand: np.ndarray, min_count: int) -> Table:
    """Rows (fingerprint, candidate, count) with count >= min_count."""
    fp = (h >> np.uint64(32)).astype(np.uint64)
    pair = (fp << np.uint64(8)) | cand.astype(np.uint64)
    u, c = np.unique(pair, return_counts=True)
    keep = c >= min_count
    u, c = u[keep], c[keep]
    return Table.from_rows((u >> np.uint64(8)).astype(np.uint32),
                           (u & np.uint64(255)).astype(np.uint8), c.astype(np.float64))


def read_extra(path: str) -> list[str]:
    """Texts of an extra training file: a CSV (column content / Comment / free_text)
    or plain text, one text per line. Only texts typed with diacritics are kept
    (at least 3 words, at least half of them marked)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        if ".csv" in path:
            rows = list(csv.DictReader(f))
            col = next((c for c in ("content", "Comment", "free_text", "text")
                        if rows and c in rows[0]), None)
            texts = [r[col] for r in rows] if col else []
        else:
            texts = [line.strip() for line in f]
    out = []
    for t in texts:
        ws = _TOKEN.findall(normalize(t))
        ws = [w for w in ws if w[0].isalpha()]
        if len(ws) >= 3 and sum(has_vietnamese_marks(w) for w in ws) >= 0.5 * len(ws):
            out.append(t)
    return out


def build(corpus: str, out: str, *, min_counts: dict[str, int] | None = None,
          min_form_count: int = 2, progress: Callable[[int], None] | None = None,
          limit: int | None = None, log: Callable[[str], None] = print,
          extra: list[str] | None = None, extra_weight: int = 3) -> Model:
    """Count the tables over the training articles (plus ``extra`` files of
    accented texts, each counted ``extra_weight`` times) and write the artifact."""
    min_counts = {**DEFAULT_MIN_COUNTS, **(min_counts or {})}
    t0 = time.time()
    seqs: list[list[str]] = []
    caps: Counter[str] = Counter()
    extra_counts = {}
    for path in extra or []:
        texts = read_extra(path)
        extra_counts[path.rsplit("/", 1)[-1]] = len(texts)
        for t in texts:
            syl = paragraph_syllables(t)
            for _ in range(extra_weight):
                seqs.append(syl)
    if extra:
        log(f"extra texts: {extra_counts} (weight {extra_weight})")
    n_art = 0
    for i, art in enumerate(iter_articles(corpus)):
        if limit is not None and i >= limit:
            break
        if progress:
            progress(1)
        if is_heldout(i):
            continue
        n_art += 1
        for para in art:
            seqs.append(paragraph_syllables(para, caps))
    log(f"read {n_art} training articles, {len(seqs)} paragraphs in {time.time() - t0:.0f}s")

    counts: Counter[str] = Counter()
    for s in seqs:
        counts.update(s)
    counts.pop("", None)
    by_key: dict[str, list[tuple[int, str]]] = {}
    for w, n in counts.items():
        by_key.setdefault(strip_marks(w), []).append((n, w))
    keys = ["", ""]
    cands: list[list[str]] = [[], []]
    ccounts: list[list[int]] = [[], []]
    for k, lst in sorted(by_key.items(), key=lambda kv: -sum(n for n, _ in kv[1])):
        lst.sort(key=lambda x: (-x[0], x[1]))
        kept = [(n, w) for n, w in lst if n >= min_form_count][:MAXC]
        if not kept:
            continue
        keys.append(k)
        cands.append([w for _, w in kept])
        ccounts.append([n for n, _ in kept])
    key_id = {k: i for i, k in enumerate(keys)}
    cand_index = {}
    for kid in range(2, len(keys)):
        for j, w in enumerate(cands[kid]):
            cand_index[w] = (kid, j)
    log(f"{len(keys) - 2} syllable keys, {sum(len(c) for c in cands)} marked forms")

    ids: list[int] = []
    gold: list[int] = []
    amb = [len(c) > 1 for c in cands]
    for s in seqs:
        ids.extend([BOUNDARY] * PAD)
        gold.extend([-1] * PAD)
        for w in s:
            if w == "":
                ids.append(BOUNDARY)
                gold.append(-1)
                continue
            kj = cand_index.get(w)
            if kj is None:
                ids.append(key_id.get(strip_marks(w), UNK))
                gold.append(-1)
            else:
                ids.append(kj[0])
                gold.append(kj[1] if amb[kj[0]] else -1)
    del seqs
    ids.extend([BOUNDARY] * PAD)
    gold.extend([-1] * PAD)
    arr = np.array(ids, dtype=np.int64)
    g_all = np.array(gold, dtype=np.int16)
    del ids, gold
    n = len(arr) - 2 * PAD
    g = g_all[PAD:PAD + n]
    pos = np.flatnonzero(g >= 0)
    gp = g[pos]
    log(f"{n} positions, {len(pos)} ambiguous, {time.time() - t0:.0f}s")
    tables: dict[str, Table] = {}
    for salt, (name, offs) in enumerate(LEVELS):
        h = context_hash(arr, offs, n, salt + 1)[pos]
        tables[name] = _count_table(h, gp, min_counts[name])
        log(f"  {name}: {len(tables[name].cand)} rows (count >= {min_counts[name]}), "
            f"{time.time() - t0:.0f}s")
    meta = {
        "format": 2,
        "corpus": corpus.rsplit("/", 1)[-1],
        "training_articles": n_art,
        "heldout": f"article index % {HELDOUT_EVERY} == {HELDOUT_REM}",
        "min_counts": min_counts,
        "extra": extra_counts,
        "extra_weight": extra_weight,
        "tone_convention": "old style (hòa, thủy, khỏe)",
    }
    capcounts = [[caps.get(w, 0) for w in cs] for cs in cands]
    model = Model(keys, cands, ccounts, tables, meta, capcounts)
    model.save(out)
    log(f"wrote {out} in {time.time() - t0:.0f}s")
    return model


def count_articles(path: str) -> int:
    """Number of articles in the corpus (for the progress bar)."""
    return sum(1 for _ in iter_articles(path))
