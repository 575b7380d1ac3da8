"""Benchmark of the Vietnamese diacritics restorer and check.

    .venv/bin/python benchmarks/diacritics.py --data ../shared/data

Measures, on the same accent-stripped text:
  * syllable accuracy and syllables/s of ``models.diacritics`` (batched and
    one call per line) and of ``pyvi.ViUtils.add_accents`` on the held-out news
    articles of the build (article index % 50 == 7 of vntc_news.txt.gz, never
    used to build the artifact) and on marked reader comments from ViCTSD
    (victsd_valid.csv);
  * the check's accuracy on real ViHSD comments (typed without diacritics →
    expected ``missing``; typed with diacritics → expected ``ok``; train split:
    used to set the check's thresholds, dev split: not) and the number of
    English-only sentences judged ``missing`` (must be 0).

Accuracy counts word tokens (syllables, names and foreign words included;
punctuation and numbers excluded): restored == original (NFC, old-style tone
placement), case-sensitive; "acc (ci)" ignores case. Speeds are wall-clock on
whatever the machine is doing: run it on an idle core.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from models.diacritics import check, get_model  # noqa: E402
from models.diacritics.build import is_heldout, iter_articles  # noqa: E402
from models.diacritics.restorer import english_words, restore, restore_many  # noqa: E402
from models.normalize import (  # noqa: E402
    has_vietnamese_marks,
    is_vietnamese_syllable,
    normalize,
    strip_marks,
)
from models.tokenize import tokenize, words  # noqa: E402

ENGLISH = [
    "I can do it.", "He is on the bank of the river.", "Go to the top and see the map.",
    "No man can ban me from this site.", "This is a great article, thanks for sharing!",
    "Hello everyone, how are you today?", "I love you so much", "The government should do more.",
    "Can you send me the link please?", "We need to talk about the price of oil.",
    "Nice video, subscribe to my channel", "What a beautiful day in Ha Noi",
    "She sang a song on TV last night.", "Do not give up, you can win",
    "Let me know when you are free", "So sad to hear that, rest in peace",
    "The team played very well tonight", "Long time no see, my friend",
    "Ban them all from the page", "He hit the ball and ran to the end",
    "I think the new law is good for the economy", "Where can I buy this phone?",
    "Thanks for the info, very useful", "Stop spam comments here",
    "Check my profile for more", "Best movie of the year, no doubt",
    "Happy new year to all of you", "Tom and Linh are in Sai Gon now",
    "The traffic in the city is so bad", "Good luck to the Vietnam team",
    "It is not fair to the poor", "Is this real or fake news?",
    "Why do they keep doing this", "My son and I went to the beach",
    "Can not agree more with you", "Oh my god, this is so funny",
    "Let the kids play outside", "The man in the photo is my dad",
    "He came home late again", "Same old story, nothing new",
]


def syllable_accuracy(gold: list[str], out: list[str]) -> tuple[int, int]:
    """Word tokens of the stripped input whose restored text equals the original.

    Stripping and restoring keep the length (NFC), so a word is compared at the
    same offsets in gold and output; an output of another length (pyvi changes
    a few characters) is aligned word by word, all wrong when that fails.
    """
    ok = tot = 0
    for g, o in zip(gold, out, strict=True):
        spans = [(t.start, t.end) for t in tokenize(strip_marks(g)) if t.kind == "word"]
        tot += len(spans)
        if len(o) == len(g):
            ok += sum(g[a:b] == o[a:b] for a, b in spans)
            continue
        gw, ow = words(g), words(o)
        if len(gw) == len(ow):
            ok += sum(x == y for x, y in zip(gw, ow, strict=True))
    return ok, tot


def ci_accuracy(gold: list[str], out: list[str]) -> float:
    """Case-insensitive syllable accuracy (pyvi changes the case of some words)."""
    ok, tot = syllable_accuracy([g.lower() for g in gold], [o.lower() for o in out])
    return ok / tot


def run_restorers(name: str, gold: list[str], pyvi: bool, rows: list) -> None:
    inp = [strip_marks(g) for g in gold]
    n_syl = sum(len(words(x)) for x in inp)
    restore_many(inp[:50])  # warm-up
    t, c = time.perf_counter(), time.process_time()
    out = restore_many(inp)
    dt_batch, cpu_batch = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    out_line = [restore(x) for x in inp]
    dt_line, cpu_line = time.perf_counter() - t, time.process_time() - c
    assert out_line == out
    ok, tot = syllable_accuracy(gold, out)
    ci = ci_accuracy(gold, out)
    rows.append((name, "vimod (batched)", len(gold), tot, ok / tot, ci, n_syl / dt_batch,
                 n_syl / cpu_batch))
    rows.append((name, "vimod (one call per line)", len(gold), tot, ok / tot, ci,
                 n_syl / dt_line, n_syl / cpu_line))
    if pyvi:
        from pyvi import ViUtils

        def pyvi_restore(x: str) -> str:
            try:
                return ViUtils.add_accents(x)
            except (KeyError, IndexError, ValueError):  # pyvi fails on a few inputs
                return x

        t, c = time.perf_counter(), time.process_time()
        outp = [pyvi_restore(x) for x in inp]
        dt, cpu = time.perf_counter() - t, time.process_time() - c
        outp = [normalize(x) for x in outp]
        ok, tot = syllable_accuracy(gold, outp)
        rows.append((name, "pyvi ViUtils.add_accents", len(gold), tot, ok / tot,
                     ci_accuracy(gold, outp), n_syl / dt, n_syl / cpu))


def gold_check_sets(data: str, name: str) -> tuple[list[str], list[str]]:
    """Real ViHSD comments typed without / with diacritics (at least 5 words).

    without: no marked letter at all, at least 70 % of the words have the shape
    of a Vietnamese syllable, less than 30 % are common English words, Latin
    script only. with: at least half of the words carry marks.
    """
    eng = english_words()
    without, with_ = [], []
    for c in read_csv(os.path.join(data, "comments", name), "free_text"):
        c = normalize(c)
        ws = words(c)
        if len(ws) < 5:
            continue
        marked = sum(has_vietnamese_marks(w) for w in ws)
        if marked == 0:
            if (all(ch.isascii() or not ch.isalpha() for ch in c)
                    and sum(is_vietnamese_syllable(w) for w in ws) >= 0.7 * len(ws)
                    and sum(w.lower() in eng for w in ws) < 0.3 * len(ws)):
                without.append(c)
        elif marked >= 0.5 * len(ws):
            with_.append(c)
    return without, with_


def read_csv(path: str, column: str) -> list[str]:
    with open(path, encoding="utf-8", newline="") as f:
        return [r[column] for r in csv.DictReader(f) if r.get(column)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--data", default="../shared/data", help="folder with corpus/ and comments/")
    ap.add_argument("--news-articles", type=int, default=300,
                    help="held-out news articles to use (of ~745)")
    ap.add_argument("--comments", type=int, default=2000, help="ViCTSD comments to use")
    ap.add_argument("--no-pyvi", action="store_true", help="skip the pyvi baseline")
    args = ap.parse_args()

    t = time.perf_counter()
    model = get_model()
    load_s = time.perf_counter() - t
    print(f"model: {model.meta}  (loaded in {load_s:.2f}s)")

    # --- restoration --------------------------------------------------------
    news: list[str] = []
    n = 0
    for i, art in enumerate(iter_articles(os.path.join(args.data, "corpus/vntc_news.txt.gz"))):
        if is_heldout(i):
            news.extend(normalize(p) for p in art)
            n += 1
            if n >= args.news_articles:
                break
    comments = []
    for c in read_csv(os.path.join(args.data, "comments/victsd_valid.csv"), "Comment"):
        c = normalize(c)
        ws = words(c)
        if len(ws) >= 3 and sum(has_vietnamese_marks(w) for w in ws) >= 0.4 * len(ws):
            comments.append(c)
    comments = comments[:args.comments]
    rows: list = []
    run_restorers(f"news held-out ({n} articles)", news, not args.no_pyvi, rows)
    run_restorers("ViCTSD comments (stripped)", comments, not args.no_pyvi, rows)
    print()
    print(f"| {'text':32} | {'system':28} | {'lines':>6} | {'syllables':>9} | "
          f"{'accuracy':>8} | {'acc (ci)':>8} | {'syll/s':>8} | {'syll/CPU-s':>10} |")
    print(f"|{'-' * 34}|{'-' * 30}|{'-' * 8}|{'-' * 11}|{'-' * 10}|{'-' * 10}|{'-' * 10}|"
          f"{'-' * 12}|")
    for name, system, lines, syl, acc, ci, speed, cspeed in rows:
        print(f"| {name:32} | {system:28} | {lines:6d} | {syl:9d} | {acc * 100:7.2f}% | "
              f"{ci * 100:7.2f}% | {speed:8.0f} | {cspeed:10.0f} |")

    # --- check --------------------------------------------------------------
    print()
    print("| check set | comments | correct | accuracy |")
    print("|---|---|---|---|")
    tot_all = ok_all = 0
    dt = 0.0
    without, with_ = [], []
    for split in ("vihsd_train.csv", "vihsd_dev.csv"):
        wo, w = gold_check_sets(args.data, split)
        if split == "vihsd_train.csv":
            w = w[:2000]
        t = time.perf_counter()
        v_without = [check(c).verdict for c in wo]
        v_with = [check(c).verdict for c in w]
        dt += time.perf_counter() - t
        without += wo
        with_ += w
        ok_wo = sum(v == "missing" for v in v_without)
        ok_w = sum(v == "ok" for v in v_with)
        print(f"| {split} typed without diacritics (expect missing) | {len(wo)} | {ok_wo} | "
              f"{ok_wo / len(wo) * 100:.2f}% |")
        print(f"| {split} typed with diacritics (expect ok) | {len(w)} | {ok_w} | "
              f"{ok_w / len(w) * 100:.2f}% |")
        print(f"| {split} mixed | {len(wo) + len(w)} | {ok_wo + ok_w} | "
              f"{(ok_wo + ok_w) / (len(wo) + len(w)) * 100:.2f}% |")
        tot_all += len(wo) + len(w)
        ok_all += ok_wo + ok_w
    tot = tot_all
    print(f"| all mixed | {tot} | {ok_all} | {ok_all / tot * 100:.2f}% |")
    v_eng = [check(s).verdict for s in ENGLISH]
    n_missing = sum(v == "missing" for v in v_eng)
    print(f"| English-only sentences judged missing | {len(ENGLISH)} | {n_missing} | "
          f"(must be 0) |")
    print(f"\ncheck speed: {tot / dt:.0f} comments/s")
    long = " ".join(with_[:40])[:2000]
    long_u = strip_marks(long)
    for label, text in (("marked", long), ("unmarked", long_u)):
        ts = []
        for _ in range(30):
            t = time.perf_counter()
            check(text)
            ts.append(time.perf_counter() - t)
        ts.sort()
        print(f"check() on a {len(text)}-char {label} comment: p50 {ts[15] * 1000:.1f} ms")
    if os.environ.get("VERBOSE"):
        for c in without:
            if check(c).verdict != "missing":
                print("WITHOUT->", check(c).verdict, c[:150])
        for c in with_:
            if check(c).verdict != "ok":
                print("WITH->", check(c).verdict, c[:150])
        for s, v in zip(ENGLISH, v_eng, strict=True):
            print("EN", v, s)


if __name__ == "__main__":
    main()
