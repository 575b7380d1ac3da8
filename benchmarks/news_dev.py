"""The classifier on vimod's own news-comment development set (issue #17 item 5).

    make bench-news-dev
    .venv/bin/python benchmarks/news_dev.py [--model DIR] [--data DIR] [--json OUT]

``models/classifier/eval/news_dev.csv``: comments written by hand for vimod in the style of
Vietnamese news sites, labelled by ``docs/taxonomy.md`` (clean / spam / offensive / hate),
never trained on (tests/test_news_dev.py). Each comment goes through the pipeline's real
phases in a worker's order — normalize, length, contacts, wordlists, diacritics, classifier
(``workers.pipeline.runner.run_pipeline_many``) — and ``policy.decide`` with the site
defaults (pre-moderation on, no auto-reject thresholds, ``auto_approve_below`` 0.3). The
bans and repeats phases are left out: they read the author's history from the database and
Redis, not the text. The model is the one ``load_active()`` serves (a private, empty
registry: the shipped ``default``), or ``--model DIR`` (registered and promoted in that
private registry, so the same path serves it).

Printed:

* the 4-class report on the pipeline's label (the classifier phase's ``label``: the argmax
  of the calibrated scores, what the card shows), per-class precision/recall/F1, macro-F1
  and the confusion matrix; macro-F1 of ``Classifier.predict`` (argmax after the decision
  bias) beside it;
* the 3-class macro-F1 with offensive and hate merged into one "abuse" class;
* the share of clean comments *flagged*: the classifier phase put a category flag on them
  (``spam`` / ``offensive`` / ``hate``: label not clean and its risk ≥ 0.3 — the queue's
  filters), and separately any content flag (those, or a banned/suspect word); also the
  share whose risk ≥ 0.3 (not auto-approved were pre-moderation off). Split by writing:
  Vietnamese with marks, Vietnamese typed without marks (no letter outside ASCII), English
  or mixed (``note`` starts with ``en`` / ``mixed``);
* the shipped model's macro-F1 on the public dev files (ViHSD 3-class, ViSpamReviews binary,
  over each file's own labels) when the base data is there (``--data``), for comparison;
  ``benchmarks/classifier.py`` prints the train-on-each-dataset figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NEWS_DEV = ROOT / "models" / "classifier" / "eval" / "news_dev.csv"
LABELS = ("clean", "spam", "offensive", "hate")
CATEGORY_FLAGS = {"spam", "offensive", "hate"}
WORD_FLAGS = {"banned_word", "suspect_word"}
PUBLIC = [
    # name, dev file, text column, label column, label map
    ("ViHSD", "vihsd_dev.csv", "free_text", "label_id",
     {"0": "clean", "1": "offensive", "2": "hate"}),
    ("ViSpamReviews", "vispam_dev.csv", "Comment", "Label", {"0": "clean", "1": "spam"}),
]


def read_news_dev(path: Path = NEWS_DEV) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [{"text": r["text"], "label": r["label"], "note": r.get("note") or ""}
                for r in csv.DictReader(fh)]


def writing(row: dict[str, str]) -> str:
    """``en_mixed`` (note starts with en/mixed), ``unaccented`` (Vietnamese, no letter
    outside ASCII) or ``accented``."""
    tag = row["note"].split(";")[0].split(":")[0].strip()
    if tag in ("en", "mixed"):
        return "en_mixed"
    if all(ord(c) < 128 for c in row["text"] if c.isalpha()):
        return "unaccented"
    return "accented"


def _pipeline(texts: list[str]) -> list[dict]:
    from workers.pipeline import (
        classifier,
        contacts,
        diacritics,
        length,
        normalize,
        wordlists,
    )
    from workers.pipeline.context import CommentContext
    from workers.pipeline.runner import run_pipeline_many

    phases = [normalize.run, length.run, contacts.run, wordlists.run, diacritics.run,
              classifier.run]
    ctxs = [CommentContext(comment_id=i, site_id=1, body=t, author_name="reader",
                           author_email="", client_ip=None, site_settings={})
            for i, t in enumerate(texts)]
    out = []
    for i in range(0, len(ctxs), 200):
        out.extend(run_pipeline_many(ctxs[i:i + 200], phases))
    return [o.analysis for o in out]


def _report(gold: list[str], pred: list[str], labels) -> dict:
    from models.classifier.metrics import evaluate_labels
    return evaluate_labels(gold, pred, list(labels))


def evaluate(model_dir: str | None = None, path: Path = NEWS_DEV) -> dict:
    """Runs the development set through the pipeline; returns the figures (see the doc)."""
    from models.classifier import load_active
    from models.classifier.registry import Registry

    rows = read_news_dev(path)
    before = os.environ.get("VIMOD_MODEL_REGISTRY")
    with tempfile.TemporaryDirectory(prefix="vimod-newsdev-") as registry:
        os.environ["VIMOD_MODEL_REGISTRY"] = registry   # what load_active() reads
        try:
            if model_dir:
                reg = Registry(registry)
                reg.promote(reg.register(model_dir))
            analyses = _pipeline([r["text"] for r in rows])
            clf = load_active()
            biased = clf.predict([r["text"] for r in rows])
            version = clf.version
        finally:
            if before is None:
                os.environ.pop("VIMOD_MODEL_REGISTRY", None)
            else:
                os.environ["VIMOD_MODEL_REGISTRY"] = before
    gold = [r["label"] for r in rows]
    # A comment not in Vietnamese is not scored (models/language.py): no category, counted
    # as "clean" here (the model says nothing against it) and reported apart below.
    unscored = [i for i, a in enumerate(analyses) if "label" not in a["phases"]["classifier"]]
    pred = [a["phases"]["classifier"].get("label", "clean") for a in analyses]
    four = _report(gold, pred, LABELS)
    merge = {"offensive": "abuse", "hate": "abuse"}
    three = _report([merge.get(g, g) for g in gold], [merge.get(p, p) for p in pred],
                    ("clean", "spam", "abuse"))
    flagged: dict[str, dict] = {}
    for group in ("all", "accented", "unaccented", "en_mixed"):
        idx = [i for i, r in enumerate(rows) if r["label"] == "clean"
               and (group == "all" or writing(r) == group)]
        if not idx:
            continue
        cat = [i for i in idx if CATEGORY_FLAGS & set(analyses[i]["flags"])]
        content = [i for i in idx if (CATEGORY_FLAGS | WORD_FLAGS) & set(analyses[i]["flags"])]
        risky = [i for i in idx if analyses[i].get("risk", 0.0) >= 0.3]
        spam = [i for i in idx if pred[i] == "spam"]
        flagged[group] = {
            "n": len(idx), "category_flag": len(cat), "content_flag": len(content),
            "risk_ge_0.3": len(risky), "label_spam": len(spam),
            "examples": [rows[i]["text"] for i in cat[:3]],
        }
    by_writing = {}
    for group in ("accented", "unaccented", "en_mixed"):
        idx = [i for i, r in enumerate(rows) if writing(r) == group]
        by_writing[group] = {"n": len(idx), "accuracy": round(
            sum(gold[i] == pred[i] for i in idx) / len(idx), 4) if idx else None,
            "labels": dict(Counter(gold[i] for i in idx))}
    return {"model": version, "n": len(rows), "gold": dict(Counter(gold)),
            "four_class": four, "three_class": three,
            "macro_f1_predict": _report(gold, list(biased), LABELS)["macro_f1"],
            "clean_flagged": flagged, "by_writing": by_writing,
            "unscored": {"n": len(unscored), "gold": dict(Counter(gold[i] for i in unscored)),
                         "caught_by_rules": sum(1 for i in unscored if gold[i] == "spam" and (
                             {"link", "phone", "email", "contact_handle"}
                             & set(analyses[i]["flags"])))}}


def public_dev(data_dir: str, model_dir: str | None = None) -> dict:
    """The model's macro-F1 on the public dev files (over each file's own labels)."""
    from models.classifier import Classifier, default_model_dir
    clf = Classifier.load(model_dir or default_model_dir())
    out = {}
    for name, fname, tc, lc, lmap in PUBLIC:
        p = os.path.join(data_dir, fname)
        if not os.path.isfile(p):
            continue
        with open(p, encoding="utf-8", newline="") as fh:
            rows = [(r[tc], lmap[r[lc]]) for r in csv.DictReader(fh)
                    if r[tc] and r[lc] in lmap]
        pred = clf.predict([t for t, _ in rows])
        rep = _report([g for _, g in rows], list(pred), LABELS)  # macro over gold labels
        out[name] = {"macro_f1": rep["macro_f1"], "n": rep["n"]}
    return out


def format_results(res: dict) -> str:
    from models.classifier.metrics import format_report
    pct = lambda a, b: f"{a}/{b} ({100 * a / b:.1f} %)" if b else "-"  # noqa: E731
    lines = [f"news_dev.csv: {res['n']} comments {res['gold']}; model {res['model']}; "
             "pipeline phases normalize→…→classifier, site defaults", "",
             "4 classes (pipeline label = argmax of the calibrated scores)",
             format_report(res["four_class"]), "",
             f"4-class macro-F1 {res['four_class']['macro_f1']:.4f} "
             f"(Classifier.predict, with the decision bias: {res['macro_f1_predict']:.4f}); "
             f"3-class (offensive+hate merged) macro-F1 {res['three_class']['macro_f1']:.4f}",
             "", "clean comments flagged (category flag from the classifier phase | any "
             "content flag incl. banned/suspect words | risk ≥ 0.3 | labelled spam)"]
    for group, f in res["clean_flagged"].items():
        lines.append(f"  {group:<11} category {pct(f['category_flag'], f['n']):<18} "
                     f"content {pct(f['content_flag'], f['n']):<18} "
                     f"risk≥0.3 {pct(f['risk_ge_0.3'], f['n']):<18} "
                     f"spam {f['label_spam']}")
    u = res["unscored"]
    lines.append(f"  not Vietnamese, left unscored (foreign_language): {u['n']} {u['gold']}; "
                 f"spam among them caught by the contact rules: {u['caught_by_rules']}")
    lines.append("")
    lines.append("accuracy by writing (all labels)")
    for group, b in res["by_writing"].items():
        lines.append(f"  {group:<11} n {b['n']:<4} accuracy {b['accuracy']}  {b['labels']}")
    if res.get("public"):
        lines.append("")
        lines.append("same model on the public dev files (macro-F1 over each file's labels)")
        for name, p in res["public"].items():
            lines.append(f"  {name:<14} {p['macro_f1']:.4f}  n {p['n']}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="a trained model directory (default: the shipped model)")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "comments"),
                    help="public base data, for the comparison figures")
    ap.add_argument("--json", dest="json_out", help="also write the results as JSON")
    args = ap.parse_args()
    res = evaluate(args.model)
    res["public"] = public_dev(args.data, args.model)
    print(format_results(res))
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump(res, fh, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
