"""The training examples admins curate: every moderator decision (with its provenance and the
label it implies, service/training_labels.py) and every imported row, as one list that is
filtered, counted and paginated in SQL, and the admins' corrections to it.

A decision's *effective* label is the admin's relabel (``training_overrides.label``) if
any, else the label the decision implies; an excluded example, or one without a label, is
not trained on. This is exactly what :func:`service.training_labels.training_set` yields
(tests/test_training_set.py checks the two agree). Imported rows carry their own label and
``excluded`` flag (``training_examples``).

Rows are keyed ``d:<comment id>`` (decisions) and ``i:<imported row id>``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    case,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from service.params import parse_id
from service.storage import (
    Comment,
    ModerationAction,
    TrainingExample,
    TrainingOverride,
    User,
)
from service.storage.tables import utcnow
from service.training_labels import label_for, label_sql, standing_decision

LABELS = ("clean", "spam", "offensive", "hate")
SOURCES = ("decision", "import")
NO_LABEL = "none"   # the label filter's value for decisions that imply no label
OPERATIONS = ("relabel", "exclude", "include", "clear")


@dataclass(frozen=True, slots=True)
class ExampleFilter:
    site_id: int | None = None
    label: str | None = None          # effective label, or NO_LABEL
    moderator: str | None = None      # the deciding moderator; for imports, who imported
    source: str | None = None         # decision | import
    excluded: bool | None = None
    since: datetime | None = None     # decided / imported at or after
    until: datetime | None = None     # ... and before
    q: str | None = None              # text contains (case-insensitive for ASCII on SQLite)
    file: str | None = None           # one imported file (then no decisions)


@dataclass(frozen=True, slots=True)
class Row:
    source: str
    ref: int
    site_id: int | None
    text: str
    derived_label: str | None         # what the decision implies (decisions only)
    override_label: str | None        # the admin's relabel (decisions only)
    label: str | None                 # effective
    excluded: bool
    action: str | None                # approved | rejected (decisions only)
    reason: str | None                # as stored: "spam", "offensive: note", "edited"
    moderator: str | None
    at: datetime
    file: str | None                  # the imported file's name (imports only)
    note: str | None

    @property
    def key(self) -> str:
        return f"{self.source[0]}:{self.ref}"

    @property
    def reason_code(self) -> str | None:
        return self.reason.split(":", 1)[0].strip() if self.reason else None

    @property
    def reason_note(self) -> str | None:
        return self.reason.split(":", 1)[1].strip() or None if self.reason and ":" in self.reason \
            else None

    @property
    def used(self) -> bool:
        """Retraining learns from it."""
        return self.label is not None and not self.excluded


# The list is read newest first by primary key (the order decisions and imports were made),
# so a page walks the keys' indexes and stops: no sort or aggregate over the whole history.

def _effective() -> tuple[ColumnElement[str | None], ColumnElement[bool]]:
    """(effective label, excluded) of a decision row joined to its override."""
    derived = label_sql(ModerationAction.to_status, ModerationAction.reason)
    return (func.coalesce(func.nullif(TrainingOverride.label, ""), derived),
            func.coalesce(TrainingOverride.excluded, false()))


def _decisions(f: ExampleFilter, *columns: Any, by_label: bool = True) -> Select:
    """``columns`` of each standing decision the filter keeps (FROM the action, its comment and
    its override)."""
    action, override = ModerationAction, TrainingOverride
    effective, excluded = _effective()
    only_excluded = by_label and f.excluded is True
    stmt = select(*columns).select_from(action).join(Comment, Comment.id == action.comment_id)
    # excluded ones all have an override: an inner join lets the database start from the
    # (few) overrides instead of walking every decision
    stmt = (stmt.join if only_excluded else stmt.outerjoin)(
        override, override.comment_id == action.comment_id)
    stmt = stmt.where(standing_decision(action, Comment))
    if f.site_id is not None:
        stmt = stmt.where(Comment.site_id == f.site_id)
    if f.moderator:
        stmt = stmt.where(action.actor == f.moderator)
    if f.since is not None:
        stmt = stmt.where(action.created_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(action.created_at < f.until)
    if f.q:
        stmt = stmt.where(_contains(f.q, Comment.body_original, Comment.body_normalized))
    if by_label:
        if f.label == NO_LABEL:
            stmt = stmt.where(effective.is_(None))
        elif f.label:
            stmt = stmt.where(effective == f.label)
        if f.excluded is not None:
            stmt = stmt.where(excluded.is_(f.excluded))
    return stmt


def _imports(f: ExampleFilter, *columns: Any, by_label: bool = True) -> Select:
    ex = TrainingExample
    stmt = select(*columns).select_from(ex)
    if f.site_id is not None:
        # as in training_set(): a site trains on its own imports and the global ones
        stmt = stmt.where(or_(ex.site_id == f.site_id, ex.site_id.is_(None)))
    if f.moderator:
        stmt = stmt.where(ex.created_by.in_(select(User.id).where(User.username == f.moderator)))
    if f.since is not None:
        stmt = stmt.where(ex.created_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(ex.created_at < f.until)
    if f.q:
        stmt = stmt.where(_contains(f.q, ex.text))
    if f.file:
        stmt = stmt.where(ex.source == f.file)
    if by_label:
        if f.label == NO_LABEL:
            stmt = stmt.where(false())
        elif f.label:
            stmt = stmt.where(ex.label == f.label)
        if f.excluded is not None:
            stmt = stmt.where(ex.excluded.is_(f.excluded))
    return stmt


def _contains(q: str, *columns: Any) -> ColumnElement[bool]:
    # SQLite's lower() folds ASCII only: also match the text as typed ("Đường" stays "Đường").
    needle = q.lower()
    return or_(*(c for col in columns for c in (
        func.lower(col).contains(needle, autoescape=True), col.contains(q, autoescape=True))))


def _sources(f: ExampleFilter) -> tuple[bool, bool]:
    """Which lists the filter reads: (decisions, imports)."""
    return (f.source in (None, "decision") and not f.file, f.source in (None, "import"))


def page(session: Session, f: ExampleFilter, number: int, size: int) -> list[Row]:
    """One page, newest first; only that page's keys and rows leave the database."""
    with_decisions, with_imports = _sources(f)
    skip = (number - 1) * size
    if with_decisions and with_imports:
        # two ordered key lists merged by time: each is read up to the end of this page
        d = _decisions(f, ModerationAction.id, ModerationAction.created_at).order_by(
            ModerationAction.id.desc()).limit(skip + size)
        i = _imports(f, TrainingExample.id, TrainingExample.created_at).order_by(
            TrainingExample.id.desc()).limit(skip + size)
        merged = heapq.merge((("d", k, at) for k, at in session.execute(d)),
                             (("i", k, at) for k, at in session.execute(i)),
                             key=lambda key: key[2], reverse=True)
        keys = [(kind, k) for kind, k, _ in islice(merged, skip, skip + size)]
    elif with_decisions:
        keys = [("d", k) for k in session.scalars(_decisions(f, ModerationAction.id).order_by(
            ModerationAction.id.desc()).offset(skip).limit(size))]
    else:
        keys = [("i", k) for k in session.scalars(_imports(f, TrainingExample.id).order_by(
            TrainingExample.id.desc()).offset(skip).limit(size))]
    rows = {**_decision_details(session, [k for kind, k in keys if kind == "d"]),
            **_import_details(session, [k for kind, k in keys if kind == "i"])}
    return [rows[key] for key in keys]


