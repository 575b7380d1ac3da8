"""Benchmark of the content classifier (models/classifier).

    .venv/bin/python benchmarks/classifier.py --data ../shared/data/comments

For each target dataset, trains with the same code path as
``vimod model train`` (``python -m models.classifier.cli model train``, one
process at a time) on the dataset's *train* file only and evaluates on its
dev/valid file (``--eval-data``; the train file is used as it is, as in the
published protocol; ``--strict`` holds out train rows whose text also occurs in
the dev file, e.g. 357 ViHSD comments); the published figures are on the official
test splits, which are not in ../shared, so these are dev figures:

  * ViHSD 3-class macro-F1 (target ≥ 0.68; published test: TextCNN 61.11, mBERT 62.70)
  * ViCTSD toxic-class F1 (target ≥ 0.60; published test: PhoBERT 59.40)
  * ViSpamReviews binary macro-F1 (target ≥ 0.88; published test: PhoBERT 86.89)

Then, with the shipped default model, in a fresh single-threaded process
pinned to one core: batch classification speed (batches of 1,000) on the dev
comments — with empty per-token caches ("cold"), after a warm-up on the train
comments ("unseen": the headline figure, a worker that has been running), and
the same comments again ("repeat"), "unseen" again with the language check in front as the
pipeline's classifier phase runs it (models/language.py) — model load time, and
the process RSS with the model loaded (and with the diacritics model as well,
which a worker also holds). Last, the shipped model on vimod's own news-comment
development set (``benchmarks/news_dev.py``: 4-class and 3-class figures, confusion
matrix, clean comments flagged), beside its figures on the public dev files.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

TARGETS = [
    # name, train, dev, text col, label col, label map, metric, target, published
    ("ViHSD", "vihsd_train.csv", "vihsd_dev.csv", "free_text", "label_id",
     "0=clean,1=offensive,2=hate", "macro_f1", 0.68, "TextCNN 61.11 / mBERT 62.70"),
    ("ViCTSD", "victsd_train.csv", "victsd_valid.csv", "Comment", "Toxicity",
     "0=clean,1=offensive", "f1:offensive", 0.60, "PhoBERT 59.40"),
    ("ViSpamReviews", "vispam_train.csv", "vispam_dev.csv", "Comment", "Label",
     "0=clean,1=spam", "macro_f1", 0.88, "PhoBERT 86.89"),
]

_ONE_CORE = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

_SPEED = r"""
import json, os, sys, time, resource
t0 = time.perf_counter()
from models.classifier import Classifier, default_model_dir
clf = Classifier.load(default_model_dir(), version="default")
load_s = time.perf_counter() - t0
texts = json.load(open(sys.argv[1], encoding="utf-8"))
def rss():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
try:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
except (AttributeError, OSError):
    pass
res = {"load_s": load_s, "n": len(texts)}
def run(batch):
    t = time.perf_counter()
    for i in range(0, len(batch), 1000):
        clf.predict_proba(batch[i:i + 1000])
    return len(batch) / (time.perf_counter() - t)
res["cold"] = run(texts)                     # empty per-process caches
clf = Classifier.load(default_model_dir(), version="default")   # fresh caches
warm = json.load(open(sys.argv[2], encoding="utf-8"))
res["warmup"] = run(warm)                    # other comments (train files)
res["n_warm"] = len(warm)
res["unseen"] = run(texts)                   # then the dev comments, never seen
res["repeat"] = run(texts)                   # the same comments again
# As the classifier phase runs since #17: the language check first, Vietnamese scored.
from models.language import identify
clf = Classifier.load(default_model_dir(), version="default")   # fresh caches
for x in warm:
    identify(x)
run(warm)
def run_lang(batch):
    t = time.perf_counter()
    for i in range(0, len(batch), 1000):
        clf.predict_proba([x for x in batch[i:i + 1000] if identify(x).language == "vi"])
    return len(batch) / (time.perf_counter() - t)
res["unseen_language"] = run_lang(texts)
t = time.perf_counter()
for x in texts[:300]:
    clf.explain(x)
res["explain_per_s"] = 300 / (time.perf_counter() - t)
res["rss_mb"] = rss()
try:
    from models.diacritics import get_model
    get_model()
    res["rss_with_diacritics_mb"] = rss()
except Exception as e:  # pragma: no cover
    res["diacritics_error"] = repr(e)
