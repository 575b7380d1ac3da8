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
   both (the classifier phase as it now runs), after a warm-up on the train files; CPU time
   of the process (the machine is shared), median of 3 alternating rounds, each from fresh
   caches warmed on the train comments (the dev comments are unseen, as in a running worker).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import statistics
import sys
import time
from collections import Counter

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

from models import language  # noqa: E402
from models.classifier import Classifier, default_model_dir  # noqa: E402
from models.language import identify  # noqa: E402
from tests.language_samples import ENGLISH_CLEAN, ENGLISH_SPAM, MIXED, UNACCENTED  # noqa: E402

DEV = [("ViHSD dev", "vihsd_dev.csv", "free_text", "label_id",
        {"0": "clean", "1": "offensive", "2": "hate"}),
       ("ViSpamReviews dev", "vispam_dev.csv", "Comment", "Label", {"0": "clean", "1": "spam"})]
ROUNDS = 3
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


def speed(data: str) -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    dev = [r[tc] for _, f, tc, _, _ in DEV for r in _rows(os.path.join(data, f), tc)]
    warm = [r[tc] for f, tc in TRAIN for r in _rows(os.path.join(data, f), tc)]

    def check(clf: Classifier, texts: list[str]) -> None:
        for t in texts:
            identify(t)

    def classify(clf: Classifier, texts: list[str]) -> None:
        for i in range(0, len(texts), 1000):
            clf.predict_proba(texts[i:i + 1000])

    def both(clf: Classifier, texts: list[str]) -> None:  # workers/pipeline/classifier.py
        for i in range(0, len(texts), 1000):
            clf.predict_proba([t for t in texts[i:i + 1000] if identify(t).is_vietnamese])

    def unseen_rate(fn) -> float:  # noqa: ANN001
        # A worker that has been running: fresh caches warmed on the train comments, then
        # the dev comments, never seen. CPU time of this process (the machine is shared,
        # wall time would count the waits for a core).
        clf = Classifier.load(default_model_dir(), version="default")
        language._CACHE.clear()
        classify(clf, warm)
        check(clf, warm)
        t0 = time.process_time()
        fn(clf, dev)
        return len(dev) / (time.process_time() - t0)

    language._CACHE.clear()
    t0 = time.process_time()
    check(None, dev)  # type: ignore[arg-type]
    cold_us = (time.process_time() - t0) / len(dev) * 1e6
    print(f"3. Speed on {len(dev):,} unseen dev comments, one core, CPU time, after a warm-up "
          f"on {len(warm):,} train comments; median of {ROUNDS} alternating rounds")
    print(f"  language check, cold word cache: {cold_us:.1f} µs/comment")
    fns = {"classifier alone": classify, "language check alone": check,
           "check + classifier": both}
    runs: dict[str, list[float]] = {label: [] for label in fns}
    for _ in range(ROUNDS):
        for label, fn in fns.items():
            runs[label].append(unseen_rate(fn))
    med = {label: statistics.median(v) for label, v in runs.items()}
    for label, v in med.items():
        print(f"  {label}: {v:,.0f} comments/s ({1e6 / v:.1f} µs/comment)")
    print(f"  the check costs {1e6 / med['language check alone']:.1f} µs per comment: "
          f"{med['check + classifier'] / med['classifier alone'] - 1:+.1%} on the "
          "classifier's rate")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "comments"))
    ap.add_argument("--show", type=int, default=20, help="rows listed per dev file")
    args = ap.parse_args()
    clf = Classifier.load(default_model_dir(), version="default")
    false_positives(args.data, args.show)
    before_after(clf)
    speed(args.data)


if __name__ == "__main__":
    main()
