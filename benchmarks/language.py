"""Benchmark of the language check (models/language.py) that keeps the Vietnamese classifier
off comments in other languages (#17 item 2).

    .venv/bin/python benchmarks/language.py --data ../shared/data/comments

Prints:

1. on the ViHSD and ViSpamReviews dev files (all Vietnamese-site comments), how many rows
   are classed as not Vietnamese, by language and by gold label, with the rows themselves:
   these would go unscored (false positives of the check, wanted ≈ 0);
2. on the hand-written samples of tests/language_samples.py (17 clean English comments,
   2 English ads, 8 mixed Vietnamese-English, 9 unaccented Vietnamese), how many the
   shipped default model labels spam/offensive/hate (the highest score, as the pipeline's
   label) before the check and after it (unscored comments have no label);
3. the speed, in one process pinned to one core (as benchmarks/classifier.py): the
   classifier alone on the dev comments in batches of 1,000, the language check alone, and
   both (the classifier phase as it now runs), after a warm-up on the train files.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import sys
import time
from collections import Counter

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

from models.classifier import Classifier, default_model_dir  # noqa: E402
from models.language import identify  # noqa: E402
from tests.language_samples import ENGLISH_CLEAN, ENGLISH_SPAM, MIXED, UNACCENTED  # noqa: E402

DEV = [("ViHSD dev", "vihsd_dev.csv", "free_text", "label_id",
        {"0": "clean", "1": "offensive", "2": "hate"}),
       ("ViSpamReviews dev", "vispam_dev.csv", "Comment", "Label", {"0": "clean", "1": "spam"})]
TRAIN = [("vihsd_train.csv", "free_text"), ("vispam_train.csv", "Comment")]


def _rows(path: str, text_col: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r[text_col]]


def false_positives(data: str, show: int) -> None:
    print("1. Dev comments classed as not Vietnamese (left unscored)")
    for name, f, tc, lc, labels in DEV:
        rows = _rows(os.path.join(data, f), tc)
        foreign = [(identify(r[tc]).language, labels.get(r[lc], r[lc]), r[tc]) for r in rows]
        foreign = [x for x in foreign if x[0] != "vi"]
        print(f"  {name}: {len(foreign)} of {len(rows)} rows "
              f"({len(foreign) / len(rows):.2%}); by language "
              f"{dict(Counter(x[0] for x in foreign))}, by gold label "
              f"{dict(Counter(x[1] for x in foreign))}")
        for lang, label, text in foreign[:show]:
            print(f"    [{lang}/{label}] {text[:90]!r}")


def before_after(clf: Classifier) -> None:
    print("2. Hand-written samples (tests/language_samples.py): labels of the default model")
    for name, texts in (("English clean", ENGLISH_CLEAN), ("English ads", ENGLISH_SPAM),
                        ("mixed vi-en", MIXED), ("unaccented vi", UNACCENTED)):
        labels = [max(s, key=s.get) for s in clf.predict_proba(texts)]
        before = Counter(labels)
        after = Counter(lb if identify(t).is_vietnamese else "unscored"
                        for t, lb in zip(texts, labels, strict=True))
        print(f"  {name} ({len(texts)}): before {dict(before)}; after {dict(after)}")


def speed(clf: Classifier, data: str) -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    dev = [r[tc] for _, f, tc, _, _ in DEV for r in _rows(os.path.join(data, f), tc)]
    warm = [r[tc] for f, tc in TRAIN for r in _rows(os.path.join(data, f), tc)]

    def classify(texts: list[str]) -> None:
        for i in range(0, len(texts), 1000):
            clf.predict_proba(texts[i:i + 1000])

    def check(texts: list[str]) -> None:
        for t in texts:
            identify(t)

    def both(texts: list[str]) -> None:  # what workers/pipeline/classifier.py now does
        for i in range(0, len(texts), 1000):
            clf.predict_proba([t for t in texts[i:i + 1000] if identify(t).is_vietnamese])

    def rate(fn, texts: list[str]) -> float:  # noqa: ANN001
        t0 = time.perf_counter()
        fn(texts)
        return len(texts) / (time.perf_counter() - t0)

    t0 = time.perf_counter()
    check(dev)
    cold_us = (time.perf_counter() - t0) / len(dev) * 1e6
    classify(warm)
    check(warm)
    print(f"3. Speed on {len(dev):,} dev comments, one core, after a warm-up on "
          f"{len(warm):,} train comments (comments/s)")
    print(f"  language check, cold caches: {cold_us:.1f} µs/comment")
    for label, fn in (("classifier alone", classify), ("language check alone", check),
                      ("check + classifier", both)):
        best = max(rate(fn, dev) for _ in range(3))
        print(f"  {label}: {best:,.0f}/s ({1e6 / best:.1f} µs/comment)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "comments"))
    ap.add_argument("--show", type=int, default=20, help="rows listed per dev file")
    args = ap.parse_args()
    clf = Classifier.load(default_model_dir(), version="default")
    false_positives(args.data, args.show)
    before_after(clf)
    speed(clf, args.data)


if __name__ == "__main__":
    main()