print(json.dumps(res))
"""


def _train_eval(data_dir: str, t, workdir: str, strict: bool = False) -> dict:
    name, train, dev, tc, lc, lmap, *_ = t
    out = os.path.join(workdir, name)
    cmd = [sys.executable, "-m", "models.classifier.cli", "model", "train",
           "--data", os.path.join(data_dir, train), "--text-column", tc, "--label-column", lc,
           "--label-map", lmap, "--eval-data", os.path.join(data_dir, dev), "--out", out]
    if not strict:
        cmd.append("--keep-eval-overlap")
    print("$ " + " ".join(cmd[1:]), file=sys.stderr, flush=True)
    t0 = time.time()
    subprocess.run(cmd, cwd=ROOT, check=True, env={**os.environ, **_ONE_CORE})
    secs = time.time() - t0
    with open(os.path.join(out, "metrics.json"), encoding="utf-8") as fh:
        metrics = json.load(fh)
    rep = metrics[f"eval:{dev}"]
    return {"report": rep, "seconds": secs, "cv": metrics.get("cross_validation")}


def _read(data_dir: str, files) -> list[str]:
    import csv
    texts: list[str] = []
    for f, col in files:
        with open(os.path.join(data_dir, f), encoding="utf-8", newline="") as fh:
            texts.extend(r[col] for r in csv.DictReader(fh) if r[col])
    return texts


def _speed(data_dir: str, workdir: str) -> dict:
    dev = _read(data_dir, (("vihsd_dev.csv", "free_text"), ("victsd_valid.csv", "Comment"),
                           ("vispam_dev.csv", "Comment")))
    warm = _read(data_dir, (("vihsd_train.csv", "free_text"), ("victsd_train.csv", "Comment"),
                            ("vispam_train.csv", "Comment")))
    paths = []
    for name, texts in (("dev.json", dev), ("warm.json", warm)):
        paths.append(os.path.join(workdir, name))
        with open(paths[-1], "w", encoding="utf-8") as fh:
            json.dump(texts, fh, ensure_ascii=False)
    out = subprocess.run([sys.executable, "-c", _SPEED, *paths], cwd=ROOT, check=True,
                         capture_output=True, text=True, env={**os.environ, **_ONE_CORE})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "comments"))
    ap.add_argument("--only", choices=[t[0] for t in TARGETS] + ["speed", "news_dev"],
                    action="append")
    ap.add_argument("--json", dest="json_out", help="also write the results as JSON")
    ap.add_argument("--strict", action="store_true",
                    help="hold dev texts that also occur in the train file out of training "
                         "(default: the usual protocol, the train file as it is)")
    args = ap.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="vimod-clf-bench-") as work:
        for t in TARGETS:
            if args.only and t[0] not in args.only:
                continue
            results[t[0]] = _train_eval(args.data, t, work, args.strict)
        if not args.only or "speed" in args.only:
            results["speed"] = _speed(args.data, work)
        if not args.only or "news_dev" in args.only:
            # The shipped model on vimod's own news-comment development set (news_dev.py).
            from benchmarks.news_dev import evaluate, public_dev
            results["news_dev"] = evaluate()
            results["news_dev"]["public"] = public_dev(args.data)

    print()
    print(f"{'dataset (dev split)':<22}{'metric':<22}{'ours':>8}{'target':>8}  "
          f"{'ok':<4}{'train s':>8}  published (test split)")
    for name, _tr, _dv, _tc, _lc, _m, metric, target, published in TARGETS:
        if name not in results:
            continue
        rep = results[name]["report"]
        if metric.startswith("f1:"):
            value = rep["per_class"][metric[3:]]["f1"]
            label = f"F1({metric[3:]})"
        else:
            value = rep["macro_f1"]
            label = "macro-F1"
        results[name]["value"] = value
        ok = "yes" if value >= target else "no"
        print(f"{name:<22}{label:<22}{value:>8.4f}{target:>8.2f}  {ok:<4}"
              f"{results[name]['seconds']:>8.1f}  {published}")
    if "speed" in results:
        s = results["speed"]
        print(f"{'speed, one core':<22}{'comments/s, unseen':<22}{s['unseen']:>8.0f}{5000:>8d}  "
              f"{'yes' if s['unseen'] >= 5000 else 'no':<4}{'':>8}  "
              f"after a {s['n_warm']}-comment warm-up; n={s['n']}")
        if "unseen_language" in s:
            v = s["unseen_language"]
            print(f"{'':<22}{'+ language check':<22}{v:>8.0f}{5000:>8d}  "
                  f"{'yes' if v >= 5000 else 'no':<4}{'':>8}  "
                  "unseen, as the pipeline's classifier phase (models/language.py first)")
        print(f"{'':<22}{'comments/s, repeat':<22}{s['repeat']:>8.0f}{'':>8}  {'':<4}{'':>8}  "
              f"same comments again; cold first pass {s['cold']:.0f}/s; "
              f"explain {s['explain_per_s']:.0f}/s")
        print(f"{'memory':<22}{'RSS MB (classifier)':<22}{s['rss_mb']:>8.0f}{600:>8d}  "
              f"{'yes' if s['rss_mb'] <= 600 else 'no':<4}{'':>8}  load {s['load_s']:.2f}s")
        if "rss_with_diacritics_mb" in s:
            v = s["rss_with_diacritics_mb"]
            print(f"{'memory':<22}{'RSS MB (+diacritics)':<22}{v:>8.0f}{600:>8d}  "
                  f"{'yes' if v <= 600 else 'no':<4}")
    if "news_dev" in results:
        from benchmarks.news_dev import format_results
        print()
        print(format_results(results["news_dev"]))
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump(results, fh, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
