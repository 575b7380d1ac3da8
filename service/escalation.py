"""Escalation (as in Bluesky's Ozone): a moderator hands a pending comment to a senior editor
with a note. It stays pending but leaves the Pending and Flagged tabs for the "Escalated"
one, where a senior editor (role `senior`, on their sites) or an administrator decides it —
the decision resolves the escalation (service/moderation.py) — or sends it back to the
queue with a note. Each step is an audit_log row (target "comment")."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.form_text import text_error
from service.moderation import MAX_NOTE, ModerationError
from service.storage import AuditEntry, Comment, CommentStatus
from service.storage.tables import utcnow

ACTIONS = {
    "comment.escalate": _l("Escalated to a senior editor"),
    "comment.escalation_return": _l("Sent back to the queue"),
    "comment.escalation_resolve": _l("Escalation resolved by a decision"),
    "comment.escalation_reopen": _l("Escalation reopened (decision undone)"),
}


def _note(note: str | None, field: str) -> str:
    """The required note, or a refusal naming its field (422: the form comes back)."""
    note = unicodedata.normalize("NFC", note or "").strip()
    if error := text_error(note, one_line=True, required=True, max_length=MAX_NOTE):
        raise ModerationError(_("%(field)s: %(error)s", field=field, error=error), 422)
    return note


def _change_pending(session: Session, comment: Comment, condition: Any, **values: Any) -> None:
    """One conditional UPDATE of a still-pending comment: of two moderators acting at once,
    exactly one wins; the other is told."""
    changed = session.execute(
        update(Comment).where(Comment.id == comment.id,
                              Comment.status == CommentStatus.pending, condition)
        .values(**values).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        session.rollback()
        raise ModerationError(_l("Someone else has just handled this comment."))


def escalate(session: Session, comment: Comment, user_id: int, actor: str,
             note: str | None) -> None:
    note = _note(note, _("Note for the senior editor"))
    if comment.status != CommentStatus.pending:
        raise ModerationError(_l("Only a pending comment can be escalated."))
    if comment.escalated_at is not None:
        raise ModerationError(_l("This comment is already waiting for a senior editor."))
    now = utcnow()
    _change_pending(session, comment, Comment.escalated_at.is_(None),
                    escalated_at=now, escalated_by=actor, escalation_note=note)
    session.add(AuditEntry(user_id=user_id, actor=actor, created_at=now,
                           action="comment.escalate", target_type="comment",
                           target_id=str(comment.id), details={"note": note}))
    session.commit()


def send_back(session: Session, comment: Comment, user_id: int, actor: str,
              note: str | None) -> None:
    """Back to the ordinary queue, undecided, with the senior editor's note."""
    note = _note(note, _("Note for the moderators"))
    if comment.status != CommentStatus.pending or comment.escalated_at is None:
        raise ModerationError(_l("This comment is no longer waiting for a senior editor."))
    escalation = {"at": comment.escalated_at.isoformat(), "by": comment.escalated_by,
                  "note": comment.escalation_note}
    _change_pending(session, comment, Comment.escalated_at.is_not(None),
                    escalated_at=None, escalated_by=None, escalation_note=None)
    session.add(AuditEntry(user_id=user_id, actor=actor, action="comment.escalation_return",
                           target_type="comment", target_id=str(comment.id),
                           details={"note": note, "escalation": escalation}))
    session.commit()


def history(session: Session, comment_id: int) -> list[AuditEntry]:
    """The comment's escalations and their outcomes, oldest first (the card's log)."""
    return list(session.scalars(
        select(AuditEntry).where(AuditEntry.target_type == "comment",
                                 AuditEntry.target_id == str(comment_id),
                                 AuditEntry.action.in_(ACTIONS))
        .order_by(AuditEntry.id)))


def only_seniors() -> str:
    return _("This comment waits for a senior editor: only a senior editor or an "
             "administrator decides it. You can read it here; other comments wait in the "
             "queue.")


def action_label(code: str) -> str:
    return str(ACTIONS.get(code, code))
