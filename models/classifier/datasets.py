"""Loading labelled comments from CSV / JSONL files.

A :class:`DataSpec` names one file, its text and label columns, an optional
label map and a sample weight. Several specs are loaded together with
:func:`load_many`; rows whose (normalized) text already appeared in an *earlier
file* are dropped, so the file given first wins when datasets overlap (repeats
inside one file are kept: they are part of that dataset's distribution).

Label maps are written ``0=clean,1=offensive,2=hate``. ``*`` matches any value
not listed (``[]=clean,*=offensive`` turns ViHOS span lists into labels). With a
map, rows whose label is not mapped (and no ``*``) are skipped and counted;
mapping a value to ``-`` drops it explicitly. Without a map the label values
are used as they are.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from models.normalize import normalize

__all__ = ["DataSpec", "Dataset", "parse_label_map", "load_file", "load_many", "text_key"]

LABELS = ("clean", "spam", "offensive", "hate")


def parse_label_map(text: str | None) -> dict[str, str] | None:
    """``"0=clean,1=offensive"`` → ``{"0": "clean", "1": "offensive"}``."""
    if not text:
        return None
    out: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, val = part.partition("=")
        if not sep or not val.strip():
            raise ValueError(f"bad label map entry {part!r} (expected VALUE=LABEL)")
        out[key.strip()] = val.strip()
    return out


@dataclass
class DataSpec:
    path: str
    text_column: str = "text"
    label_column: str = "label"
    label_map: dict[str, str] | None = None
    weight: float = 1.0

    def describe(self) -> dict:
        return {"path": str(self.path), "file": os.path.basename(str(self.path)),
                "text_column": self.text_column, "label_column": self.label_column,
                "label_map": self.label_map, "weight": self.weight}


@dataclass
class Dataset:
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)
    summary: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def label_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(self.labels).items()))


def _rows(path: Path):
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    opener = open
    if path.suffix == ".gz":
        import gzip
        opener = gzip.open  # type: ignore[assignment]
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        if suffix.startswith(".jsonl") or suffix.startswith(".ndjson") or suffix == ".json":
            for n, line in enumerate(fh, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{n}: not a JSON line ({e.msg})") from None
                if isinstance(obj, dict):
                    yield obj
        else:
            dialect = "excel-tab" if suffix.startswith(".tsv") else "excel"
            yield from csv.DictReader(fh, dialect=dialect)


def load_file(spec: DataSpec) -> tuple[list[str], list[str], dict]:
    """(texts, labels, summary) of one file. Raises ValueError on a missing column."""
    path = Path(spec.path)
    texts: list[str] = []
    labels: list[str] = []
    skipped_label = skipped_empty = 0
    first = True
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    for row in _rows(path):
        if first:
            for col in (spec.text_column, spec.label_column):
                if col not in row:
                    raise ValueError(f"{path}: no column {col!r} (columns: {', '.join(row)})")
            first = False
        text = row.get(spec.text_column)
        raw = row.get(spec.label_column)
        if not isinstance(text, str) or not text.strip():
            skipped_empty += 1
            continue
        value = "" if raw is None else (json.dumps(raw) if isinstance(raw, list) else str(raw))
        value = value.strip()
        if spec.label_map is not None:
            label = spec.label_map.get(value, spec.label_map.get("*"))
            if label is None or label == "-":
                skipped_label += 1
                continue
        else:
            label = value
        if not label:
            skipped_label += 1
            continue
        texts.append(text)
        labels.append(label)
    summary = {**spec.describe(), "rows": len(texts), "skipped_unmapped_label": skipped_label,
               "skipped_empty_text": skipped_empty, "labels": dict(sorted(Counter(labels).items()))}
    return texts, labels, summary


def text_key(text: str) -> str:
    """The form under which two texts count as the same comment."""
    return normalize(text).lower()


def load_many(specs: list[DataSpec], dedupe: bool = True,
              exclude: set[str] | None = None) -> Dataset:
    """All files in order; with ``dedupe`` a text seen in an earlier file (normal form)
    is dropped; texts whose :func:`text_key` is in ``exclude`` (held-out evaluation
    data) are dropped too."""
    ds = Dataset()
    seen: set[str] = set()
    for k, spec in enumerate(specs):
        texts, labels, summary = load_file(spec)
        dup = excluded = 0
        kept = Counter()
        mine: set[str] = set()
        for t, y in zip(texts, labels, strict=True):
            if exclude and text_key(t) in exclude:
                excluded += 1
                continue
            if dedupe:
                key = text_key(t)
                if key in seen:
                    dup += 1
                    continue
                mine.add(key)
            ds.texts.append(t)
            ds.labels.append(y)
            ds.weights.append(spec.weight)
            ds.sources.append(k)
            kept[y] += 1
        seen |= mine
        summary["duplicates_dropped"] = dup
        if exclude is not None:
            summary["excluded_held_out"] = excluded
        summary["used"] = sum(kept.values())
        summary["used_labels"] = dict(sorted(kept.items()))
        ds.summary.append(summary)
    return ds