def _decision_details(session: Session, action_ids: list[int]) -> dict[tuple[str, int], Row]:
    if not action_ids:
        return {}
    action, override = ModerationAction, TrainingOverride
    effective, excluded = _effective()
    stmt = (select(action.id, Comment.id, Comment.site_id, Comment.body_original,
                   label_sql(action.to_status, action.reason), override.label, effective,
                   excluded, action.to_status, action.reason, action.actor,
                   action.created_at, override.note)
            .select_from(action).join(Comment, Comment.id == action.comment_id)
            .outerjoin(override, override.comment_id == action.comment_id)
            .where(action.id.in_(action_ids)))
    return {("d", aid): Row("decision", ref, site, text, derived, over or None, label or None,
                            bool(exc), status, reason, actor, at, None, note)
            for aid, ref, site, text, derived, over, label, exc, status, reason, actor, at, note
            in session.execute(stmt)}


def _import_details(session: Session, ids: list[int]) -> dict[tuple[str, int], Row]:
    if not ids:
        return {}
    ex = TrainingExample
    stmt = (select(ex.id, ex.site_id, ex.text, ex.label, ex.excluded, User.username,
                   ex.created_at, ex.source)
            .select_from(ex).outerjoin(User, User.id == ex.created_by).where(ex.id.in_(ids)))
    return {("i", ref): Row("import", ref, site, text, None, None, label, bool(exc), None, None,
                            who, at, file, None)
            for ref, site, text, label, exc, who, at, file in session.execute(stmt)}


