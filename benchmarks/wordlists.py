"""How often the word lists flag clean comments, accented and typed without marks, before and
after the two readings of unmarked text (#17 item 3), and how often they still find the
offensive ones.

    .venv/bin/python benchmarks/wordlists.py --data ../shared/data [--before 9b2a6ca]

Samples: ViHSD dev (CLEAN rows, split by whether the comment has any Vietnamese mark; the
accented CLEAN rows again with their marks stripped, the same comments typed without marks;
OFFENSIVE + HATE rows) and ViCTSD valid (news comments, Toxicity 0 / 1).
Columns: share of comments with at least one word-list hit
  * before: the shipped lists of git revision `--before` (the seed lists before this
    change: "b`", "v~", "di~"...), every hit as typed;
  * as typed: today's shipped lists, every hit as typed (the matcher without a reading);
  * after: today's lists and the diacritics restorer's reading, as the worker does it
    (the reading taken from the diacritics check of the batch, like the pipeline's phase).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from collections.abc import Iterable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from models.diacritics import check_many  # noqa: E402
from models.normalize import has_vietnamese_marks, normalize, strip_marks  # noqa: E402
from models.wordlists import (  # noqa: E402
    BANNED,
    SUSPECT,
    Entry,
    Reading,
    WordMatcher,
    builtin_entries,
)


def old_entries(rev: str) -> list[Entry]:
    out = []
    for name, kind in (("banned.txt", BANNED), ("suspect.txt", SUSPECT)):
        text = subprocess.run(["git", "show", f"{rev}:models/data/wordlists/{name}"],
                              capture_output=True, text=True, check=True).stdout
        out += [Entry(line.strip(), kind, source="builtin") for line in text.splitlines()
                if line.strip() and not line.startswith("#")]
    return out


def rates(texts: list[str], before: WordMatcher, now: WordMatcher) -> tuple[float, ...]:
    texts = [normalize(t) for t in texts]
    reports = check_many(texts)
    n_before = n_typed = n_after = 0
    for t, r in zip(texts, reports, strict=True):
        n_before += bool(before.find(t))
        n_typed += bool(now.find(t))
        n_after += bool(now.find(t, Reading(r.reading or t, tuple(r.withheld))))
    n = max(len(texts), 1)
    return n_before / n, n_typed / n, n_after / n


def rows(path: str, text_col: str, keep) -> Iterable[str]:  # noqa: ANN001
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if keep(row) and row[text_col].strip():
                yield row[text_col]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--before", default="9b2a6ca",
                        help="git revision whose shipped lists are the 'before' column")
    args = parser.parse_args()
    before, now = WordMatcher(old_entries(args.before)), WordMatcher(builtin_entries())
    hsd = os.path.join(args.data, "comments", "vihsd_dev.csv")
    ctsd = os.path.join(args.data, "comments", "victsd_valid.csv")
    clean = list(rows(hsd, "free_text", lambda r: r["label_id"] == "0"))
    accented = [t for t in clean if has_vietnamese_marks(normalize(t))]
    unaccented = [t for t in clean if not has_vietnamese_marks(normalize(t))]
    samples = [
        ("ViHSD dev CLEAN, accented", accented),
        ("ViHSD dev CLEAN, typed without marks", unaccented),
        ("ViHSD dev CLEAN accented, marks stripped", [strip_marks(t) for t in accented]),
        ("ViHSD dev OFFENSIVE + HATE", list(rows(hsd, "free_text",
                                                 lambda r: r["label_id"] != "0"))),
        ("ViCTSD valid, not toxic", list(rows(ctsd, "Comment",
                                              lambda r: r["Toxicity"] == "0"))),
        ("ViCTSD valid, toxic", list(rows(ctsd, "Comment", lambda r: r["Toxicity"] == "1"))),
    ]
    print(f"{'sample':45} {'n':>5} {'before':>7} {'as typed':>9} {'after':>7}")
    for name, texts in samples:
        b, t, a = rates(texts, before, now)
        print(f"{name:45} {len(texts):5d} {b:7.1%} {t:9.1%} {a:7.1%}")


if __name__ == "__main__":
    main()
