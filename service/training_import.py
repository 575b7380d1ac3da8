"""Reading an admin's upload of labelled texts (CSV or JSON lines) into training examples.

The file is all or nothing: one that cannot be read (not UTF-8, broken CSV quoting, a line
that is not a JSON object, a missing column) is *malformed* and nothing of it is imported.
Rows that can be read but are not usable (empty text, a label other than clean / spam /
offensive / hate, a text too long) are *bad rows*, reported with their line numbers; the
caller imports nothing while there are any, unless asked to skip them.

Texts are stored in NFC, the form the classifier sees (a UTF-8 byte-order mark is
dropped). Problems carry a code and values, not sentences, so the page words them in the
reader's language.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

LABELS = ("clean", "spam", "offensive", "hate")
FORMATS = ("csv", "jsonl")
MAX_TEXT_CHARS = 20_000
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


@dataclass(frozen=True, slots=True)
class Problem:
    line: int | None
    code: str                           # see the module's MESSAGES in service/admin
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    text: str
    label: str


@dataclass
class Parsed:
    rows: list[ImportRow] = field(default_factory=list)
    bad: list[Problem] = field(default_factory=list)
    malformed: Problem | None = None


def file_name(name: str | None) -> str:
    """The upload's base name (browsers may send a path), cut to the column's 200."""
    base = PurePath((name or "").replace("\\", "/")).name.strip()
    return base[:200]


def detect_format(name: str, chosen: str) -> str | None:
    if chosen in FORMATS:
        return chosen
    return _SUFFIXES.get(PurePath(name.lower()).suffix)


def parse(data: bytes, fmt: str, text_column: str = "text",
          label_column: str = "label") -> Parsed:
    if fmt not in FORMATS:
        raise ValueError(fmt)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Parsed(malformed=Problem(data[:exc.start].count(b"\n") + 1, "not_utf8"))
    if not text.strip():
        return Parsed(malformed=Problem(None, "empty"))
    parsed = (_parse_csv if fmt == "csv" else _parse_jsonl)(text, text_column, label_column)
    if parsed.malformed is None and not parsed.rows and not parsed.bad:
        parsed.malformed = Problem(None, "empty")
    return parsed


def _parse_csv(text: str, text_column: str, label_column: str) -> Parsed:
    out = Parsed()
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
        missing = [c for c in (text_column, label_column) if c not in header]
        if missing:
            out.malformed = Problem(1, "missing_column",
                                    {"columns": ", ".join(missing), "header": ", ".join(header)})
            return out
        ti, li = header.index(text_column), header.index(label_column)
        while True:
            line = reader.line_num + 1       # where this record starts (it may span lines)
            try:
                record = next(reader)
            except StopIteration:
                break
            if not any(cell.strip() for cell in record):
                continue
            if len(record) <= max(ti, li):
                out.bad.append(Problem(line, "missing_value"))
                continue
            _check(out, line, record[ti], record[li])
    except csv.Error as exc:
        out.malformed = Problem(reader.line_num or 1, "bad_csv", {"error": str(exc)})
    return out


def _parse_jsonl(text: str, text_column: str, label_column: str) -> Parsed:
    out = Parsed()
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            out.malformed = Problem(number, "bad_json", {"error": exc.msg})
            return out
        if not isinstance(obj, dict):
            out.malformed = Problem(number, "not_object")
            return out
        if text_column not in obj or label_column not in obj:
            out.bad.append(Problem(number, "missing_value"))
            continue
        value, label = obj[text_column], obj[label_column]
        if not isinstance(value, str) or not isinstance(label, str):
            out.bad.append(Problem(number, "not_text"))
            continue
        _check(out, number, value, label)
    return out


def _check(out: Parsed, line: int, value: str, label: str) -> None:
    text = unicodedata.normalize("NFC", value).strip()
    label = label.strip().lower()
    if not text:
        out.bad.append(Problem(line, "empty_text"))
    elif label not in LABELS:
        out.bad.append(Problem(line, "bad_label", {"label": label[:40]}))
    elif len(text) > MAX_TEXT_CHARS:
        out.bad.append(Problem(line, "too_long", {"max": MAX_TEXT_CHARS}))
    elif "\x00" in text or not _encodable(text):
        # PostgreSQL stores neither NUL nor lone surrogates (a JSON "\ud800")
        out.bad.append(Problem(line, "bad_character"))
    else:
        out.rows.append(ImportRow(line, text, label))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
