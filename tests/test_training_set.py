"""training_set(): what retraining learns from beside the base data — the moderators' standing
decisions with the admins' corrections (relabelled, excluded, an unlabelled reject given a
label), then the imported examples; the SQL twin of label_for(); the admin list agreeing with
training_set(); the example writers. Comments go through the real intake and pipeline and are
decided by service.moderation (the fixture of tests/test_training_labels.py)."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import literal, select, update

from models.classifier.datasets import DataSpec, load_file
from service import training_examples, training_labels
from service.moderation import REJECT_REASONS
from service.storage import (
    Comment,
    CommentStatus,
    ModerationAction,
    TrainingExample,
    TrainingOverride,
)
from service.training_labels import (
    EXAMPLE_COLUMNS,
    Example,
    label_for,
    label_sql,
    training_set,
    write_examples_csv,
    write_examples_jsonl,
)
from tests.test_training_labels import TEXTS, decided  # noqa: F401 - the fixture

# The labels the decisions of the fixture imply (None: rejected for another reason).
DERIVED = {"plain": "clean", "teencode": "clean", "quoted": "clean", "nfd": "clean",
           "redecided": "clean", "other_site": "clean", "spam": "spam",
           "offensive": "offensive", "hate": "hate", "no_diacritics": None, "off_topic": None,
           "duplicate": None, "other": None, "banned_author": None}


def names(ids: dict[str, int]) -> dict[int, str]:
    return {v: k for k, v in ids.items() if not k.startswith("_")}


def as_named(ids: dict[str, int], rows) -> list[tuple[str, str | int, str]]:  # noqa: ANN001
    """Decisions by fixture name, imported rows by their text."""
    by_id = names(ids)
    return [(r.source, by_id[r.ref] if r.source == "decision" else r.text, r.label)
            for r in rows]


def add_imports(sessions, ids: dict[str, int]) -> dict[str, int]:  # noqa: ANN001
    """Imported rows: global, per site, one excluded; text → id."""
    rows = [
        ("Cảm ơn phóng viên đã đưa tin", "clean", None, False),
        ("Kiếm tiền online 500k mỗi ngày inbox mình", "spam", ids["_site"], False),
        ("đồ óc chó", "offensive", ids["_other_site"], False),
        ("Bán hàng online giá rẻ", "spam", None, True),
        (unicodedata.normalize("NFD", "Hòa giải thành công"), "clean", None, False),
    ]
    with sessions() as s:
        made = [TrainingExample(text=t, label=label, site_id=site, excluded=excluded,
                                source="nhap.csv") for t, label, site, excluded in rows]
        s.add_all(made)
        s.commit()
        return {m.text: m.id for m in made}


def correct(sessions, **overrides: tuple[str | None, bool]) -> None:  # noqa: ANN001
    with sessions() as s:
        for cid, (label, excluded) in overrides.items():
            s.add(TrainingOverride(comment_id=int(cid), label=label, excluded=excluded))
        s.commit()


def test_decisions_with_corrections_then_imports(decided, sessions) -> None:  # noqa: ANN001, F811
    ids = decided
    add_imports(sessions, ids)
    correct(sessions, **{
        str(ids["plain"]): ("spam", False),         # relabelled
        str(ids["spam"]): (None, True),             # excluded
        str(ids["off_topic"]): ("hate", False),     # an unlabelled reject given a label
        str(ids["quoted"]): (None, False),          # a neutral row: the decision's label
        str(ids["hate"]): ("offensive", True),      # relabelled and excluded: out
        str(ids["undone"]): ("spam", False),        # not a standing decision: still out
        str(ids["left_pending"]): ("clean", False),
    })
    with sessions() as s:
        rows = training_set(s)
        assert not isinstance(rows, list)           # streamed
        rows = list(rows)
    expected_decisions = {n: label for n, label in DERIVED.items() if label}
    expected_decisions.update(plain="spam", off_topic="hate")
    del expected_decisions["spam"], expected_decisions["hate"]
    got = as_named(ids, rows)
    decisions = [(n, label) for source, n, label in got if source == "decision"]
    assert dict(decisions) == expected_decisions
    assert len(decisions) == len(expected_decisions)
    # decisions first (oldest decision first), then the imports in import order
    sources = [r.source for r in rows]
    assert sources == sorted(sources)               # "decision" < "import"
    assert [r.at for r in rows if r.source == "decision"] == sorted(
        r.at for r in rows if r.source == "decision")
    assert [(t, label) for source, t, label in got if source == "import"] == [
        ("Cảm ơn phóng viên đã đưa tin", "clean"),
        ("Kiếm tiền online 500k mỗi ngày inbox mình", "spam"),
        ("đồ óc chó", "offensive"),
        ("Hòa giải thành công", "clean")]           # NFC; the excluded one is out
    by_name = {names(ids)[r.ref]: r for r in rows if r.source == "decision"}
    assert by_name["nfd"].text == unicodedata.normalize("NFC", TEXTS["nfd"])
    assert by_name["other_site"].site_id == ids["_other_site"]
    assert all(isinstance(r, Example) and r.at.endswith("Z") for r in rows)


def test_site_and_since(decided, sessions) -> None:  # noqa: ANN001, F811
    ids = decided
    imported = add_imports(sessions, ids)
    with sessions() as s:
        only_b = as_named(ids, training_set(s, site_id=ids["_other_site"]))
    # site B: its decision, its own import and the global ones, not site A's
    assert only_b == [("decision", "other_site", "clean"),
                      ("import", "Cảm ơn phóng viên đã đưa tin", "clean"),
                      ("import", "đồ óc chó", "offensive"),
                      ("import", "Hòa giải thành công", "clean")]
    long_ago = datetime(2025, 1, 1, 9, tzinfo=UTC)
    with sessions() as s:
        s.execute(update(ModerationAction).where(ModerationAction.comment_id == ids["spam"])
                  .values(created_at=long_ago))
        s.execute(update(TrainingExample).where(TrainingExample.id == imported["đồ óc chó"])
                  .values(created_at=long_ago))
        s.commit()
        recent = as_named(ids, training_set(s, since=long_ago + timedelta(seconds=1)))
        everything = as_named(ids, training_set(s, since=long_ago))
    assert ("decision", "spam", "spam") not in recent
    assert ("import", "đồ óc chó", "offensive") not in recent
    assert len(everything) == len(recent) + 2


def test_decisions_first_then_imports_streamed(decided, sessions, monkeypatch) -> None:  # noqa: ANN001, F811
    """Every decision before the first imported row, also when the decisions span several
    database batches."""
    monkeypatch.setattr(training_labels, "BATCH", 2)
    add_imports(sessions, decided)
    with sessions() as s:
        sources = [r.source for r in training_set(s)]
    first_import = sources.index("import")
    assert set(sources[:first_import]) == {"decision"} and first_import == 9
    assert set(sources[first_import:]) == {"import"}


def test_scored_decisions_are_training_sets_decisions(decided, sessions) -> None:  # noqa: ANN001, F811
    """What the Thresholds page reads: the decisions training_set() yields (with the
    corrections), with the classifier's stored scores."""
    ids = decided
    correct(sessions, **{str(ids["plain"]): ("spam", False), str(ids["spam"]): (None, True),
                         str(ids["off_topic"]): ("hate", False)})
    since = datetime.now(UTC) - timedelta(days=1)
    with sessions() as s:
        expected = {e.ref: e.label for e in training_set(s, since=since)
                    if e.source == "decision"}
        got = list(training_examples.scored_decisions(s, None, since, ("spam", "hate")))
        stored = {c.id: c for c in s.scalars(select(Comment).where(Comment.id.in_(expected)))}
    assert {cid: label for cid, label, *_ in got} == expected
    for cid, _label, version, spam, hate in got:
        assert version == stored[cid].model_version == "default"
        assert (spam, hate) == (stored[cid].analysis["scores"]["spam"],
                                stored[cid].analysis["scores"]["hate"])
    with sessions() as s:
        only_b = list(training_examples.scored_decisions(s, ids["_other_site"], since,
                                                         ("spam",)))
        later = list(training_examples.scored_decisions(
            s, None, datetime.now(UTC) + timedelta(minutes=1), ("spam",)))
    assert [row[0] for row in only_b] == [ids["other_site"]] and later == []


