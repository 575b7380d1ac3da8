"""Moderators' decisions as labelled training examples for the content classifier.

A comment's *current* human decision is the latest audit row written by a person (not a
``system:<phase>`` actor) whose ``to_status`` is still the comment's status: an undone
decision no longer counts (the undo row is later, and the status moved back), and
automatic decisions never count. The label that decision implies, :func:`label_for`:

=====================================  ============
decision                               label
=====================================  ============
approve (as written, or edited)        ``clean``
reject, reason ``spam``                ``spam``
reject, reason ``offensive``           ``offensive``
reject, reason ``hate``                ``hate``
reject, reason ``banned``              none
reject, ``no_diacritics``,             none
``off_topic``, ``duplicate``,
``other`` (or an unknown reason)
=====================================  ============

"None" rows say nothing about the content category (the author was banned, the text was
off topic, a repeat, written without marks…), so they are not classifier examples; they
are exported only on request, with an empty label, for auditing. A comment whose last
human action is not a decision (an undo back to the queue, or a removal after approval)
is not exported at all. An edited approval is
labelled ``clean`` on the *original* text, which is what the classifier sees at intake
(most edits restore diacritics; the ``edited`` column lets a trainer leave them out).

The files (:func:`write_csv`, :func:`write_jsonl`) have the columns of :data:`COLUMNS` and
feed ``vimod model train --data FILE --text-column text --label-column label``.
"""

from __future__ import annotations

import csv
import json
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any, TextIO

from sqlalchemy import ColumnElement, Subquery, and_, case, exists, func, not_, or_, select
from sqlalchemy.orm import Session, aliased

from service.storage import (
    Comment,
    CommentStatus,
    ModerationAction,
    TrainingExample,
    TrainingOverride,
)

__all__ = ["COLUMNS", "EXAMPLE_COLUMNS", "Decision", "Example", "current_decisions",
           "decisions", "human", "label_for", "label_sql", "standing_decision", "training_set",
           "write_csv", "write_examples_csv", "write_examples_jsonl", "write_jsonl"]

# Reject reasons (service.moderation.REJECT_REASONS) that name a content category.
_REJECT_LABELS = {"spam": "spam", "offensive": "offensive", "hate": "hate"}
_DECISIONS = (CommentStatus.approved, CommentStatus.rejected)
BATCH = 1000

COLUMNS = ("comment_id", "site_id", "text", "label", "action", "reason", "edited",
           "moderator", "decided_at")


def label_for(to_status: str, reason: str | None) -> str | None:
    """The classifier label a moderator's decision implies, or None (see the module doc).

    ``reason`` is the reject reason code, or the audit row's reason as stored
    (``"spam: note"``, ``"edited"``)."""
    if to_status == CommentStatus.approved:
        return "clean"
    if to_status == CommentStatus.rejected:
        return _REJECT_LABELS.get(_reason_code(reason) or "")
    return None


def label_sql(to_status: ColumnElement[str], reason: ColumnElement[str | None]
              ) -> ColumnElement[str | None]:
    """:func:`label_for` as a SQL expression (to filter and count by label in the database);
    tests/test_training_set.py checks that both agree on every reject reason."""
    rejected_as = [
        (and_(to_status == CommentStatus.rejected,
              or_(reason == code, reason.like(f"{code}:%"))), label)
        for code, label in _REJECT_LABELS.items()]
    return case((to_status == CommentStatus.approved, "clean"), *rejected_as, else_=None)


def human(action: Any) -> ColumnElement[bool]:
    """The action was a person's: the user id, or, once the user is deleted (user_id SET
    NULL), an actor that is not one of the pipeline's "system:<phase>" names."""
    return or_(action.user_id.is_not(None), not_(action.actor.startswith("system:")))


def standing_decision(action: Any, comment: Any) -> ColumnElement[bool]:
    """True for the action that is its comment's standing decision — the rows
    :func:`decisions` yields — as a row condition (no later action by a person; it still
    holds), so a query can walk the actions' primary key and stop after a page."""
    later = aliased(ModerationAction)
    return and_(human(action), action.to_status.in_(_DECISIONS),
                action.to_status == comment.status,
                ~exists().where(later.comment_id == action.comment_id, later.id > action.id,
                                human(later)))


def current_decisions() -> Subquery:
    """(comment_id, action_id): each comment's latest action by a person. Join it to the
    action and keep ``to_status == Comment.status`` for decisions that still stand."""
    action = ModerationAction
    return (select(action.comment_id, func.max(action.id).label("action_id"))
            .where(human(action)).group_by(action.comment_id).subquery())


def _reason_code(reason: str | None) -> str | None:
    # moderation.reject stores "code" or "code: the moderator's note"
    if not reason:
        return None
    return reason.split(":", 1)[0].strip() or None


