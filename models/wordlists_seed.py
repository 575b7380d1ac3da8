"""Rebuild the shipped global word lists from a profanity lexicon and a clean news corpus:

    python -m models.wordlists_seed --badwords ../shared/data/lexicons/vn_badwords.json \
        --corpus ../shared/data/corpus/vntc_news.txt.gz --out models/data/wordlists

Entries typed with tone keys ("cho'") are rewritten with their marks, and entries of one
letter or digit left out (see `readable_entries`). An entry that also occurs in edited
news text is ambiguous ("lon" is "lớn" typed without marks, "cac" is "các", "má" is a
cheek): it goes to *suspect* (flag for a moderator);
every other entry is *banned*. Entries written with marks are counted as written, entries
without marks against the corpus with its marks stripped, as the matcher compares them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from collections import Counter
from pathlib import Path

import click

from models.normalize import normalize, strip_marks
from models.wordlists import canonical_word

_WORD = re.compile(r"[^\W\d_]+")
THRESHOLD = 5  # occurrences in ~19 M words of news that make an entry ambiguous
# Entries typed with a tone key after the word ("cho'" for "chó", "di~" for "đĩ"): the
# matcher drops such punctuation (it reads "đ.m" as "đm"), so as written they would be the
# plain letters, another word ("di~" → "di", i.e. "đi" typed without marks). Rewritten with
# the marks they stand for; entries that are then one letter or a digit ("b`", "v~", "4`":
# "b" is "bạn", "v" is "và" in every chat) cannot be told apart from ordinary text: left out.
TONE_KEY_REWRITES = {"con di cho'": "con đĩ chó", "thang cho'": "thằng chó", "di~": "đĩ",
                     "cdi~": "cđĩ", "condi~": "con đĩ"}
_TONE_KEY = re.compile(r"(?<=\w)['`~](?=\s|$)")


def readable_entries(entries: list[str]) -> tuple[list[str], list[str]]:
    """(entries to keep, entries left out): tone-key entries rewritten, one-character
    entries dropped, duplicates (after rewriting) dropped."""
    keep: list[str] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for raw in entries:
        entry = TONE_KEY_REWRITES.get(raw, raw)
        canonical = " ".join(canonical_word(w) for w in normalize(entry).split())
        if _TONE_KEY.search(entry) or len(canonical.replace(" ", "")) <= 1:
            dropped.append(raw)
        elif canonical not in seen:
            seen.add(canonical)
            keep.append(entry)
    return keep, dropped


def split_entries(entries: list[str], corpus: Path, threshold: int = THRESHOLD):  # noqa: ANN201
    phrases = {}
    for raw in entries:
        words = tuple(canonical_word(w) for w in normalize(raw).split())
        if words:
            phrases[raw] = words
    wanted_marked = {w for w in phrases.values() if any(strip_marks(x) != x for x in w)}
    wanted_plain = {w for w in phrases.values() if w not in wanted_marked}
    longest = max(len(w) for w in phrases.values())
    firsts = {w[0] for w in wanted_marked} | {w[0] for w in wanted_plain}
    counts: Counter = Counter()
    with gzip.open(corpus, "rt", encoding="utf-8") as fh, click.progressbar(
        fh, label="counting entries in the corpus", length=None
    ) as lines:
        for line in lines:
            words = [w.lower() for w in _WORD.findall(normalize(line))]
            plain = [strip_marks(w) for w in words]
            for i, (w, p) in enumerate(zip(words, plain, strict=True)):
                if w not in firsts and p not in firsts:
                    continue
                for n in range(1, longest + 1):
                    if i + n > len(words):
                        break
                    marked = tuple(words[i:i + n])
                    if marked in wanted_marked:
                        counts[marked] += 1
                    stripped = tuple(plain[i:i + n])
                    if stripped in wanted_plain:
                        counts[stripped] += 1
    banned, suspect = [], []
    for raw, words in phrases.items():
        (suspect if counts[words] >= threshold else banned).append((raw, counts[words]))
    return banned, suspect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--badwords", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "wordlists")
    args = parser.parse_args()
    entries = list(dict.fromkeys(e.strip() for e in json.loads(args.badwords.read_text())))
    entries, dropped = readable_entries([e for e in entries if e])
    print("left out (one letter or digit once the matcher reads it):", ", ".join(dropped))
    banned, suspect = split_entries(entries, args.corpus)
    args.out.mkdir(parents=True, exist_ok=True)
    header = ("# Seeded from vn-badwords (github.com/Eris-js/vn-badwords, MIT licence);\n"
              "# split by models/wordlists_seed.py against the VNTC news corpus.\n")
    for name, rows in (("banned.txt", banned), ("suspect.txt", suspect)):
        body = "\n".join(raw for raw, _ in sorted(rows))
        (args.out / name).write_text(header + body + "\n", encoding="utf-8")
        print(f"{name}: {len(rows)} entries")
    print("suspect (ambiguous) entries and their corpus counts:")
    print(", ".join(f"{raw} ({n})" for raw, n in sorted(suspect, key=lambda r: -r[1])))


if __name__ == "__main__":
    main()