REASONS = [None, "", "edited", "undo", "spammy", "spam:", "hate:x",
           *REJECT_REASONS, *(f"{r}: ghi chú của biên tập viên" for r in REJECT_REASONS)]
STATUSES = [s.value for s in CommentStatus]


def test_label_sql_agrees_with_label_for(engine) -> None:  # noqa: ANN001
    """The SQL label (used to filter and count the admin list) on every status and every
    reason moderation writes (a code, or "code: note"), on this database."""
    cases = [(status, reason) for status in STATUSES for reason in REASONS]
    with engine.connect() as conn:
        got = [conn.scalar(select(label_sql(literal(status), literal(reason))))
               for status, reason in cases]
    assert got == [label_for(status, reason) for status, reason in cases]
    assert {"clean", "spam", "offensive", "hate", None} == set(got)


def test_admin_list_agrees_with_training_set(decided, sessions) -> None:  # noqa: ANN001, F811
    ids = decided
    add_imports(sessions, ids)
    correct(sessions, **{str(ids["plain"]): ("spam", False), str(ids["spam"]): (None, True),
                         str(ids["other"]): ("offensive", False)})
    for site in (None, ids["_site"], ids["_other_site"]):
        f = training_examples.ExampleFilter(site_id=site)
        with sessions() as s:
            listed = training_examples.page(s, f, 1, 1000)
            counts = training_examples.counts(s, f)
            expected = {(e.source, e.ref, e.label) for e in training_set(s, site_id=site)}
        used = {(r.source, r.ref, r.label) for r in listed if r.used}
        assert used == expected
        assert counts.used() == len(expected) and counts.matching(f) == len(listed)
        for label in ("clean", "spam", "offensive", "hate"):
            assert counts.used(label) == sum(1 for e in expected if e[2] == label)
    # pages of 3 (decisions and imports merged by time) make up the whole list
    with sessions() as s:
        everything = training_examples.page(s, training_examples.ExampleFilter(), 1, 1000)
        pages = [training_examples.page(s, training_examples.ExampleFilter(), n, 3)
                 for n in range(1, len(everything) // 3 + 2)]
    assert [r.key for p in pages for r in p] == [r.key for r in everything]
    assert [r.source for r in everything] == ["import"] * 5 + ["decision"] * 14  # newest first
    # every standing decision is listed, also the ones without a label
    with sessions() as s:
        listed = training_examples.page(s, training_examples.ExampleFilter(source="decision"),
                                        1, 1000)
    assert {names(ids)[r.ref] for r in listed} == set(DERIVED)
    assert {names(ids)[r.ref]: r.derived_label for r in listed} == DERIVED


def test_example_writers(tmp_path) -> None:  # noqa: ANN001
    rows = [Example('Ông ấy nói "sẽ xử lý",\nrồi thôi', "clean", "decision", 7, 1,
                    "2026-03-01T08:30:00Z"),
            Example("Vay tiền nhanh, ib zalo", "spam", "import", 3, None, "2026-03-02T01:00:00Z")]
    buf = io.StringIO(newline="")
    assert write_examples_csv(rows[:1], buf) == {"clean": 1}
    assert write_examples_csv(rows[1:], buf, header=False) == {"spam": 1}   # continued
    back = list(csv.DictReader(io.StringIO(buf.getvalue(), newline="")))
    assert list(back[0]) == list(EXAMPLE_COLUMNS)
    assert [(b["text"], b["label"], b["source"], b["ref"], b["site_id"]) for b in back] == [
        ('Ông ấy nói "sẽ xử lý",\nrồi thôi', "clean", "decision", "7", "1"),
        ("Vay tiền nhanh, ib zalo", "spam", "import", "3", "")]
    path = tmp_path / "set.csv"
    path.write_text(buf.getvalue(), "utf-8", newline="")
    texts, labels, _ = load_file(DataSpec(str(path), "text", "label"))
    assert (texts, labels) == ([r.text for r in rows], ["clean", "spam"])
    out = io.StringIO()
    assert write_examples_jsonl(rows, out) == {"clean": 1, "spam": 1}
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "Ông ấy nói" in lines[0]
    assert json.loads(lines[1]) == {"text": "Vay tiền nhanh, ib zalo", "label": "spam",
                                    "source": "import", "ref": 3, "site_id": None,
                                    "at": "2026-03-02T01:00:00Z"}


@pytest.mark.parametrize("op", ["relabel", "exclude", "include", "clear"])
def test_corrections_through_the_admin_code_reach_training_set(decided, sessions,  # noqa: ANN001, F811
                                                                op: str) -> None:
    """service.training_examples.apply (what the page calls) changes training_set()."""
    ids = decided
    target = ids["spam"]
    if op in ("include", "clear"):
        correct(sessions, **{str(target): ("hate", True)})
    with sessions() as s:
        changes, skipped = training_examples.apply(
            s, op, [("d", target)], None, "offensive" if op == "relabel" else None)
        s.commit()
        labels = {e.ref: e.label for e in training_set(s) if e.source == "decision"}
    assert (len(changes), skipped) == (1, 0)
    assert labels.get(target) == {"relabel": "offensive", "exclude": None, "include": "hate",
                                  "clear": "spam"}[op]