@dataclass(frozen=True, slots=True)
class Decision:
    comment_id: int
    site_id: int
    text: str
    label: str | None
    action: str               # approved | rejected
    reason: str | None        # the reject reason code; None for approvals
    edited: bool
    moderator: str
    decided_at: str           # ISO 8601, UTC

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _since(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        # a naive datetime is taken as UTC, like the dates on the command line
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def decisions(session: Session, site_id: int | None = None,
              since: date | datetime | None = None,
              include_unlabelled: bool = False) -> Iterator[Decision]:
    """One :class:`Decision` per comment whose current status is a human decision, oldest
    decision first; ``since`` keeps decisions made at or after it (a date: midnight UTC).
    Streams from the database in batches of :data:`BATCH` rows."""
    action = ModerationAction
    latest = current_decisions()
    stmt = (
        select(Comment.id, Comment.site_id, Comment.body_original, action.to_status,
               action.reason, action.edited_body, action.actor, action.created_at)
        .join(latest, latest.c.comment_id == Comment.id)
        .join(action, action.id == latest.c.action_id)
        .where(action.to_status == Comment.status, action.to_status.in_(_DECISIONS))
        .order_by(action.id)
    )
    if site_id is not None:
        stmt = stmt.where(Comment.site_id == site_id)
    if since is not None:
        stmt = stmt.where(action.created_at >= _since(since))
    for row in session.execute(stmt.execution_options(yield_per=BATCH)):
        (comment_id, row_site, body, to_status, reason, edited_body, actor, created_at) = row
        label = label_for(to_status, reason)
        if label is None and not include_unlabelled:
            continue
        yield Decision(
            comment_id=comment_id, site_id=row_site,
            text=unicodedata.normalize("NFC", body), label=label, action=to_status,
            reason=_reason_code(reason) if to_status == CommentStatus.rejected else None,
            edited=edited_body is not None, moderator=actor, decided_at=_iso(created_at),
        )


def write_jsonl(rows: Iterable[Decision], fh: TextIO) -> Counter[str | None]:
    """One JSON object per line (UTF-8 text, not \\u escapes); returns the label counts."""
    counts: Counter[str | None] = Counter()
    for row in rows:
        fh.write(json.dumps(row.as_dict(), ensure_ascii=False) + "\n")
        counts[row.label] += 1
    return counts


def write_csv(rows: Iterable[Decision], fh: TextIO) -> Counter[str | None]:
    """A header and one row per decision; open ``fh`` with ``newline=""`` so the csv
    module's quoting keeps commas, quotes and newlines inside comments intact. An empty
    label is an empty cell, which the trainer skips. Returns the label counts."""
    counts: Counter[str | None] = Counter()
    writer = csv.writer(fh)
    writer.writerow(COLUMNS)
    for row in rows:
        d = row.as_dict()
        d["edited"] = "true" if row.edited else "false"
        writer.writerow(["" if d[c] is None else d[c] for c in COLUMNS])
        counts[row.label] += 1
    return counts


@dataclass(frozen=True, slots=True)
class Example:
    """One example the retraining uses: a decision after the admin's corrections, or an
    imported row. ``ref`` is the comment id (decisions) or the import's row id."""

    text: str
    label: str
    source: str               # "decision" | "import"
    ref: int
    site_id: int | None
    at: str                   # decided / imported, ISO 8601 UTC


def training_set(session: Session, site_id: int | None = None,
                 since: date | datetime | None = None) -> Iterator[Example]:
    """What retraining learns from beside the base data: every labelled decision with the
    admins' overrides applied (relabelled, or excluded), then every imported example not
    excluded. Oldest first, streamed."""
    overrides: dict[int, tuple[str | None, bool]] = {
        cid: (label, excluded) for cid, label, excluded in session.execute(
            select(TrainingOverride.comment_id, TrainingOverride.label,
                   TrainingOverride.excluded))}
    # include_unlabelled: an admin may give an off-topic reject a real label.
    for d in decisions(session, site_id=site_id, since=since, include_unlabelled=True):
        label, excluded = overrides.get(d.comment_id, (None, False))
        label = label or d.label
        if excluded or label is None:
            continue
        yield Example(text=d.text, label=label, source="decision", ref=d.comment_id,
                      site_id=d.site_id, at=d.decided_at)
    stmt = select(TrainingExample).where(TrainingExample.excluded.is_(False)).order_by(
        TrainingExample.id)
    if site_id is not None:
        stmt = stmt.where(or_(TrainingExample.site_id == site_id,
                              TrainingExample.site_id.is_(None)))
    if since is not None:
        stmt = stmt.where(TrainingExample.created_at >= _since(since))
    for row in session.scalars(stmt.execution_options(yield_per=BATCH)):
        yield Example(text=unicodedata.normalize("NFC", row.text), label=row.label,
                      source="import", ref=row.id, site_id=row.site_id,
                      at=_iso(row.created_at))


EXAMPLE_COLUMNS = ("text", "label", "source", "ref", "site_id", "at")


def write_examples_jsonl(rows: Iterable[Example], fh: TextIO) -> Counter[str]:
    """:func:`training_set` as JSON lines (the columns of :data:`EXAMPLE_COLUMNS`);
    returns the label counts."""
    counts: Counter[str] = Counter()
    for row in rows:
        fh.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")
        counts[row.label] += 1
    return counts


def write_examples_csv(rows: Iterable[Example], fh: TextIO, header: bool = True
                       ) -> Counter[str]:
    """:func:`training_set` as CSV (``header=False`` continues a file written in parts);
    ``vimod model train --data FILE --text-column text --label-column label`` reads it."""
    counts: Counter[str] = Counter()
    writer = csv.writer(fh)
    if header:
        writer.writerow(EXAMPLE_COLUMNS)
    for row in rows:
        d = asdict(row)
        writer.writerow(["" if d[c] is None else d[c] for c in EXAMPLE_COLUMNS])
        counts[row.label] += 1
    return counts