def scored_decisions(session: Session, site_id: int | None, since: datetime,
                     categories: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
    """(comment id, effective label, model version, p(category) for each of ``categories``)
    of every decision retraining would learn from (labelled, not excluded: the decisions of
    training_set()) made at or after ``since``, whose comment the classifier scored.
    Streamed."""
    effective, _ = _effective()
    scores = [Comment.analysis[("scores", c)].as_float() for c in categories]
    stmt = _decisions(ExampleFilter(site_id=site_id, since=since, excluded=False),
                      Comment.id, effective, Comment.model_version, *scores
                      ).where(effective.is_not(None), *(p.is_not(None) for p in scores))
    yield from session.execute(stmt.execution_options(yield_per=1000))


@dataclass
class Counts:
    """Counts under a filter's site/moderator/source/date/text conditions, by effective label
    (None: the decision implies none) and whether excluded."""

    cells: dict[tuple[str | None, bool], int] = field(default_factory=dict)

    def used(self, label: str | None = None) -> int:
        return sum(n for (lab, exc), n in self.cells.items()
                   if lab is not None and not exc and (label is None or lab == label))

    def excluded(self, label: str | None = None) -> int:
        return sum(n for (lab, exc), n in self.cells.items()
                   if exc and (label is None or lab == label))

    def unlabelled(self) -> int:
        return sum(n for (lab, exc), n in self.cells.items() if lab is None and not exc)

    def matching(self, f: ExampleFilter) -> int:
        """How many rows the filter's label/excluded conditions keep (the list's length)."""
        want = None if f.label is None else (None if f.label == NO_LABEL else f.label)
        return sum(n for (lab, exc), n in self.cells.items()
                   if (f.label is None or lab == want)
                   and (f.excluded is None or exc == f.excluded))


def counts(session: Session, f: ExampleFilter) -> Counts:
    with_decisions, with_imports = _sources(f)
    cells: dict[tuple[str | None, bool], int] = {}
    queries = []
    if with_decisions:
        effective, excluded = _effective()
        queries.append(_decisions(f, effective, excluded, func.count(), by_label=False)
                       .group_by(effective, excluded))
    if with_imports:
        ex = TrainingExample
        queries.append(_imports(f, ex.label, ex.excluded, func.count(), by_label=False)
                       .group_by(ex.label, ex.excluded))
    for query in queries:
        for label, excluded, n in session.execute(query):
            key = (label or None, bool(excluded))
            cells[key] = cells.get(key, 0) + n
    return Counts(cells)


def moderators(session: Session) -> list[str]:
    """Names for the moderator filter: the users (a deleted user's name still filters
    when typed in the URL)."""
    return list(session.scalars(select(User.username).order_by(User.username)))


@dataclass(frozen=True, slots=True)
class ImportSummary:
    file: str | None
    site_id: int | None
    rows: int
    excluded: int
    first: datetime
    last: datetime


def imports(session: Session) -> list[ImportSummary]:
    ex = TrainingExample
    stmt = (select(ex.source, ex.site_id, func.count(),
                   func.sum(case((ex.excluded.is_(True), 1), else_=0)),
                   func.min(ex.created_at), func.max(ex.created_at))
            .group_by(ex.source, ex.site_id).order_by(func.max(ex.created_at).desc()))
    return [ImportSummary(file, site, n, int(exc or 0), first, last)
            for file, site, n, exc, first, last in session.execute(stmt)]


# --- corrections ---------------------------------------------------------------------------

class UnknownExample(LookupError):
    """A key that names no comment / imported row."""


@dataclass(frozen=True, slots=True)
class Change:
    key: str
    target_type: str                  # comment | training_example
    target_id: int
    before: dict[str, Any]
    after: dict[str, Any]


def parse_keys(values: Iterable[str]) -> list[tuple[str, int]]:
    """["d:12", "i:3"] → [("d", 12), ("i", 3)]; ValueError on anything else."""
    keys = []
    for value in values:
        kind, _, ref = value.partition(":")
        number = parse_id(ref)
        if kind not in ("d", "i") or number is None:
            raise ValueError(value)
        keys.append((kind, number))
    return list(dict.fromkeys(keys))


def apply(session: Session, op: str, keys: list[tuple[str, int]], user_id: int | None,
          label: str | None = None, note: str | None = None) -> tuple[list[Change], int]:
    """Relabel (to ``label``), exclude, include or clear (drop the admin's override) the
    examples; returns the changes made (not committed: the caller adds its audit rows and
    commits) and how many keys it left alone (nothing to change, or not applicable: a
    comment whose decision no longer stands, clearing an imported row)."""
    if op not in OPERATIONS or (op == "relabel") != (label is not None):
        raise ValueError(op)
    if label is not None and label not in LABELS:
        raise ValueError(label)
    decided = [ref for kind, ref in keys if kind == "d"]
    imported = [ref for kind, ref in keys if kind == "i"]
    changes: list[Change] = []
    skipped = 0
    if decided:
        found = set(session.scalars(select(Comment.id).where(Comment.id.in_(decided))))
        if missing := set(decided) - found:
            raise UnknownExample(sorted(missing))
        standing = _standing_labels(session, decided)
        overrides = {o.comment_id: o for o in session.scalars(
            select(TrainingOverride).where(TrainingOverride.comment_id.in_(decided)))}
        for ref in decided:
            if ref not in standing:
                skipped += 1
                continue
            change = _change_decision(session, ref, standing[ref], overrides.get(ref), op,
                                      label, note, user_id)
            if change is None:
                skipped += 1
            else:
                changes.append(change)
    if imported:
        rows = {r.id: r for r in session.scalars(
            select(TrainingExample).where(TrainingExample.id.in_(imported)))}
        if missing := set(imported) - set(rows):
            raise UnknownExample(sorted(missing))
        for ref in imported:
            change = _change_import(rows[ref], op, label)
            if change is None:
                skipped += 1
            else:
                changes.append(change)
    session.flush()
    return changes, skipped


def _standing_labels(session: Session, comment_ids: list[int]) -> dict[int, str | None]:
    """comment id → the label its standing decision implies (None: no label), for the
    comments whose current status is a moderator's decision."""
    action = ModerationAction
    rows = session.execute(
        select(action.comment_id, action.to_status, action.reason)
        .join(Comment, Comment.id == action.comment_id)
        .where(action.comment_id.in_(comment_ids), standing_decision(action, Comment)))
    return {cid: label_for(status, reason) for cid, status, reason in rows}


def _state(label: str | None, excluded: bool, override: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"label": label, "excluded": excluded}
    if override is not None:
        state["override"] = override
    return state


def _change_decision(session: Session, ref: int, derived: str | None,
                     row: TrainingOverride | None, op: str, label: str | None,
                     note: str | None, user_id: int | None) -> Change | None:
    old_label = row.label if row is not None and row.label else None
    old_excluded = bool(row.excluded) if row is not None else False
    new_label, new_excluded = old_label, old_excluded
    if op == "relabel":
        # relabelling to what the decision says already is no override at all
        new_label = None if label == derived else label
    elif op in ("exclude", "include"):
        new_excluded = op == "exclude"
    else:
        new_label, new_excluded = None, False
    if (new_label, new_excluded) == (old_label, old_excluded):
        return None
    before = _state(old_label or derived, old_excluded, old_label)
    after = _state(new_label or derived, new_excluded, new_label)
    if new_label is None and not new_excluded:
        if row is not None:
            session.delete(row)
    else:
        if row is None:
            row = TrainingOverride(comment_id=ref)
            session.add(row)
        row.label, row.excluded = new_label, new_excluded
        row.updated_at, row.updated_by = utcnow(), user_id
        if note:
            row.note = note
    return Change(f"d:{ref}", "comment", ref, before, after)


def _change_import(row: TrainingExample, op: str, label: str | None) -> Change | None:
    before = _state(row.label, bool(row.excluded))
    if op == "relabel":
        row.label = label
    elif op in ("exclude", "include"):
        row.excluded = op == "exclude"
    else:
        return None  # an imported row has no override to clear
    after = _state(row.label, bool(row.excluded))
    return None if after == before else Change(f"i:{row.id}", "training_example", row.id,
                                               before, after)


def set_import_excluded(session: Session, file: str, site_id: int | None,
                        excluded: bool) -> int:
    """Exclude (or include again) every row of one import (file name and site); returns
    how many rows changed. Not committed."""
    ex = TrainingExample
    return session.execute(update(ex).where(
        ex.source == file,
        ex.site_id.is_(None) if site_id is None else ex.site_id == site_id,
        ex.excluded.is_(not excluded)).values(excluded=excluded)
        .execution_options(synchronize_session=False)).rowcount
